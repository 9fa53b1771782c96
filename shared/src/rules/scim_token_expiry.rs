//! `scim-token-expiry`: AWS Health announces that the SCIM bearer token expires.

use super::{Context, Doc, Rule, Runs, Verdict, Violation};
use crate::domain::scim::days_between;
use crate::domain::time::utc;
use crate::domain::{ChangeKind, RuleId, ScimSignal, Scope, Severity};

/// The rule's id.
pub const ID: RuleId = RuleId::new("scim-token-expiry");

/// Reports AWS Health's notice that the SCIM bearer token expires, with the date and the days
/// left (from the guard's clock).
///
/// Why: the token lives one year; once it expires the IdP's provisioning fails with 401s, and
/// joiners, movers and leavers stop reaching AWS. Nobody sees it until access is wrong.
/// Fix: generate a new token in the IAM Identity Center console (Settings, Identity source,
/// Automatic provisioning, Access tokens, Generate token), enter it in the IdP's provisioning
/// settings, check a sync succeeds, then delete the expiring token (at most two exist at once;
/// there is no API for this).
#[derive(Debug, Clone, Copy)]
pub struct ScimTokenExpiry;

/// `[rules.scim-token-expiry]`: mode and severity only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settings;

impl Rule for ScimTokenExpiry {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "The SCIM bearer token is rotated before it expires (AWS Health's expiry notice is a finding)",
        severity: Severity::High,
        mode: None,
        runs: Runs::Everywhere,
        why: "An expired SCIM token silently stops provisioning: new hires get no access and leavers keep theirs.",
        correction: "report the expiry date and days left; rotating the token is console-only",
        actions: &[],
    };

    fn defaults(&self) -> Settings {
        Settings
    }

    fn concerns(&self, change: &ChangeKind, _scope: Scope) -> bool {
        matches!(change, ChangeKind::Scim(ScimSignal::TokenExpiry { .. }))
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let ChangeKind::Scim(ScimSignal::TokenExpiry {
            expires,
            expiry_from,
            event_arn,
            status,
        }) = &cx.change.kind
        else {
            return Verdict::NotApplicable;
        };
        // A notice AWS closed (the token was rotated, or the notice withdrawn) needs nothing.
        if status.as_deref() == Some("closed") {
            return Verdict::Pass;
        }
        let when = match (expires, cx.facts.scim.now) {
            (Some(at), Some(now)) => {
                let left = days_between(now, *at);
                let left = if left < 0 {
                    format!("it expired {} days ago", -left)
                } else {
                    format!("{left} days left")
                };
                format!("expires on {} ({left}; the date is {})", utc(*at), from(expiry_from))
            }
            (Some(at), None) => format!("expires on {} (the date is {})", utc(*at), from(expiry_from)),
            (None, _) => "expires soon (the notice states no date: see the AWS Health dashboard)".to_owned(),
        };
        Verdict::Fail(Violation {
            message: format!(
                "AWS Health ({event_arn}): the SCIM access token that provisions users and groups from the IdP \
                 {when}. Once it expires, provisioning stops silently. Rotate it: IAM Identity Center console, \
                 Settings, Identity source, Automatic provisioning, Access tokens, Generate token; enter the new \
                 token in the IdP's provisioning settings, check that a sync succeeds, then delete the old token."
            ),
            resource: cx.change.kind.resource(),
            remediation: Vec::new(),
        })
    }
}

fn from(expiry_from: &Option<String>) -> &str {
    expiry_from.as_deref().unwrap_or("not stated")
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    const EXPIRES: u64 = 1_798_449_300; // 2026-12-28T09:15:00Z

    fn notice(status: Option<&str>, expires: Option<u64>) -> crate::domain::Change {
        scim_signal(ScimSignal::TokenExpiry {
            expires,
            expiry_from: Some("the notice's text".into()),
            event_arn: "arn:aws:health:eu-west-1::event/IAMIDENTITYCENTER/x/y".into(),
            status: status.map(str::to_owned),
        })
    }

    fn message(change: &crate::domain::Change, now: Option<u64>) -> String {
        let mut facts = facts_for(change);
        facts.scim.now = now;
        match ScimTokenExpiry.evaluate(cx(&ScimTokenExpiry, change, &facts, &policy())) {
            Verdict::Fail(v) => v.message,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_notice_is_a_finding_with_the_days_left_by_the_callers_clock() {
        let change = notice(Some("upcoming"), Some(EXPIRES));
        let m = message(&change, Some(EXPIRES - 90 * 86_400));
        assert!(m.contains("expires on 2026-12-28T09:15:00Z (90 days left"), "{m}");
        let m = message(&change, Some(EXPIRES - 86_399));
        assert!(m.contains("(0 days left"), "{m}");
        let m = message(&change, Some(EXPIRES + 2 * 86_400));
        assert!(m.contains("it expired 2 days ago"), "{m}");
        // Offline, no clock: the date without the count.
        let m = message(&change, None);
        assert!(
            m.contains("expires on 2026-12-28T09:15:00Z (the date is the notice's text)"),
            "{m}"
        );
        assert!(m.contains("Access tokens, Generate token"), "{m}");
        let m = message(&notice(None, None), Some(EXPIRES));
        assert!(m.contains("states no date"), "{m}");
    }

    #[test]
    fn closed_notices_pass_and_other_changes_do_not_concern_it() {
        let closed = notice(Some("closed"), Some(EXPIRES));
        check(&ScimTokenExpiry, &closed, &facts_for(&closed), &policy(), Expect::Pass);
        let failed = scim_signal(ScimSignal::CallFailed {
            error_code: "UnauthorizedException".into(),
        });
        check(
            &ScimTokenExpiry,
            &failed,
            &facts_for(&failed),
            &policy(),
            Expect::NotApplicable,
        );
        let other = assignment_created(crate::domain::PrincipalType::Group);
        check(
            &ScimTokenExpiry,
            &other,
            &facts_for(&other),
            &policy(),
            Expect::NotApplicable,
        );
    }
}
