//! `scim-silent`: an instance provisioned by SCIM has had no successful SCIM write for days.

use super::scim_sync_failing::read_count;
use super::{Context, Doc, Missing, Rule, Runs, Verdict, Violation};
use crate::domain::time::utc;
use crate::domain::{ChangeKind, Fact, MissingFact, RuleId, ScimSignal, Scope, Severity};
use crate::spanned::{Reader, Table};

/// The rule's id.
pub const ID: RuleId = RuleId::new("scim-silent");

/// Flags an instance whose policy says it is provisioned by SCIM (`uses_scim = true`) when no
/// successful SCIM write has been recorded for `days` days. The identity guard records the
/// time of the last one in the state table (one item, written at most once an hour per
/// process); the drift reconciler judges it on every run.
///
/// Why: a sync that stopped (expired token, disabled IdP app, broken connector) fails quietly,
/// and a sync that makes no call produces no error to notice.
/// Fix: open the IdP's provisioning log and IAM Identity Center's automatic provisioning page;
/// check the token, that the IdP app's provisioning is on, and that users are in its scope.
#[derive(Debug, Clone, Copy)]
pub struct ScimSilent;

/// `[rules.scim-silent]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Whether the instance is provisioned by SCIM (off: the rule has nothing to check).
    pub uses_scim: bool,
    /// Days without a successful SCIM write that make a finding.
    pub days: u64,
}

impl Rule for ScimSilent {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "An instance provisioned by SCIM has had a successful SCIM write within the last N days",
        severity: Severity::Medium,
        mode: None,
        runs: Runs::Reconciler,
        why: "A SCIM sync that stopped makes no error at all: joiners and leavers just stop reaching AWS.",
        correction: "report how long SCIM has been silent (the reconciler and `scan` only)",
        actions: &[],
    };

    const KEYS: &'static [&'static str] = &["uses_scim", "days"];

    const SCHEMA: &'static str = r#"{
        "uses_scim": { "type": "boolean", "description": "the instance's users and groups are provisioned by SCIM from an IdP" },
        "days": { "type": "integer", "minimum": 1, "maximum": 365, "description": "days without a successful SCIM write that make a finding" }
    }"#;

    fn defaults(&self) -> Settings {
        Settings {
            uses_scim: false,
            days: 7,
        }
    }

    fn read(&self, r: &mut Reader<'_>, t: &mut Table<'_, '_>, d: &Settings) -> Option<Settings> {
        let uses_scim = t
            .take("uses_scim")
            .map_or(Some(d.uses_scim), |v| r.bool(v, &t.child("uses_scim")));
        let days = t
            .take("days")
            .map_or(Some(d.days), |v| read_count(r, v, &t.child("days"), 1..=365));
        Some(Settings {
            uses_scim: uses_scim?,
            days: days?,
        })
    }

    fn concerns(&self, change: &ChangeKind, _scope: Scope) -> bool {
        matches!(change, ChangeKind::Scim(ScimSignal::Silence))
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let s = cx.settings;
        if !s.uses_scim {
            return Verdict::Pass;
        }
        let (Fact::Known(last), Some(now)) = (&cx.facts.scim.last_write, cx.facts.scim.now) else {
            return Verdict::Undetermined(Missing {
                fact: MissingFact::ScimState,
                detail: "when the last successful SCIM write was (the identity guard records it in the state table)"
                    .to_owned(),
            });
        };
        let since = match last {
            Some(t) if now.saturating_sub(*t) < s.days.saturating_mul(86_400) => return Verdict::Pass,
            Some(t) => format!("since {}", utc(*t)),
            None => "ever (none has been recorded)".to_owned(),
        };
        Verdict::Fail(Violation {
            message: format!(
                "No successful SCIM write from the identity provider {since}, more than {} days, although the \
                 policy says this instance is provisioned by SCIM: the sync has stopped or lost its scope. Check \
                 the IdP's provisioning log and IAM Identity Center's automatic provisioning (Settings, Identity \
                 source): the access token, that provisioning is on in the IdP's app, and that users and groups \
                 are assigned to it.",
                s.days
            ),
            resource: cx.change.kind.resource(),
            remediation: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    const NOW: u64 = 1_772_359_200;

    fn judge(uses_scim: bool, last: Fact<Option<u64>>, now: Option<u64>) -> Expect {
        let change = scim_signal(ScimSignal::Silence);
        let mut facts = facts_for(&change);
        facts.scim.last_write = last;
        facts.scim.now = now;
        let mut policy = policy();
        policy.rules.settings_mut::<ScimSilent>().unwrap().uses_scim = uses_scim;
        outcome(&ScimSilent.evaluate(cx(&ScimSilent, &change, &facts, &policy)))
    }

    #[test]
    fn silence_longer_than_the_days_is_a_finding_only_where_scim_is_used() {
        let days = |d: u64| Fact::Known(Some(NOW - d * 86_400));
        assert_eq!(judge(true, days(6), Some(NOW)), Expect::Pass);
        assert_eq!(judge(true, days(7), Some(NOW)), Expect::Fail);
        assert_eq!(judge(true, Fact::Known(None), Some(NOW)), Expect::Fail);
        assert_eq!(judge(false, days(30), Some(NOW)), Expect::Pass);
        assert_eq!(judge(true, Fact::Unknown, Some(NOW)), Expect::Undetermined);
        assert_eq!(judge(true, days(30), None), Expect::Undetermined);
    }

    #[test]
    fn only_the_reconcilers_check_concerns_it() {
        let failed = scim_signal(ScimSignal::CallFailed {
            error_code: "UnauthorizedException".into(),
        });
        check(
            &ScimSilent,
            &failed,
            &facts_for(&failed),
            &policy(),
            Expect::NotApplicable,
        );
    }
}
