//! `abac-attributes-required`: the ABAC attributes from the IdP stay configured.

use super::{Action, Context, Missing, MissingFact, Resource, ResourceKind, Rule, RuleId, Verdict, Violation};
use crate::facts::Scope;
use crate::model::{AbacAttribute, ChangeKind};
use crate::policy::Severity;

/// Flags an instance whose attribute-based access control configuration lacks a required
/// attribute or maps it to another source.
///
/// Why: tag-conditioned policies silently stop matching (or match the wrong people) when
/// `aws:PrincipalTag/team` no longer comes from the IdP's department.
/// Fix: restore the attributes (idc-guard restores them, keeping any others).
pub(super) struct AbacAttributesRequired;

impl Rule for AbacAttributesRequired {
    fn id(&self) -> RuleId {
        RuleId::AbacAttributesRequired
    }

    fn summary(&self) -> &'static str {
        "The required ABAC attributes (team, project) stay configured with their IdP sources"
    }

    fn default_severity(&self) -> Severity {
        Severity::High
    }

    fn concerns(&self, change: &ChangeKind, _scope: Scope) -> bool {
        matches!(change, ChangeKind::AccessControlAttributes { .. })
    }

    fn judge(&self, cx: Context<'_>) -> Verdict {
        let ChangeKind::AccessControlAttributes { instance_arn, .. } = &cx.change.kind else {
            return Verdict::NotApplicable;
        };
        let required = &cx.policy.rules.abac_attributes_required.attributes;
        let Some(current) = cx.facts.access_control_attributes.known() else {
            return Verdict::Undetermined(Missing {
                fact: MissingFact::AccessControlAttributes,
                detail: "the instance's ABAC configuration".to_owned(),
            });
        };
        let current: &[AbacAttribute] = current.as_deref().unwrap_or_default();
        let mut problems = Vec::new();
        for want in required {
            match current.iter().find(|a| a.key == want.key) {
                Some(have) if have.source == want.source => {}
                Some(have) => problems.push(format!(
                    "`{}` comes from {} instead of {}",
                    want.key, have.source, want.source
                )),
                None => problems.push(format!("`{}` (from {}) is missing", want.key, want.source)),
            }
        }
        if problems.is_empty() {
            return Verdict::Pass;
        }
        // Keep every other attribute the instance has; fix the required ones in place.
        let mut desired: Vec<AbacAttribute> = current
            .iter()
            .map(|a| required.iter().find(|r| r.key == a.key).unwrap_or(a).clone())
            .collect();
        for want in required {
            if !desired.iter().any(|a| a.key == want.key) {
                desired.push(want.clone());
            }
        }
        let state = if cx.facts.access_control_attributes.known().is_some_and(Option::is_none) {
            "ABAC is disabled on the instance: "
        } else {
            ""
        };
        Verdict::Fail(Violation {
            message: format!(
                "{state}{}. Policies conditioned on these session tags stop matching the right people; \
                 restore the attributes ({}).",
                problems.join("; "),
                cx.what_idc_guard_does(self.id(), "restores them and keeps the others")
            ),
            resource: Resource::new(ResourceKind::Instance, instance_arn.as_str()),
            remediation: vec![Action::RestoreAccessControlAttributes {
                instance_arn: instance_arn.to_string(),
                attributes: desired,
            }],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn attr(key: &str, source: &str) -> AbacAttribute {
        AbacAttribute {
            key: key.into(),
            source: source.into(),
        }
    }

    #[test]
    fn configurations_table() {
        let team = attr("team", "${path:enterprise.department}");
        let project = attr("project", "${path:enterprise.costCenter}");
        let extra = attr("site", "${path:addresses[primary eq true].locality}");
        let cases = [
            (abac_configured(vec![team.clone(), project.clone()]), Expect::Pass),
            (
                abac_configured(vec![extra, project.clone(), team.clone()]),
                Expect::Pass,
            ),
            (abac_configured(vec![team]), Expect::Fail),
            (
                abac_configured(vec![attr("team", "${path:enterprise.division}"), project]),
                Expect::Fail,
            ),
            (abac_configured(vec![]), Expect::Fail),
            (abac_deleted(), Expect::Fail),
        ];
        for (change, expected) in cases {
            check(
                &AbacAttributesRequired,
                &change,
                &facts_for(&change),
                &policy(),
                expected,
            );
        }
    }

    #[test]
    fn the_fix_restores_required_attributes_and_keeps_others() {
        let extra = attr("site", "${path:addresses[primary eq true].locality}");
        let change = abac_configured(vec![attr("team", "${path:enterprise.division}"), extra.clone()]);
        let Verdict::Fail(v) = AbacAttributesRequired.evaluate(cx(&change, &facts_for(&change), &policy())) else {
            panic!()
        };
        let Action::RestoreAccessControlAttributes { attributes, .. } = &v.remediation[0] else {
            panic!()
        };
        assert_eq!(
            attributes,
            &vec![
                attr("team", "${path:enterprise.department}"),
                extra,
                attr("project", "${path:enterprise.costCenter}")
            ]
        );
    }
}
