//! The JSON Schema of the policy file, for editors (Taplo, Even Better TOML, VS Code).

use serde_json::{Value, json};

use crate::rules::{AnyRule, RULES};

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

/// A rule's table: mode, severity, and the rule's own fragment.
fn rule(rule: &dyn AnyRule) -> Value {
    let mut properties = serde_json::Map::new();
    properties.insert("mode".into(), mode());
    properties.insert("severity".into(), severity());
    // The fragment is the rule's own JSON text; a registry test checks that every one parses.
    if let Ok(Value::Object(own)) = serde_json::from_str::<Value>(rule.schema()) {
        properties.extend(own);
    }
    json!({ "type": "object", "description": rule.doc().summary, "additionalProperties": false, "properties": properties })
}

/// The JSON Schema (draft 2020-12) of `guardrail.toml`.
pub fn json_schema() -> Value {
    let rules: serde_json::Map<String, Value> = RULES
        .iter()
        .map(|r| (r.doc().id.as_str().to_owned(), rule(*r)))
        .collect();
    let rules = json!({ "type": "object", "additionalProperties": false, "properties": rules });
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
                "identity_store_id": { "type": "string", "pattern": "^(d-[0-9a-f]{10}|[0-9a-f-]{36})$" },
                "regions": { "type": "array", "description": "the instance's Regions (primary and replicas) whose events are judged; empty: all",
                    "items": { "type": "string", "pattern": "^[a-z]+(-[a-z]+)+-[0-9]+$" } } } },
            "own_identity": { "type": "object", "additionalProperties": false, "properties": {
                "role_prefixes": { "type": "array", "items": { "type": "string", "minLength": 1 } },
                "role_arns": { "type": "array", "items": { "type": "string", "pattern": "^arn:.+:role/.+$" } } } },
            "permission_sets": { "type": "object", "additionalProperties": false, "properties": {
                "privileged": patterns("admin and break-glass permission set name patterns") } },
            "groups": { "type": "object", "additionalProperties": false, "properties": {
                "protected": patterns("protected group display name patterns (memberships read and reported by the reconciler)") } },
            "revocation": { "type": "object", "additionalProperties": false,
                "description": "what a removal idc-guard makes does to the live role sessions issued through it",
                "properties": {
                    "mode": { "enum": ["enforce", "detect", "off"],
                        "description": "enforce: revoke them (a deny statement in the set's inline policy, until they have expired); detect: report what would be revoked" },
                    "margin": { "type": "string", "pattern": "^P",
                        "description": "added to the set's session duration before the statement is removed (ISO 8601, at most PT30M; default PT10M)" } } },
            "rules": rules,
            "exceptions": { "type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["rule", "owner", "reason", "expires"],
                "anyOf": [ { "required": ["permission_sets"] }, { "required": ["accounts"] }, { "required": ["principals"] } ],
                "properties": {
                    "rule": { "enum": RULES.iter().map(|r| r.doc().id.as_str()).collect::<Vec<_>>() },
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
        assert_eq!(property_names(&p["revocation"]), sorted(keys::REVOCATION));
        assert_eq!(
            property_names(&p["owners"]["properties"]["routes"]["items"]),
            sorted(keys::OWNER_ROUTE)
        );
        let rules = &p["rules"];
        assert_eq!(property_names(rules).len(), RULES.len());
        for rule in RULES {
            let id = rule.doc().id.as_str();
            let mut expected: Vec<&str> = keys::COMMON.to_vec();
            expected.extend(rule.keys());
            assert_eq!(property_names(&rules["properties"][id]), sorted(&expected), "{id}");
        }
    }
}
