//! `entitlement-role-allowed`: account access manager's entitlements may only target roles the
//! policy allows (issue #19).

use std::ops::ControlFlow;

use super::{Context, Doc, LiveEntitlement, Rule, Runs, Verdict};
use crate::domain::{ChangeKind, NamePattern, RoleArn, RuleId, Scope, Severity};
use crate::spanned::{Reader, Table};

/// The rule's id.
pub const ID: RuleId = RuleId::new("entitlement-role-allowed");

/// Flags an entitlement to a role the policy's allow-list does not name. An entitlement lets a
/// user or group assume an existing IAM role, whatever that role may do: an entitlement to an
/// administrator role walks around every rule about permission sets. By default only
/// break-glass roles may be entitled, so every other new entitlement is a finding until the
/// policy names its role.
///
/// Why: the role's permissions are outside idc-guard's view (they live in the member account),
/// so the allow-list is the review.
/// Fix: entitle a role on the list; or add the role to `allowed_roles` after reviewing it.
#[derive(Debug, Clone, Copy)]
pub struct EntitlementRoleAllowed;

/// `[rules.entitlement-role-allowed]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Role patterns: matched against the role's name, or, for a pattern that starts with `/`,
    /// against its path and name (`/entitled/*`). `*` matches any run of characters; ASCII case
    /// is ignored.
    pub allowed_roles: Vec<NamePattern>,
}

impl Settings {
    /// Whether the role is on the allow-list.
    pub fn allows(&self, role: &RoleArn) -> bool {
        let path_and_name = role.path_and_name();
        self.allowed_roles.iter().any(|p| {
            if p.as_str().starts_with('/') {
                p.matches(&path_and_name)
            } else {
                p.matches(role.name())
            }
        })
    }
}

impl Rule for EntitlementRoleAllowed {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "Account access manager's entitlements target only roles the policy allows",
        severity: Severity::High,
        mode: None,
        runs: Runs::Everywhere,
        why: "An entitlement hands an IAM role to Identity Center users outside permission sets: a role not reviewed for it may hold any permission, administrator included.",
        correction: "delete the entitlement (role sessions it issued last until they expire: revoke them in the member account with IAM's \"Revoke active sessions\" on the role)",
        actions: &[&[
            "account-access:GetEntitlement",
            "account-access:ListEntitlements",
            "account-access:DeleteEntitlement",
        ]],
    };

    const KEYS: &'static [&'static str] = &["allowed_roles"];

    const SCHEMA: &'static str = r#"{ "allowed_roles": { "type": "array", "default": ["BreakGlass*"], "description": "role name patterns (a pattern starting with / matches the role's path and name)", "items": { "type": "string", "pattern": "^/?[\\w+=,.@*/-]+$" } } }"#;

    fn defaults(&self) -> Settings {
        Settings {
            allowed_roles: vec![NamePattern::new("BreakGlass*")],
        }
    }

    fn read(&self, r: &mut Reader<'_>, t: &mut Table<'_, '_>, defaults: &Settings) -> Option<Settings> {
        let mut allowed_roles = defaults.allowed_roles.clone();
        if let Some(v) = t.take("allowed_roles") {
            allowed_roles = r
                .list(v, &t.child("allowed_roles"), |r, s, span, p| {
                    let valid = !s.is_empty()
                        && !s.ends_with('/')
                        && s.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-*/".contains(c));
                    if valid {
                        Some(NamePattern::new(s))
                    } else {
                        r.problem(
                            span,
                            p,
                            format!(
                                "{s:?} is not a role pattern (a role name with * wildcards, or /path/name: letters, digits, _+=,.@- / and *)"
                            ),
                        );
                        None
                    }
                })
                .unwrap_or_default();
        }
        Some(Settings { allowed_roles })
    }

    fn explain(&self, settings: &Settings) -> Vec<String> {
        let roles: Vec<&str> = settings.allowed_roles.iter().map(NamePattern::as_str).collect();
        vec![if roles.is_empty() {
            "allowed roles: none".to_owned()
        } else {
            format!("allowed roles: {}", roles.join(", "))
        }]
    }

    fn concerns(&self, change: &ChangeKind, _scope: Scope) -> bool {
        matches!(change, ChangeKind::EntitlementCreated(_))
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let ChangeKind::EntitlementCreated(created) = &cx.change.kind else {
            return Verdict::NotApplicable;
        };
        if cx.settings.allows(&created.role_arn) {
            return Verdict::Pass;
        }
        let detail = |_| {
            format!(
                "whether the entitlement ({}) still exists, and its id",
                created.describe()
            )
        };
        let entitled = match LiveEntitlement::of(&cx, detail) {
            ControlFlow::Continue(entitled) => entitled,
            ControlFlow::Break(verdict) => return verdict,
        };
        let live = entitled.live;
        let allowed: Vec<&str> = cx.settings.allowed_roles.iter().map(NamePattern::as_str).collect();
        let message = format!(
            "{} was entitled to assume {} in account {} through account access manager; the policy \
             allows entitlements only to {}. Entitle a reviewed role, or add this one to \
             allowed_roles once reviewed ({}). Role sessions already issued through the \
             entitlement last until they expire, unless revoked in account {} with IAM's \
             \"Revoke active sessions\" on the role.",
            entitled.who(),
            live.role_arn,
            live.account_id,
            if allowed.is_empty() {
                "no role".to_owned()
            } else {
                format!("roles matching {}", allowed.join(", "))
            },
            cx.what_idc_guard_does("deletes the entitlement"),
            live.account_id,
        );
        entitled.violation(message)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::domain::{Action, Fact, PrincipalType};

    #[test]
    fn roles_table() {
        let allowed = |patterns: &[&str]| {
            let mut p = policy();
            p.rules.settings_mut::<EntitlementRoleAllowed>().unwrap().allowed_roles =
                patterns.iter().map(|s| NamePattern::new(*s)).collect();
            p
        };
        let cases: &[(&str, &[&str], Expect)] = &[
            // The default: break-glass roles only.
            ("BreakGlassAdmin", &["BreakGlass*"], Expect::Pass),
            ("ReadOnly", &["BreakGlass*"], Expect::Fail),
            ("AdministratorAccess", &["BreakGlass*"], Expect::Fail),
            ("ReadOnly", &["readonly"], Expect::Pass),
            ("ReadOnly", &[], Expect::Fail),
            // Path patterns: `entitled/ReadOnly` lives under /entitled/.
            ("entitled/ReadOnly", &["/entitled/*"], Expect::Pass),
            ("other/ReadOnly", &["/entitled/*"], Expect::Fail),
            ("ReadOnly", &["/entitled/*"], Expect::Fail),
            // A name pattern ignores the path.
            ("other/ReadOnly", &["ReadOnly"], Expect::Pass),
        ];
        for (role, patterns, expected) in cases {
            let change = entitlement_created(PrincipalType::Group, role);
            check(
                &EntitlementRoleAllowed,
                &change,
                &facts_for(&change),
                &allowed(patterns),
                *expected,
            );
        }
    }

    #[test]
    fn the_finding_plans_the_deletion_of_the_live_entitlement() {
        let change = entitlement_created(PrincipalType::Group, "AdministratorAccess");
        let Verdict::Fail(v) =
            EntitlementRoleAllowed.evaluate(cx(&EntitlementRoleAllowed, &change, &facts_for(&change), &policy()))
        else {
            panic!()
        };
        assert!(
            matches!(&v.remediation[..], [Action::DeleteEntitlement(e)] if e.role_arn.name() == "AdministratorAccess")
        );
        assert!(v.message.contains("roles matching BreakGlass*"), "{}", v.message);
        let mut gone = facts_for(&change);
        gone.entitlement = Fact::Known(None);
        check(&EntitlementRoleAllowed, &change, &gone, &policy(), Expect::Pass);
        gone.entitlement = Fact::Unknown;
        check(&EntitlementRoleAllowed, &change, &gone, &policy(), Expect::Undetermined);
    }

    #[test]
    fn bad_patterns_are_reported_with_their_place() {
        let err = crate::policy::Policy::from_toml(
            "p.toml",
            "[rules.entitlement-role-allowed]\nallowed_roles = [\"Read Only\", \"/x/\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("p.toml:2:") && err.contains("\"Read Only\" is not a role pattern"),
            "{err}"
        );
        assert!(err.contains("\"/x/\" is not a role pattern"), "{err}");
    }
}
