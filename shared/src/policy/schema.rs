//! The JSON Schema of the policy file, for editors (Taplo, Even Better TOML, VS Code).

use serde_json::{Value, json};

use crate::rules::RuleId;

fn mode() -> Value {
    json!({ "type": "string", "enum": ["enforce", "detect", "off"],
            "description": "enforce: report and revert; detect: report only; off: not evaluated" })
}

fn severity() -> Value {
    json!({ "type": "string", "enum": ["low", "medium", "high", "critical"] })
}

fn patterns(description: &str) -> Value {
    json!({ "type": "array", "description": description,
            "items": { "type": "string", "pattern": "^[\\w+=,.@*-]+$" } })
}

fn owner_name(description: &str, default: Option<&str>) -> Value {
    let mut v = json!({ "type": "string", "description": description, "pattern": "^[!-~]{1,128}$" });
    if let Some(d) = default {
        v["default"] = json!(d);
    }
    v
}

fn duration(description: &str) -> Value {
    json!({ "type": "string", "description": description, "pattern": "^P(\\d+D)?(T(\\d+H)?(\\d+M)?(\\d+S)?)?$",
            "examples": ["PT1H", "PT8H"] })
}

fn rule(description: &str, extra: &[(&str, Value)]) -> Value {
    let mut properties = serde_json::Map::new();
    properties.insert("mode".into(), mode());
    properties.insert("severity".into(), severity());
    for (k, v) in extra {
        properties.insert((*k).into(), v.clone());
    }
    json!({ "type": "object", "description": description, "additionalProperties": false, "properties": properties })
}

fn exemptions() -> [(&'static str, Value); 2] {
    [
        (
            "exempt_privileged",
            json!({ "type": "boolean", "default": true,
            "description": "exempt the sets matching permission_sets.privileged" }),
        ),
        ("exempt", patterns("further exempt permission set name patterns")),
    ]
}

/// The JSON Schema (draft 2020-12) of `guardrail.toml`.
pub fn json_schema() -> Value {
    let [ep, ex] = exemptions();
    let rules = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            RuleId::AssignmentPrincipalType.as_str(): rule(RuleId::AssignmentPrincipalType.summary(), &[
                ("allowed", json!({ "type": "array", "items": { "enum": ["GROUP", "USER"] }, "default": ["GROUP"] })),
            ]),
            RuleId::SessionDurationCap.as_str(): rule(RuleId::SessionDurationCap.summary(), &[
                ("max", duration("cap for every other permission set")),
                ("privileged_max", duration("cap for privileged permission sets")),
                ("limits", json!({ "type": "array", "items": {
                    "type": "object", "additionalProperties": false, "required": ["permission_sets", "max"],
                    "properties": { "permission_sets": patterns("sets this limit applies to"), "max": duration("their cap") } } })),
            ]),
            RuleId::PermissionsBoundaryRequired.as_str(): rule(RuleId::PermissionsBoundaryRequired.summary(), &[
                ("boundary", json!({ "type": "object", "additionalProperties": false,
                    "properties": {
                        "customer_managed_policy": { "type": "string", "minLength": 1 },
                        "path": { "type": "string", "pattern": "^/(.*/)?$", "default": "/" },
                        "managed_policy_arn": { "type": "string", "pattern": "^arn:aws[a-z-]*:iam::aws:policy/.+$" } },
                    "oneOf": [ { "required": ["customer_managed_policy"] }, { "required": ["managed_policy_arn"] } ] })),
                (ep.0, ep.1.clone()), (ex.0, ex.1.clone()),
            ]),
            RuleId::InlinePolicyForbiddenActions.as_str(): rule(RuleId::InlinePolicyForbiddenActions.summary(), &[
                ("actions", json!({ "type": "array", "items": { "type": "string", "pattern": "^(\\*|[\\w*?-]+:[\\w*?-]+)$" },
                    "default": ["iam:*", "organizations:*", "account:*"] })),
                (ep.0, ep.1.clone()), (ex.0, ex.1.clone()),
            ]),
            RuleId::ManagedPolicyForbidden.as_str(): rule(RuleId::ManagedPolicyForbidden.summary(), &[
                ("policies", json!({ "type": "array", "items": { "type": "string", "pattern": "^arn:aws[a-z-]*:iam::aws:policy/.+$" } })),
                (ep.0, ep.1.clone()), (ex.0, ex.1.clone()),
            ]),
            RuleId::AbacAttributesRequired.as_str(): rule(RuleId::AbacAttributesRequired.summary(), &[
                ("attributes", json!({ "type": "object", "description": "session tag key = IdP source",
                    "additionalProperties": { "type": "string", "minLength": 1, "maxLength": 256 } })),
            ]),
            RuleId::IdentityStoreScimOnly.as_str(): rule(RuleId::IdentityStoreScimOnly.summary(), &[]),
            RuleId::DesiredAssignments.as_str(): rule(RuleId::DesiredAssignments.summary(), &[]),
        }
    });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://idc-guard.dev/schema/guardrail.json",
        "title": "idc-guard policy (guardrail.toml)",
        "type": "object",
        "additionalProperties": false,
        "required": ["mode"],
        "properties": {
            "mode": mode(),
            "instance": { "type": "object", "additionalProperties": false, "properties": {
                "arn": { "type": "string", "pattern": "^arn:aws[a-z-]*:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$" },
                "identity_store_id": { "type": "string", "pattern": "^(d-[0-9a-f]{10}|[0-9a-f-]{36})$" } } },
            "own_identity": { "type": "object", "additionalProperties": false, "properties": {
                "role_prefixes": { "type": "array", "items": { "type": "string", "minLength": 1 } },
                "role_arns": { "type": "array", "items": { "type": "string", "pattern": "^arn:.+:role/.+$" } } } },
            "permission_sets": { "type": "object", "additionalProperties": false, "properties": {
                "privileged": patterns("admin and break-glass permission set name patterns") } },
            "groups": { "type": "object", "additionalProperties": false, "properties": {
                "protected": patterns("protected group display name patterns (memberships read and reported by the reconciler)") } },
            "rules": rules,
            "exceptions": { "type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["rule", "owner", "reason", "expires"],
                "anyOf": [ { "required": ["permission_sets"] }, { "required": ["accounts"] }, { "required": ["principals"] } ],
                "properties": {
                    "rule": { "enum": RuleId::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>() },
                    "permission_sets": patterns("permission set name patterns"),
                    "accounts": { "type": "array", "items": { "type": "string", "pattern": "^\\d{12}$" } },
                    "principals": { "type": "array", "items": { "type": "string", "minLength": 1, "maxLength": 47 } },
                    "owner": { "type": "string", "minLength": 1 },
                    "reason": { "type": "string", "minLength": 1 },
                    "expires": { "type": "string", "format": "date" } } } },
            "owners": { "type": "object", "additionalProperties": false,
                "description": "who is told about findings: the permission set's owner tag, else the first matching route, else the default",
                "properties": {
                    "tag_key": { "type": "string", "minLength": 1, "maxLength": 128, "default": "owner",
                        "description": "the permission set tag naming its owner" },
                    "default": owner_name("the owner when nothing more specific is known", Some("platform")),
                    "routes": { "type": "array", "items": {
                        "type": "object", "additionalProperties": false, "required": ["owner"],
                        "anyOf": [ { "required": ["permission_sets"] }, { "required": ["accounts"] } ],
                        "properties": {
                            "owner": owner_name("the owner", None),
                            "permission_sets": patterns("permission set name patterns"),
                            "accounts": { "type": "array", "items": { "type": "string", "pattern": "^\\d{12}$" } } } } },
                    "slack_channels": { "type": "object", "description": "owner = [Slack channel keys of the webhook secret]",
                        "additionalProperties": { "type": "array", "minItems": 1, "items": owner_name("a channel key", None) } } } }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse::keys;
    use super::*;

    fn property_names(v: &Value) -> Vec<String> {
        let mut names: Vec<String> = v["properties"].as_object().unwrap().keys().cloned().collect();
        names.sort();
        names
    }

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut k: Vec<String> = keys.iter().map(|s| (*s).to_owned()).collect();
        k.sort();
        k
    }

    #[test]
    fn schema_lists_exactly_the_keys_the_parser_accepts() {
        let s = json_schema();
        let p = &s["properties"];
        assert_eq!(property_names(&s), sorted(keys::TOP));
        assert_eq!(property_names(&p["instance"]), sorted(keys::INSTANCE));
        assert_eq!(property_names(&p["own_identity"]), sorted(keys::OWN_IDENTITY));
        assert_eq!(property_names(&p["permission_sets"]), sorted(keys::PERMISSION_SETS));
        assert_eq!(property_names(&p["exceptions"]["items"]), sorted(keys::EXCEPTION));
        assert_eq!(property_names(&p["owners"]), sorted(keys::OWNERS));
        assert_eq!(
            property_names(&p["owners"]["properties"]["routes"]["items"]),
            sorted(keys::OWNER_ROUTE)
        );
        let rules = &p["rules"];
        let expected = [
            (RuleId::AssignmentPrincipalType, keys::ASSIGNMENT),
            (RuleId::SessionDurationCap, keys::SESSION),
            (RuleId::PermissionsBoundaryRequired, keys::BOUNDARY),
            (RuleId::InlinePolicyForbiddenActions, keys::INLINE),
            (RuleId::ManagedPolicyForbidden, keys::MANAGED),
            (RuleId::AbacAttributesRequired, keys::ABAC),
            (RuleId::IdentityStoreScimOnly, keys::COMMON),
            (RuleId::DesiredAssignments, keys::COMMON),
        ];
        assert_eq!(expected.len(), RuleId::ALL.len());
        for (rule, k) in expected {
            assert_eq!(
                property_names(&rules["properties"][rule.as_str()]),
                sorted(k),
                "{}",
                rule.as_str()
            );
        }
        let limits = &rules["properties"]["session-duration-cap"]["properties"]["limits"]["items"];
        assert_eq!(property_names(limits), sorted(keys::SESSION_LIMIT));
        let boundary = &rules["properties"]["permissions-boundary-required"]["properties"]["boundary"];
        assert_eq!(property_names(boundary), sorted(keys::BOUNDARY_VALUE));
    }
}
