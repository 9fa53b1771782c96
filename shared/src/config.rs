//! The deployment's configuration: every environment variable idc-guard reads, named here and
//! nowhere else, read once at start-up into a typed [`Config`].
//!
//! [`VARIABLES`] is the declared list: each variable with its default, what it means and which
//! kinds of function read it. [`Config::from_lookup`] reads exactly the variables of one
//! [`Kind`] (a test checks it asks for no other), so the template's environments can be checked
//! against this list rather than against source text. Every problem names its variable.

use std::path::PathBuf;

use crate::safety::{Limit, SafetyConfig};

/// What a process runs: a kind of function, or the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An event guard (assignment-guard, permission-set-guard, identity-guard).
    Guard,
    /// slack-notifier: posts the findings topic's messages to Slack.
    SlackNotifier,
    /// drift-reconciler: the scheduled safety net.
    DriftReconciler,
    /// usage-recorder: the last use per (user, permission set, account), from CloudTrail's
    /// `GetRoleCredentials` and `Federate` records (issue #17).
    UsageRecorder,
    /// The `idc-guard` CLI's live commands (`scan --apply` shares the functions' safety state).
    Cli,
}

/// One environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    /// Its name.
    pub name: &'static str,
    /// Its default, in words (`None`: unset means "not configured").
    pub default: Option<&'static str>,
    /// What it means.
    pub meaning: &'static str,
    /// Who reads it.
    pub read_by: &'static [Kind],
}

/// `IDC_GUARD_POLICY`: the policy file.
pub const POLICY: &str = "IDC_GUARD_POLICY";
/// `IDC_GUARD_STATE_TABLE`: the safety rails' DynamoDB table, which also holds the last uses.
pub const STATE_TABLE: &str = "IDC_GUARD_STATE_TABLE";
/// `IDC_GUARD_KILL_SWITCH`: the kill switch's SSM parameter.
pub const KILL_SWITCH: &str = "IDC_GUARD_KILL_SWITCH";
/// `IDC_GUARD_FLAP_LIMIT`: remediations per (resource, rule) per window.
pub const FLAP_LIMIT: &str = "IDC_GUARD_FLAP_LIMIT";
/// `IDC_GUARD_BREAKER_LIMIT`: remediations organisation-wide per window.
pub const BREAKER_LIMIT: &str = "IDC_GUARD_BREAKER_LIMIT";
/// `IDC_GUARD_TOPIC_ARN`: the findings topic.
pub const TOPIC_ARN: &str = "IDC_GUARD_TOPIC_ARN";
/// `IDC_GUARD_SECURITY_HUB_PRODUCT_ARN`: the Security Hub product findings are imported under.
pub const SECURITY_HUB_PRODUCT_ARN: &str = "IDC_GUARD_SECURITY_HUB_PRODUCT_ARN";
/// `IDC_GUARD_SLACK_SECRET`: the Slack webhooks' secret.
pub const SLACK_SECRET: &str = "IDC_GUARD_SLACK_SECRET";
/// `IDC_GUARD_ASSIGNMENTS`: the desired-assignments file.
pub const ASSIGNMENTS: &str = "IDC_GUARD_ASSIGNMENTS";
/// `IDC_GUARD_OWN_ROLES`: the deployment's own role ARNs, comma-separated.
pub const OWN_ROLES: &str = "IDC_GUARD_OWN_ROLES";
/// `IDC_GUARD_RATE`: sso-admin requests per second.
pub const RATE: &str = "IDC_GUARD_RATE";
/// `IDC_GUARD_CONCURRENCY`: concurrent reads and outstanding corrections.
pub const CONCURRENCY: &str = "IDC_GUARD_CONCURRENCY";
/// `IDC_GUARD_API_SHARE`: the guards' share of Identity Center's request budget, in percent.
pub const API_SHARE: &str = "IDC_GUARD_API_SHARE";

/// Where the policy layer puts the policy file.
pub const DEFAULT_POLICY_PATH: &str = "/opt/guardrail.toml";
/// Where the policy layer puts the desired-assignments file, if it ships one.
pub const DEFAULT_ASSIGNMENTS_PATH: &str = "/opt/assignments.toml";

const RAILS: &[Kind] = &[Kind::Guard, Kind::DriftReconciler, Kind::Cli];
/// Who reads the state table: the rails, and usage-recorder, which writes the last uses there.
const STATE: &[Kind] = &[Kind::Guard, Kind::DriftReconciler, Kind::Cli, Kind::UsageRecorder];
const FUNCTIONS_THAT_JUDGE: &[Kind] = &[Kind::Guard, Kind::DriftReconciler];

/// Every variable idc-guard reads (besides the AWS SDK's own: region, endpoint, credentials, and
/// the log level, `AWS_LAMBDA_LOG_LEVEL` then `RUST_LOG`).
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: POLICY,
        default: Some(DEFAULT_POLICY_PATH),
        meaning: "the policy file (the policy layer mounts it at /opt)",
        read_by: FUNCTIONS_THAT_JUDGE,
    },
    Variable {
        name: STATE_TABLE,
        default: None,
        meaning: "the safety rails' DynamoDB table, which also holds the last uses (issue #17); unset: every correction is withheld (detect only); usage-recorder requires it",
        read_by: STATE,
    },
    Variable {
        name: KILL_SWITCH,
        default: Some(crate::safety::DEFAULT_KILL_SWITCH),
        meaning: "the kill switch's SSM parameter (enforce, detect or off)",
        read_by: RAILS,
    },
    Variable {
        name: FLAP_LIMIT,
        default: Some("3/1h"),
        meaning: "remediations per (resource, rule) per rolling window",
        read_by: RAILS,
    },
    Variable {
        name: BREAKER_LIMIT,
        default: Some("20/10m"),
        meaning: "remediations organisation-wide per rolling window before the breaker opens",
        read_by: RAILS,
    },
    Variable {
        name: TOPIC_ARN,
        default: None,
        meaning: "the findings SNS topic; unset: outcomes are only logged",
        read_by: FUNCTIONS_THAT_JUDGE,
    },
    Variable {
        name: SECURITY_HUB_PRODUCT_ARN,
        default: None,
        meaning: "the Security Hub product every finding is also imported under in ASFF (the account's default product, arn:<partition>:securityhub:<region>:<account>:product/<account>/default); unset: no Security Hub publication",
        read_by: FUNCTIONS_THAT_JUDGE,
    },
    Variable {
        name: OWN_ROLES,
        default: None,
        meaning: "the deployment's own role ARNs, comma-separated: changes they make are idc-guard's echoes (when its safety state records them)",
        read_by: RAILS,
    },
    Variable {
        name: SLACK_SECRET,
        default: None,
        meaning: "the Secrets Manager secret holding {\"channel key\": \"webhook URL\"} (required)",
        read_by: &[Kind::SlackNotifier],
    },
    Variable {
        name: ASSIGNMENTS,
        default: Some(DEFAULT_ASSIGNMENTS_PATH),
        meaning: "the desired-assignments file; the default path may be absent (rules only), a path set explicitly must exist",
        read_by: &[Kind::DriftReconciler],
    },
    Variable {
        name: RATE,
        default: Some("15"),
        meaning: "sso-admin requests per second (token bucket), 1 to 20",
        read_by: &[Kind::DriftReconciler],
    },
    Variable {
        name: CONCURRENCY,
        default: Some("8"),
        meaning: "concurrent reads and outstanding corrections, 1 to 10",
        read_by: &[Kind::DriftReconciler],
    },
    Variable {
        name: API_SHARE,
        default: Some("25"),
        meaning: "the share of Identity Center's collective 20 requests per second that the three guards use together, in percent (1 to 100); each guard process paces its sso-admin and identity store requests at its part of it",
        read_by: &[Kind::Guard],
    },
];

/// The names of the variables a kind reads.
pub fn variables_of(kind: Kind) -> impl Iterator<Item = &'static str> {
    VARIABLES
        .iter()
        .filter(move |v| v.read_by.contains(&kind))
        .map(|v| v.name)
}

/// A variable's value is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct VariableError {
    /// The variable.
    pub variable: &'static str,
    /// What is wrong.
    pub message: String,
}

/// Every problem with the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The problems; never empty.
    pub problems: Vec<VariableError>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lines: Vec<String> = self.problems.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("; "))
    }
}

/// The configuration of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// What runs.
    pub kind: Kind,
    /// The policy file.
    pub policy: PathBuf,
    /// The safety rails' table (`None`: not configured).
    pub state_table: Option<String>,
    /// The safety rails' settings.
    pub safety: SafetyConfig,
    /// The findings topic (`None`: log only).
    pub topic_arn: Option<String>,
    /// The Security Hub product findings are also imported under (`None`: none).
    pub security_hub: Option<crate::notify::asff::Product>,
    /// The deployment's own role ARNs.
    pub own_roles: Vec<String>,
    /// The Slack webhooks' secret.
    pub slack_secret: Option<String>,
    /// The desired-assignments file (`None`: none; rules only).
    pub assignments: Option<PathBuf>,
    /// sso-admin requests per second.
    pub rate: u32,
    /// Concurrent reads and outstanding corrections.
    pub concurrency: usize,
    /// The guards' share of Identity Center's request budget, in percent (1 to 100).
    pub api_share: u8,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env(kind: Kind) -> Result<Self, ConfigError> {
        Self::from_lookup(kind, |name| std::env::var(name).ok())
    }

    /// Reads the variables of `kind` through `get` (blank counts as unset). Pure, so tests need
    /// not touch the process environment.
    pub fn from_lookup(kind: Kind, get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let var = |name: &'static str| {
            let reads = VARIABLES.iter().any(|v| v.name == name && v.read_by.contains(&kind));
            if reads {
                get(name).filter(|v| !v.trim().is_empty())
            } else {
                None
            }
        };
        let mut fail = |variable, message: String| problems.push(VariableError { variable, message });
        let mut safety = SafetyConfig::default();
        if let Some(name) = var(KILL_SWITCH) {
            safety.kill_switch = name;
        }
        for (variable, slot) in [(FLAP_LIMIT, &mut safety.flap), (BREAKER_LIMIT, &mut safety.breaker)] {
            if let Some(text) = var(variable) {
                match Limit::parse(&text) {
                    Ok(limit) => *slot = limit,
                    Err(e) => fail(variable, e.to_string()),
                }
            }
        }
        let mut own_roles = Vec::new();
        for arn in var(OWN_ROLES).iter().flat_map(|v| v.split(',')).map(str::trim) {
            if arn.is_empty() {
                continue;
            }
            if crate::domain::ids::role_arn_parts(arn).is_some() {
                own_roles.push(arn.to_owned());
            } else {
                fail(
                    OWN_ROLES,
                    format!("{arn:?} is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)"),
                );
            }
        }
        let security_hub = security_hub_product(var(SECURITY_HUB_PRODUCT_ARN), &mut fail);
        let (state_table, slack_secret) = (var(STATE_TABLE), var(SLACK_SECRET));
        if let Some(missing) = required_but_unset(kind, state_table.is_some(), slack_secret.is_some()) {
            fail(missing.variable, missing.message);
        }
        let assignments = match var(ASSIGNMENTS) {
            // Named explicitly: it must exist (a missing file then reads as invalid and refuses).
            Some(path) => Some(PathBuf::from(path)),
            None if kind == Kind::DriftReconciler => {
                let default = PathBuf::from(DEFAULT_ASSIGNMENTS_PATH);
                default.exists().then_some(default)
            }
            None => None,
        };
        let rate = bounded(
            var(RATE),
            1..=20,
            crate::pace::DEFAULT_RATE,
            "a rate of 1 to 20 requests per second",
        )
        .unwrap_or_else(|message| {
            fail(RATE, message);
            crate::pace::DEFAULT_RATE
        });
        let concurrency = bounded(
            var(CONCURRENCY),
            1..=10,
            crate::pace::DEFAULT_CONCURRENCY,
            "a bound of 1 to 10",
        )
        .unwrap_or_else(|message| {
            fail(CONCURRENCY, message);
            crate::pace::DEFAULT_CONCURRENCY
        });
        let api_share = bounded(
            var(API_SHARE),
            1..=100,
            crate::pace::DEFAULT_API_SHARE,
            "a share of 1 to 100 (percent)",
        )
        .unwrap_or_else(|message| {
            fail(API_SHARE, message);
            crate::pace::DEFAULT_API_SHARE
        });
        let config = Self {
            kind,
            policy: var(POLICY).map_or_else(|| PathBuf::from(DEFAULT_POLICY_PATH), PathBuf::from),
            state_table,
            safety,
            topic_arn: var(TOPIC_ARN),
            security_hub,
            own_roles,
            slack_secret,
            assignments,
            rate,
            concurrency,
            api_share,
        };
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError { problems })
        }
    }
}

/// The Security Hub product `IDC_GUARD_SECURITY_HUB_PRODUCT_ARN` names, if set; a value that is
/// not one is a problem, told to `fail`.
fn security_hub_product(
    arn: Option<String>,
    fail: &mut impl FnMut(&'static str, String),
) -> Option<crate::notify::asff::Product> {
    let arn = arn?;
    let product = crate::notify::asff::Product::parse(arn.trim());
    if product.is_none() {
        let expected = "arn:<partition>:securityhub:<region>:<account>:product/<account>/default";
        fail(
            SECURITY_HUB_PRODUCT_ARN,
            format!("{arn:?} is not a Security Hub product ARN ({expected})"),
        );
    }
    product
}

/// The variable `kind` cannot run without, when it is unset: slack-notifier's secret,
/// usage-recorder's table (it has nowhere else to record).
fn required_but_unset(kind: Kind, has_state_table: bool, has_slack_secret: bool) -> Option<VariableError> {
    let (variable, message) = match kind {
        Kind::SlackNotifier if !has_slack_secret => {
            (SLACK_SECRET, "is unset: slack-notifier needs the webhooks' secret")
        }
        Kind::UsageRecorder if !has_state_table => (
            STATE_TABLE,
            "is unset: usage-recorder records the last uses in the state table",
        ),
        _ => return None,
    };
    Some(VariableError {
        variable,
        message: message.to_owned(),
    })
}

/// A number within `range`, or the default when unset.
fn bounded<T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display>(
    value: Option<String>,
    range: std::ops::RangeInclusive<T>,
    default: T,
    what: &str,
) -> Result<T, String> {
    match value {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<T>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| format!("{v:?} is not {what}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    #[test]
    fn each_kind_asks_for_exactly_its_declared_variables() {
        for kind in [
            Kind::Guard,
            Kind::SlackNotifier,
            Kind::DriftReconciler,
            Kind::UsageRecorder,
            Kind::Cli,
        ] {
            let asked = RefCell::new(BTreeSet::new());
            let _ = Config::from_lookup(kind, |name| {
                asked.borrow_mut().insert(name.to_owned());
                Some("x".to_owned())
            });
            let declared: BTreeSet<String> = variables_of(kind).map(str::to_owned).collect();
            assert_eq!(asked.into_inner(), declared, "{kind:?}");
        }
    }

    #[test]
    fn defaults_apply_and_problems_name_their_variable() {
        let c = Config::from_lookup(Kind::DriftReconciler, |_| None).unwrap();
        assert_eq!(c.policy, PathBuf::from(DEFAULT_POLICY_PATH));
        assert_eq!((c.rate, c.concurrency), (15, 8));
        assert_eq!(c.state_table, None);
        let e = Config::from_lookup(Kind::DriftReconciler, |name| match name {
            RATE => Some("50".to_owned()),
            FLAP_LIMIT => Some("3/1d".to_owned()),
            STATE_TABLE => Some("  ".to_owned()),
            _ => None,
        })
        .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("IDC_GUARD_RATE: \"50\" is not a rate"), "{text}");
        assert!(text.contains("IDC_GUARD_FLAP_LIMIT: \"3/1d\" is not a limit"), "{text}");
        assert_eq!(e.problems.len(), 2);
        let e = Config::from_lookup(Kind::SlackNotifier, |_| None).unwrap_err();
        assert_eq!(e.problems[0].variable, SLACK_SECRET);
        // usage-recorder has nowhere to record without the table; it reads nothing else.
        let e = Config::from_lookup(Kind::UsageRecorder, |_| None).unwrap_err();
        assert_eq!(e.problems[0].variable, STATE_TABLE);
        let c = Config::from_lookup(Kind::UsageRecorder, |name| Some(format!("{name}-value"))).unwrap();
        assert_eq!(c.state_table.as_deref(), Some("IDC_GUARD_STATE_TABLE-value"));
        assert_eq!(variables_of(Kind::UsageRecorder).collect::<Vec<_>>(), [STATE_TABLE]);
        // A guard does not read the reconciler's variables, whatever they say.
        let c = Config::from_lookup(Kind::Guard, |name| (name == RATE).then(|| "500".to_owned())).unwrap();
        assert_eq!(c.rate, 15);
    }

    #[test]
    fn the_security_hub_product_is_parsed_and_a_bad_one_named() {
        let arn = "arn:aws:securityhub:eu-west-1:111111111111:product/111111111111/default";
        let c = Config::from_lookup(Kind::Guard, |name| {
            (name == SECURITY_HUB_PRODUCT_ARN).then(|| arn.to_owned())
        })
        .unwrap();
        assert_eq!(c.security_hub.map(|p| p.account), Some("111111111111".to_owned()));
        assert_eq!(
            Config::from_lookup(Kind::DriftReconciler, |_| None)
                .unwrap()
                .security_hub,
            None
        );
        // Only the functions that judge read it.
        let c = Config::from_lookup(Kind::Cli, |name| {
            (name == SECURITY_HUB_PRODUCT_ARN).then(|| arn.to_owned())
        })
        .unwrap();
        assert_eq!(c.security_hub, None);
        let e = Config::from_lookup(Kind::Guard, |name| {
            (name == SECURITY_HUB_PRODUCT_ARN)
                .then(|| "arn:aws:securityhub:eu-west-1:111111111111:hub/default".to_owned())
        })
        .unwrap_err();
        assert_eq!(e.problems[0].variable, SECURITY_HUB_PRODUCT_ARN);
    }
}
