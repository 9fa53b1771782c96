//! A permission set's content as a set of features: what it grants, normalised so that equal
//! grants written differently compare equal.
//!
//! Features: each AWS managed policy (by name, whatever its partition), the boundary (an AWS
//! managed policy by name, or a customer managed one by path and name), the session duration, and
//! each inline statement (Effect, Action and NotAction lower-cased and sorted, Resource and
//! NotResource sorted, Condition with its operators and keys sorted, keys lower-cased as IAM
//! compares them; `Sid` left out, as it grants nothing), and each customer managed policy
//! reference (by path and name). idc-guard's own revocation statements are left out: they come and
//! go within hours and would split a family for a day.
//!
//! Each feature also has a *template*: the same text with every value taken from the set's own
//! name (`DataEng-Prod` in `arn:aws:s3:::dataeng-prod-*`) replaced by `{name}` in Resource,
//! NotResource and condition values, lower-cased: the values a team edits when it clones a set.
//! Similarity is judged on templates, so per-team copies compare as the copies they are; the diff
//! shows the exact features.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;

use crate::domain::{Boundary, Fact, InlinePolicyText, PermissionSetFacts};
use crate::iam::PolicyDocument;

/// The placeholder for a value taken from the set's name.
pub const NAME: &str = "{name}";

/// A set's features, exact and templated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Features {
    /// The features as written (normalised).
    pub exact: BTreeSet<String>,
    /// The same with values from the set's name replaced by [`NAME`].
    pub template: BTreeSet<String>,
    /// The values from the name that were replaced (lower-case), for the hint.
    pub replaced: BTreeSet<String>,
}

/// Why a set's content could not be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotRead(pub &'static str);

/// The features of a set named `name` (when known) with definition `ps`; every part of the
/// definition must be known: an unknown part is never read as empty.
pub fn of(name: Option<&str>, ps: &PermissionSetFacts) -> Result<Features, NotRead> {
    let Fact::Known(managed) = &ps.managed_policies else {
        return Err(NotRead("its managed policies could not be read"));
    };
    let Fact::Known(boundary) = &ps.boundary else {
        return Err(NotRead("its permissions boundary could not be read"));
    };
    let Fact::Known(duration) = &ps.session_duration else {
        return Err(NotRead("its session duration could not be read"));
    };
    let Fact::Known(customer_managed) = &ps.customer_managed_policies else {
        return Err(NotRead("its customer managed policy references could not be read"));
    };
    let inline = match &ps.inline_policy {
        Fact::Known(None) => None,
        Fact::Known(Some(InlinePolicyText::Text(text))) => Some(text.as_str()),
        Fact::Known(Some(InlinePolicyText::Oversized { .. } | InlinePolicyText::Redacted)) | Fact::Unknown => {
            return Err(NotRead("its inline policy could not be read"));
        }
    };
    let mut features = Features::default();
    let mut plain = |text: String| {
        features.template.insert(text.clone());
        features.exact.insert(text);
    };
    for arn in managed {
        plain(format!("managed policy {}", managed_name(arn)));
    }
    for r in customer_managed {
        plain(format!("customer managed policy {}{}", r.path, r.name));
    }
    if let Some(b) = boundary {
        plain(match b {
            Boundary::ManagedPolicy(arn) => format!("boundary managed policy {}", managed_name(arn)),
            Boundary::CustomerManaged(r) => format!("boundary customer managed policy {}{}", r.path, r.name),
        });
    }
    plain(format!(
        "session duration {}",
        duration.normalised().unwrap_or_else(|| duration.to_string())
    ));
    if let Some(text) = inline {
        let tokens = name.map(name_tokens).unwrap_or_default();
        for (exact, template) in statements(text, &tokens, &mut features.replaced) {
            features.exact.insert(exact);
            features.template.insert(template);
        }
    }
    Ok(features)
}

/// An AWS managed policy's path and name without the partition (`ReadOnlyAccess`,
/// `job-function/ViewOnlyAccess`); any other ARN as written.
fn managed_name(arn: &str) -> &str {
    arn.split_once(":iam::aws:policy/").map_or(arn, |(_, name)| name)
}

/// The inline policy's statements, one feature each (exact, template); a document that does not
/// parse is one feature (its text without whitespace).
fn statements(text: &str, tokens: &[String], replaced: &mut BTreeSet<String>) -> Vec<(String, String)> {
    let Ok(doc) = PolicyDocument::parse(text) else {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let feature = format!("inline policy (unparsed) {compact}");
        return vec![(feature.clone(), feature)];
    };
    let revocations: BTreeSet<usize> = doc.revocations().into_iter().map(|(i, _)| i).collect();
    doc.statements
        .iter()
        .filter(|s| !revocations.contains(&s.index))
        .map(|s| statement(&s.raw, tokens, replaced))
        .collect()
}

/// One statement, normalised (`Allow Action [..] Resource [..] Condition {..}`), and its template:
/// the same with the name's values replaced in Resource, NotResource and the condition values.
fn statement(raw: &Value, tokens: &[String], replaced: &mut BTreeSet<String>) -> (String, String) {
    let get = |key: &str| raw.as_object().and_then(|o| o.get(key));
    let effect = get("Effect").and_then(Value::as_str).unwrap_or("?");
    let mut exact = format!("statement {effect}");
    let mut template = exact.clone();
    let list = |items: BTreeSet<String>| items.into_iter().collect::<Vec<_>>().join(", ");
    for (key, lower) in [
        ("Action", true),
        ("NotAction", true),
        ("Resource", false),
        ("NotResource", false),
    ] {
        let Some(v) = get(key) else { continue };
        let items: BTreeSet<String> = strings(v)
            .into_iter()
            .map(|s| if lower { s.to_ascii_lowercase() } else { s })
            .collect();
        let templated: BTreeSet<String> = if lower {
            items.clone()
        } else {
            items.iter().map(|s| templated(s, tokens, replaced)).collect()
        };
        let _ = write!(exact, " {key} [{}]", list(items));
        let _ = write!(template, " {key} [{}]", list(templated));
    }
    if let Some(Value::Object(ops)) = get("Condition") {
        let mut ops: Vec<(&String, &Value)> = ops.iter().collect();
        ops.sort_by(|a, b| a.0.cmp(b.0));
        let (mut parts, mut template_parts) = (Vec::new(), Vec::new());
        for (op, keys) in ops {
            let (mut entries, mut template_entries): (Vec<String>, Vec<String>) = match keys {
                Value::Object(keys) => keys
                    .iter()
                    .map(|(k, v)| {
                        let key = k.to_ascii_lowercase();
                        let values: BTreeSet<String> = strings(v).into_iter().collect();
                        let templated: BTreeSet<String> =
                            values.iter().map(|s| templated(s, tokens, replaced)).collect();
                        (
                            format!("{key}: [{}]", list(values)),
                            format!("{key}: [{}]", list(templated)),
                        )
                    })
                    .unzip(),
                other => (vec![other.to_string()], vec![other.to_string()]),
            };
            entries.sort();
            template_entries.sort();
            parts.push(format!("{op} {{{}}}", entries.join(", ")));
            template_parts.push(format!("{op} {{{}}}", template_entries.join(", ")));
        }
        let _ = write!(exact, " Condition {{{}}}", parts.join(", "));
        let _ = write!(template, " Condition {{{}}}", template_parts.join(", "));
    }
    (exact, template)
}

/// A string or a list of them (numbers and booleans as written).
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::String(s) => vec![s.clone()],
        other => vec![other.to_string()],
    }
}

/// The values a name is made of, longest first: the whole name and its parts between
/// separators (`DataEng-Prod` → `dataeng-prod`, `dataeng`, `prod`), lower-case, three characters
/// or more (shorter ones match by accident).
pub fn name_tokens(name: &str) -> Vec<String> {
    let lower = name.to_ascii_lowercase();
    let mut tokens: BTreeSet<String> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| t.len() >= 3)
        .map(str::to_owned)
        .collect();
    if lower.len() >= 3 {
        tokens.insert(lower);
    }
    let mut tokens: Vec<String> = tokens.into_iter().collect();
    tokens.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    tokens
}

/// A value lower-cased, with every name token replaced by [`NAME`] (longest first), and
/// adjacent placeholders merged; the tokens replaced are added to `replaced`.
fn templated(value: &str, tokens: &[String], replaced: &mut BTreeSet<String>) -> String {
    let mut out = value.to_ascii_lowercase();
    for token in tokens {
        if out.contains(token.as_str()) {
            replaced.insert(token.clone());
            out = out.replace(token.as_str(), NAME);
        }
    }
    let double = format!("{NAME}{NAME}");
    while out.contains(&double) {
        out = out.replace(&double, NAME);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CustomerManagedPolicyRef, PermissionSetArn, SessionDuration};

    pub(crate) fn set(managed: &[&str], inline: Option<&str>, duration: &str) -> PermissionSetFacts {
        let mut ps = PermissionSetFacts::unknown(
            PermissionSetArn::parse("arn:aws:sso:::permissionSet/ssoins-7223b1c4d5e6f708/ps-0011223344556677").unwrap(),
        );
        ps.managed_policies = Fact::Known(managed.iter().map(|s| (*s).to_owned()).collect());
        ps.inline_policy = Fact::Known(inline.map(|t| InlinePolicyText::Text(t.to_owned())));
        ps.boundary = Fact::Known(None);
        ps.session_duration = Fact::Known(SessionDuration::parse(duration).unwrap());
        ps.customer_managed_policies = Fact::Known(Vec::new());
        ps
    }

    #[test]
    fn equal_grants_written_differently_are_equal_features() {
        let a = set(
            &["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            Some(
                r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["S3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::b/*","arn:aws:s3:::b"]}]}"#,
            ),
            "PT8H",
        );
        let b = set(
            &["arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess"],
            Some(
                r#"{"Statement":{"Effect":"Allow","Action":["s3:listbucket","s3:getobject"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]},"Version":"2012-10-17"}"#,
            ),
            "PT480M",
        );
        let (fa, fb) = (of(None, &a).unwrap(), of(None, &b).unwrap());
        assert_eq!(fa.exact, fb.exact);
        assert!(fa.exact.contains("managed policy ReadOnlyAccess"), "{:?}", fa.exact);
        assert!(fa.exact.contains("session duration PT8H"), "{:?}", fa.exact);
        assert!(
            fa.exact.contains(
                "statement Allow Action [s3:getobject, s3:listbucket] Resource [arn:aws:s3:::b, arn:aws:s3:::b/*]"
            ),
            "{:?}",
            fa.exact
        );
    }

    #[test]
    fn conditions_are_sorted_and_their_keys_lower_cased() {
        let a = set(
            &[],
            Some(
                r#"{"Statement":[{"Effect":"Deny","NotAction":"iam:*","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalTag/Team":["b","a"]},"Bool":{"aws:MultiFactorAuthPresent":false}}}]}"#,
            ),
            "PT1H",
        );
        let f = of(None, &a).unwrap();
        let s = f.exact.iter().find(|s| s.starts_with("statement")).unwrap();
        assert_eq!(
            s,
            "statement Deny NotAction [iam:*] Resource [*] Condition {Bool {aws:multifactorauthpresent: [false]}, \
             StringNotEquals {aws:principaltag/team: [a, b]}}"
        );
    }

    #[test]
    fn unknown_parts_are_not_read_as_empty() {
        let mut a = set(&[], None, "PT1H");
        a.inline_policy = Fact::Unknown;
        assert!(of(None, &a).is_err());
        let mut b = set(&[], None, "PT1H");
        b.managed_policies = Fact::Unknown;
        assert!(of(None, &b).is_err());
        let mut c = set(&[], None, "PT1H");
        c.boundary = Fact::Unknown;
        assert!(of(None, &c).is_err());
        let mut d = set(&[], None, "PT1H");
        d.inline_policy = Fact::Known(Some(InlinePolicyText::Oversized { logged_bytes: 40_000 }));
        assert!(of(None, &d).is_err());
    }

    #[test]
    fn boundaries_and_unparsed_policies_are_features() {
        let mut a = set(&[], Some("{not json"), "PT1H");
        a.boundary = Fact::Known(Some(Boundary::CustomerManaged(CustomerManagedPolicyRef {
            name: "Guard".into(),
            path: "/org/".into(),
        })));
        let f = of(None, &a).unwrap();
        assert!(f.exact.contains("boundary customer managed policy /org/Guard"));
        assert!(f.exact.contains("inline policy (unparsed) {notjson"));
    }

    #[test]
    fn values_from_the_name_are_templated() {
        let stmt = |bucket: &str| {
            format!(r#"{{"Statement":[{{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::{bucket}-*"}}]}}"#)
        };
        let a = of(Some("DataEng-Prod"), &set(&[], Some(&stmt("dataeng-prod")), "PT8H")).unwrap();
        let b = of(Some("Payments-Prod"), &set(&[], Some(&stmt("payments-prod")), "PT8H")).unwrap();
        assert_ne!(a.exact, b.exact);
        assert_eq!(a.template, b.template);
        assert_eq!(a.replaced, BTreeSet::from(["dataeng-prod".to_owned()]));
        assert_eq!(name_tokens("DataEng-Prod"), ["dataeng-prod", "dataeng", "prod"]);
        assert_eq!(name_tokens("QA"), Vec::<String>::new());
    }

    #[test]
    fn customer_managed_references_are_features_and_unread_ones_are_never_empty() {
        let plain = set(&[], None, "PT8H");
        let mut with = plain.clone();
        with.customer_managed_policies = Fact::Known(vec![CustomerManagedPolicyRef {
            name: "data-access".into(),
            path: "/teams/".into(),
        }]);
        let f = of(Some("Data"), &with).unwrap();
        assert!(f.exact.contains("customer managed policy /teams/data-access"), "{f:?}");
        assert_ne!(of(Some("Data"), &plain).unwrap(), f);
        let mut unread = plain;
        unread.customer_managed_policies = Fact::Unknown;
        assert!(of(Some("Data"), &unread).is_err());
    }
}
