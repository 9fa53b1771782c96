//! `abac-attributes-required`: the ABAC attributes from the IdP stay configured.

use super::{Context, Doc, Missing, Rule, Runs, Verdict, Violation};
use crate::domain::{AbacAttribute, Action, ChangeKind, MissingFact, Resource, ResourceKind, RuleId, Scope, Severity};
use crate::spanned::{Reader, Table};
use toml::de::DeValue;

/// The rule's id.
pub const ID: RuleId = RuleId::new("abac-attributes-required");

/// Flags an instance whose attribute-based access control configuration lacks a required
/// attribute or maps it to another source.
///
/// Why: tag-conditioned policies silently stop matching (or match the wrong people) when
/// `aws:PrincipalTag/team` no longer comes from the IdP's department.
/// Fix: restore the attributes (idc-guard restores them, keeping any others).
#[derive(Debug, Clone, Copy)]
pub struct AbacAttributesRequired;

/// `[rules.abac-attributes-required]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Attributes that must stay configured, with their sources.
    pub attributes: Vec<AbacAttribute>,
}

impl Rule for AbacAttributesRequired {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "The required ABAC attributes (team, project) stay configured with their IdP sources",
        severity: Severity::High,
        mode: None,
        runs: Runs::Everywhere,
        why: "Attribute-based access control depends on team and project being mapped from the IdP.",
        correction: "restore the attributes, keeping others",
        actions: &[&[
            "sso:DescribeInstanceAccessControlAttributeConfiguration",
            "sso:CreateInstanceAccessControlAttributeConfiguration",
            "sso:UpdateInstanceAccessControlAttributeConfiguration",
        ]],
    };

    const KEYS: &'static [&'static str] = &["attributes"];

    const SCHEMA: &'static str = r#"{ "attributes": { "type": "object", "description": "session tag key = IdP source",
        "additionalProperties": { "type": "string", "minLength": 1, "maxLength": 256 } } }"#;

    fn defaults(&self) -> Settings {
        let attribute = |key: &str, source: &str| AbacAttribute {
            key: key.to_owned(),
            source: source.to_owned(),
        };
        Settings {
            attributes: vec![
                attribute("team", "${path:enterprise.department}"),
                attribute("project", "${path:enterprise.costCenter}"),
            ],
        }
    }

    fn read(&self, r: &mut Reader<'_>, t: &mut Table<'_, '_>, d: &Settings) -> Option<Settings> {
        let mut attributes = d.attributes.clone();
        if let Some(v) = t.take("attributes") {
            let apath = t.child("attributes");
            match v.get_ref() {
                DeValue::Table(entries) => {
                    attributes.clear();
                    for (k, sv) in entries.iter() {
                        let key: &str = k.get_ref();
                        let kpath = format!("{apath}.{key}");
                        if key.is_empty() || key.len() > 128 {
                            r.problem(k.span(), &kpath, "an attribute key has 1 to 128 characters");
                            continue;
                        }
                        if let Some(source) = r.string(sv, &kpath) {
                            if source.is_empty() || source.len() > 256 {
                                r.problem(
                                    sv.span(),
                                    &kpath,
                                    "an attribute source has 1 to 256 characters, e.g. \"${path:enterprise.department}\"",
                                );
                                continue;
                            }
                            attributes.push(AbacAttribute {
                                key: key.to_owned(),
                                source,
                            });
                        }
                    }
                }
                other => r.problem(
                    v.span(),
                    &apath,
                    format!("expected a table of key = \"source\", found {}", other.type_str()),
                ),
            }
        }
        Some(Settings { attributes })
    }

    fn concerns(&self, change: &ChangeKind, _scope: Scope) -> bool {
        matches!(change, ChangeKind::AccessControlAttributes { .. })
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let ChangeKind::AccessControlAttributes { instance_arn, .. } = &cx.change.kind else {
            return Verdict::NotApplicable;
        };
        let required = &cx.settings.attributes;
        let Some(current) = cx.facts.access_control_attributes.known() else {
            return Verdict::Undetermined(Missing {
                fact: MissingFact::AccessControlAttributes,
                detail: "the instance's ABAC configuration".to_owned(),
            });
        };
        let current: &[AbacAttribute] = current.as_deref().unwrap_or_default();
        let mut problems = Vec::new();
        // The same key twice is ambiguous (which source wins is not defined): never compliant.
        let mut seen = std::collections::BTreeSet::new();
        for a in current {
            if !seen.insert(a.key.as_str()) {
                problems.push(format!("`{}` is configured more than once (ambiguous)", a.key));
            }
        }
        problems.dedup();
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
        // Keep every other attribute the instance has (its first occurrence); fix the required ones
        // in place.
        let mut desired: Vec<AbacAttribute> = Vec::new();
        for a in current {
            if !desired.iter().any(|d| d.key == a.key) {
                desired.push(required.iter().find(|r| r.key == a.key).unwrap_or(a).clone());
            }
        }
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
                cx.what_idc_guard_does("restores them and keeps the others")
            ),
            resource: Resource::new(ResourceKind::Instance, instance_arn.as_str()),
            remediation: vec![Action::RestoreAccessControlAttributes {
                instance_arn: instance_arn.clone(),
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
            (abac_configured(vec![team.clone()]), Expect::Fail),
            (
                abac_configured(vec![attr("team", "${path:enterprise.division}"), project.clone()]),
                Expect::Fail,
            ),
            (abac_configured(vec![]), Expect::Fail),
            // The same key twice is ambiguous, even with the right source among them.
            (
                abac_configured(vec![
                    team.clone(),
                    project.clone(),
                    attr("team", "${path:enterprise.division}"),
                ]),
                Expect::Fail,
            ),
            (abac_configured(vec![team.clone(), project, team]), Expect::Fail),
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
        let Verdict::Fail(v) =
            AbacAttributesRequired.evaluate(cx(&AbacAttributesRequired, &change, &facts_for(&change), &policy()))
        else {
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
