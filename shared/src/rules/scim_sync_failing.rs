//! `scim-sync-failing`: SCIM calls refused for their credentials, N within a window.

use toml::de::DeValue;

use super::{Context, Doc, Missing, Rule, Runs, Verdict, Violation};
use crate::domain::time::{parse_utc, utc};
use crate::domain::{ChangeKind, Fact, MissingFact, RuleId, ScimSignal, Scope, SessionDuration, Severity};
use crate::spanned::{Reader, Table, Value};

/// The rule's id.
pub const ID: RuleId = RuleId::new("scim-sync-failing");

/// Flags a burst of SCIM calls refused with `UnauthorizedException` or `AccessDeniedException`:
/// `threshold` within `window` is one finding, and one only until the window has passed since
/// it (the guard records every failure in the state table; the rule judges what was recorded).
///
/// Why: the IdP retries quietly; an expired, revoked or mistyped token means no user or group
/// change reaches AWS, and nobody looks at the IdP's provisioning log.
/// Fix: check the token in the IdP's provisioning settings against IAM Identity Center's
/// (Settings, Identity source, Automatic provisioning, Access tokens); generate a new one if it
/// expired or was deleted, and check that the SCIM endpoint URL and tenant are right.
#[derive(Debug, Clone, Copy)]
pub struct ScimSyncFailing;

/// `[rules.scim-sync-failing]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How many failures within the window make a finding.
    pub threshold: u64,
    /// The window, in seconds.
    pub window: u64,
}

/// The longest window the SCIM rules accept: the state table keeps a day of times.
pub(super) const MAX_WINDOW: u64 = 24 * 3600;

/// Reads a whole number within `range` (the TOML integer as written).
pub(super) fn read_count(
    r: &mut Reader<'_>,
    value: &Value<'_>,
    path: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Option<u64> {
    let parsed = match value.get_ref() {
        DeValue::Integer(i) => u64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok(),
        _ => None,
    };
    match parsed {
        Some(n) if range.contains(&n) => Some(n),
        _ => {
            r.problem(
                value.span(),
                path,
                format!("expected a whole number from {} to {}", range.start(), range.end()),
            );
            None
        }
    }
}

/// Reads a window: an ISO 8601 duration from one minute to a day (`PT15M`).
pub(super) fn read_window(r: &mut Reader<'_>, value: &Value<'_>, path: &str) -> Option<u64> {
    let text = r.string(value, path)?;
    match SessionDuration::parse(&text).map(|d| d.seconds()) {
        Some(s) if (60..=MAX_WINDOW).contains(&s) => Some(s),
        _ => {
            r.problem(
                value.span(),
                path,
                format!("{text:?} is not an ISO 8601 duration from PT1M to PT24H, such as \"PT15M\""),
            );
            None
        }
    }
}

/// A window in the policy's words (`PT15M`).
pub(super) fn window_text(seconds: u64) -> String {
    crate::domain::SessionDuration::parse(&format!("PT{seconds}S"))
        .and_then(|d| d.normalised())
        .unwrap_or_else(|| format!("{seconds} s"))
}

/// The time a rule counts from: the event's own time (a delayed delivery still counts when
/// the call was made), else the caller's clock.
pub(super) fn reference_time(cx: &Context<'_, impl Sized>) -> Option<u64> {
    parse_utc(&cx.change.meta.event_time).or(cx.facts.scim.now)
}

impl Rule for ScimSyncFailing {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "SCIM provisioning is not failing authentication (N refused calls within a window is one finding)",
        severity: Severity::High,
        mode: None,
        runs: Runs::Everywhere,
        why: "A SCIM sync refused for its token stops joiners, movers and leavers from reaching AWS, silently.",
        correction: "report the burst once per window; the token is fixed in the console and the IdP",
        actions: &[],
    };

    const KEYS: &'static [&'static str] = &["threshold", "window"];

    const SCHEMA: &'static str = r#"{
        "threshold": { "type": "integer", "minimum": 1, "maximum": 1000, "description": "refused SCIM calls within the window that make a finding" },
        "window": { "type": "string", "description": "the window (PT1M to PT24H)", "pattern": "^PT(\\d+H)?(\\d+M)?(\\d+S)?$", "examples": ["PT15M"] }
    }"#;

    fn defaults(&self) -> Settings {
        Settings {
            threshold: 5,
            window: 15 * 60,
        }
    }

    fn read(&self, r: &mut Reader<'_>, t: &mut Table<'_, '_>, d: &Settings) -> Option<Settings> {
        let threshold = t
            .take("threshold")
            .map_or(Some(d.threshold), |v| read_count(r, v, &t.child("threshold"), 1..=1000));
        let window = t
            .take("window")
            .map_or(Some(d.window), |v| read_window(r, v, &t.child("window")));
        Some(Settings {
            threshold: threshold?,
            window: window?,
        })
    }

    fn concerns(&self, change: &ChangeKind, _scope: Scope) -> bool {
        matches!(change, ChangeKind::Scim(ScimSignal::CallFailed { .. }))
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let ChangeKind::Scim(ScimSignal::CallFailed { error_code }) = &cx.change.kind else {
            return Verdict::NotApplicable;
        };
        let s = cx.settings;
        let (Fact::Known(failures), Some(at)) = (&cx.facts.scim.failures, reference_time(&cx)) else {
            return Verdict::Undetermined(Missing {
                fact: MissingFact::ScimState,
                detail: format!(
                    "how many SCIM calls were refused within {} (the guard records them in its state table)",
                    window_text(s.window)
                ),
            });
        };
        let count = failures.count_within(at, s.window);
        // Recording is serialised: exactly one event sees the count reach the threshold, and a
        // finding reported within the window keeps the burst at one finding.
        if count as u64 != s.threshold || failures.reported_within(at, s.window) {
            return Verdict::Pass;
        }
        Verdict::Fail(Violation {
            message: format!(
                "{count} SCIM calls from the identity provider were refused within {} (the last, {} at {}, with \
                 {error_code}): provisioning is failing, so user and group changes no longer reach IAM Identity \
                 Center. Check the access token in the IdP's provisioning settings against IAM Identity Center \
                 (Settings, Identity source, Automatic provisioning, Access tokens): generate a new one if it \
                 expired or was deleted, and check the SCIM endpoint and tenant. idc-guard reports this once per \
                 {}.",
                window_text(s.window),
                cx.change.meta.event_name,
                utc(at),
                window_text(s.window)
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
    use crate::domain::ScimWindow;

    const AT: u64 = 1_772_359_200; // 2026-03-01T10:00:00Z, the builders' event time

    fn failed() -> crate::domain::Change {
        scim_signal(ScimSignal::CallFailed {
            error_code: "UnauthorizedException".into(),
        })
    }

    fn judge(times: Vec<u64>, reported_at: Option<u64>) -> Expect {
        let change = failed();
        let mut facts = facts_for(&change);
        facts.scim.failures = Fact::Known(ScimWindow { times, reported_at });
        outcome(&ScimSyncFailing.evaluate(cx(&ScimSyncFailing, &change, &facts, &policy())))
    }

    #[test]
    fn the_failure_that_reaches_the_threshold_in_the_window_is_the_one_finding() {
        let burst = |n: u64| (0..n).map(|i| AT - 60 * (n - 1 - i)).collect::<Vec<_>>();
        assert_eq!(judge(burst(4), None), Expect::Pass);
        assert_eq!(judge(burst(5), None), Expect::Fail);
        // The sixth of the same burst: already reported by the fifth.
        assert_eq!(judge(burst(6), None), Expect::Pass);
        // Reported within the window: no second finding when old failures drop out.
        assert_eq!(judge(burst(5), Some(AT - 600)), Expect::Pass);
        // Reported longer ago than the window: a new burst is a new finding.
        assert_eq!(judge(burst(5), Some(AT - 3600)), Expect::Fail);
        // Failures older than the window do not count.
        let mut spread = vec![AT - 7200, AT - 5400, AT - 3600];
        spread.extend(burst(2));
        assert_eq!(judge(spread, None), Expect::Pass);
    }

    #[test]
    fn offline_the_count_is_unknown() {
        let change = failed();
        check(
            &ScimSyncFailing,
            &change,
            &facts_for(&change),
            &policy(),
            Expect::Undetermined,
        );
        let other = scim_signal(ScimSignal::Silence);
        check(
            &ScimSyncFailing,
            &other,
            &facts_for(&other),
            &policy(),
            Expect::NotApplicable,
        );
    }

    #[test]
    fn settings_are_read_and_bad_values_reported_with_their_place() {
        let policy = crate::policy::Policy::from_toml(
            "p.toml",
            "mode = \"enforce\"\n[rules.scim-sync-failing]\nthreshold = 3\nwindow = \"PT1H\"\n",
        )
        .unwrap();
        assert_eq!(
            policy.rules.settings::<ScimSyncFailing>(),
            Some(&Settings {
                threshold: 3,
                window: 3600
            })
        );
        let err = crate::policy::Policy::from_toml(
            "p.toml",
            "mode = \"enforce\"\n[rules.scim-sync-failing]\nthreshold = 0\nwindow = \"P2D\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("threshold") && err.contains("from 1 to 1000"), "{err}");
        assert!(err.contains("window") && err.contains("PT1M to PT24H"), "{err}");
    }
}
