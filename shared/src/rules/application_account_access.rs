//! `application-account-access`: only applications the policy allows hold the
//! `sso:account:access` scope (issue #19).

use super::{Context, Doc, Missing, Rule, Runs, Verdict, Violation};
use crate::domain::{
    ACCOUNT_ACCESS_SCOPE, AccessScopeOp, Action, ApplicationArn, ChangeKind, Fact, MissingFact, NamePattern, RuleId,
    Scope, Severity,
};
use crate::spanned::{Reader, Table};

/// The rule's id.
pub const ID: RuleId = RuleId::new("application-account-access");

/// Flags a customer managed application given the `sso:account:access` scope when the policy's
/// allow-list does not name it. With that scope, the application exchanges its users' tokens
/// for credentials to the AWS accounts and roles those users are assigned: it acts as each of
/// them, outside the AWS access portal.
///
/// Why: every user of the application lends it all their access; only reviewed applications
/// should hold that.
/// Fix: remove the scope; or add the application (by name or ARN) to `allowed_applications`
/// once reviewed.
#[derive(Debug, Clone, Copy)]
pub struct ApplicationAccountAccess;

/// `[rules.application-account-access]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Applications that may hold the scope: an application ARN (exactly), or a name pattern
    /// (`*` matches any run of characters; ASCII case is ignored).
    pub allowed_applications: Vec<String>,
}

/// Whether an application is allowed, as far as its name is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allowed {
    Yes,
    No,
    /// Only its unknown name could tell.
    Unknown,
}

impl Settings {
    fn allows(&self, application: &ApplicationArn, name: Option<&str>) -> Allowed {
        if self.allowed_applications.iter().any(|a| a == application.as_str()) {
            return Allowed::Yes;
        }
        let mut patterns = self
            .allowed_applications
            .iter()
            .filter(|a| !a.starts_with("arn:"))
            .map(NamePattern::new)
            .peekable();
        match name {
            Some(name) if patterns.any(|p| p.matches(name)) => Allowed::Yes,
            None if patterns.peek().is_some() => Allowed::Unknown,
            _ => Allowed::No,
        }
    }
}

impl Rule for ApplicationAccountAccess {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "Only allowed applications hold the sso:account:access scope",
        severity: Severity::High,
        mode: None,
        runs: Runs::Everywhere,
        why: "An application with sso:account:access obtains AWS credentials as each of its users, outside the access portal.",
        correction: "remove the sso:account:access scope from the application (credentials it already obtained last until they expire)",
        actions: &[&[
            "sso:GetApplicationAccessScope",
            "sso:DescribeApplication",
            "sso:DeleteApplicationAccessScope",
        ]],
    };

    const KEYS: &'static [&'static str] = &["allowed_applications"];

    const SCHEMA: &'static str = r#"{ "allowed_applications": { "type": "array", "default": [], "description": "application ARNs, or application name patterns", "items": { "type": "string", "minLength": 1 } } }"#;

    fn defaults(&self) -> Settings {
        Settings {
            allowed_applications: Vec::new(),
        }
    }

    fn read(&self, r: &mut Reader<'_>, t: &mut Table<'_, '_>, defaults: &Settings) -> Option<Settings> {
        let mut allowed_applications = defaults.allowed_applications.clone();
        if let Some(v) = t.take("allowed_applications") {
            allowed_applications = r
                .list(v, &t.child("allowed_applications"), |r, s, span, p| {
                    if s.starts_with("arn:") {
                        match ApplicationArn::parse(s) {
                            Ok(a) => Some(a.to_string()),
                            Err(e) => {
                                r.problem(span, p, e.to_string());
                                None
                            }
                        }
                    } else if s.trim().is_empty() {
                        r.problem(span, p, "an empty application name pattern");
                        None
                    } else {
                        Some(s.to_owned())
                    }
                })
                .unwrap_or_default();
        }
        Some(Settings { allowed_applications })
    }

    fn explain(&self, settings: &Settings) -> Vec<String> {
        vec![if settings.allowed_applications.is_empty() {
            "allowed applications: none".to_owned()
        } else {
            format!("allowed applications: {}", settings.allowed_applications.join(", "))
        }]
    }

    fn concerns(&self, change: &ChangeKind, _scope: Scope) -> bool {
        matches!(change, ChangeKind::AccessScope { scope, op: AccessScopeOp::Put { .. }, .. } if scope == ACCOUNT_ACCESS_SCOPE)
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let ChangeKind::AccessScope { application_arn, .. } = &cx.change.kind else {
            return Verdict::NotApplicable;
        };
        let name = cx.facts.application_name.known().cloned().flatten();
        let allowed = match (
            &cx.facts.application_name,
            cx.settings.allows(application_arn, name.as_deref()),
        ) {
            (_, Allowed::Yes) => return Verdict::Pass,
            (Fact::Known(None), Allowed::Unknown) => Allowed::No,
            (_, verdict) => verdict,
        };
        match &cx.facts.access_scope {
            // Level-driven: a scope already removed needs nothing.
            Fact::Known(None) => return Verdict::Pass,
            Fact::Known(Some(_)) => {}
            Fact::Unknown => {
                return Verdict::Undetermined(Missing {
                    fact: MissingFact::AccessScopeState,
                    detail: format!("whether {application_arn} still holds {ACCOUNT_ACCESS_SCOPE}"),
                });
            }
        }
        if allowed == Allowed::Unknown {
            return Verdict::Undetermined(Missing {
                fact: MissingFact::AccessScopeState,
                detail: format!("the name of {application_arn} (allowed_applications names applications by name)"),
            });
        }
        let label = match &name {
            Some(n) => format!("application {n} ({application_arn})"),
            None => format!("application {application_arn}"),
        };
        let message = format!(
            "{label} was given the {ACCOUNT_ACCESS_SCOPE} scope: it can obtain AWS credentials as any of \
             its users, for every account and role they are assigned. It is not in \
             allowed_applications ({}). Credentials it already obtained last until they expire.",
            cx.what_idc_guard_does("removes the scope")
        );
        let mut resource = cx.change.kind.resource();
        resource.principal_name = name;
        Verdict::Fail(Violation {
            message,
            resource,
            remediation: vec![Action::DeleteAccessScope {
                application_arn: application_arn.clone(),
                scope: ACCOUNT_ACCESS_SCOPE.to_owned(),
            }],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn allowing(entries: &[&str]) -> crate::policy::Policy {
        let mut p = policy();
        p.rules
            .settings_mut::<ApplicationAccountAccess>()
            .unwrap()
            .allowed_applications = entries.iter().map(|s| (*s).to_owned()).collect();
        p
    }

    #[test]
    fn allow_list_table() {
        let change = access_scope_put(ACCOUNT_ACCESS_SCOPE);
        let arn = APPLICATION;
        let cases: &[(&[&str], Option<&str>, Expect)] = &[
            (&[], Some("Reporting"), Expect::Fail),
            (&[arn], None, Expect::Pass),
            (&["Report*"], Some("Reporting"), Expect::Pass),
            (&["Report*"], Some("Payroll"), Expect::Fail),
            // Only the name could tell, and it is unknown.
            (&["Report*"], None, Expect::Undetermined),
        ];
        for (entries, name, expected) in cases {
            let mut facts = facts_for(&change);
            facts.application_name = name.map_or(Fact::Unknown, |n| Fact::Known(Some(n.to_owned())));
            check(
                &ApplicationAccountAccess,
                &change,
                &facts,
                &allowing(entries),
                *expected,
            );
        }
    }

    #[test]
    fn the_correction_removes_the_scope_unless_it_is_gone() {
        let change = access_scope_put(ACCOUNT_ACCESS_SCOPE);
        let mut facts = facts_for(&change);
        facts.application_name = Fact::Known(Some("Payroll".into()));
        let Verdict::Fail(v) =
            ApplicationAccountAccess.evaluate(cx(&ApplicationAccountAccess, &change, &facts, &policy()))
        else {
            panic!()
        };
        assert!(
            matches!(&v.remediation[..], [Action::DeleteAccessScope { scope, .. }] if scope == ACCOUNT_ACCESS_SCOPE)
        );
        assert!(v.message.contains("application Payroll"), "{}", v.message);
        facts.access_scope = Fact::Known(None);
        check(&ApplicationAccountAccess, &change, &facts, &policy(), Expect::Pass);
        facts.access_scope = Fact::Unknown;
        check(
            &ApplicationAccountAccess,
            &change,
            &facts,
            &policy(),
            Expect::Undetermined,
        );
    }

    #[test]
    fn other_scopes_and_deletions_are_not_applicable() {
        let change = access_scope_put("sso:application:authorize");
        check(
            &ApplicationAccountAccess,
            &change,
            &facts_for(&change),
            &policy(),
            Expect::NotApplicable,
        );
    }
}
