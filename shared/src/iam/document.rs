//! Parsing of IAM policy documents and the forbidden-action analysis.
//!
//! Parsing is strict where leniency could hide a grant: duplicate keys,
//! element names in the wrong case and unknown statement elements are errors
//! rather than being silently dropped, because AWS might read such a document
//! differently from us.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

use super::glob::{ActionPattern, Budget, TooComplex, witness_within};

/// Whether a statement allows or denies what it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

/// The actions a statement applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionSpec {
    /// `Action`: every action matching at least one of the patterns.
    Action(Vec<ActionPattern>),
    /// `NotAction`: every action matching none of the patterns.
    NotAction(Vec<ActionPattern>),
}

/// One statement of a policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Position in the document's `Statement` list (0 for a single object).
    pub index: usize,
    /// The optional `Sid`.
    pub sid: Option<String>,
    /// The `Effect`.
    pub effect: Effect,
    /// The `Action` or `NotAction` element.
    pub actions: ActionSpec,
    /// The statement as written, including `Resource`, `Condition` and the
    /// like, which do not narrow the analysis: a statement restricted to some
    /// resources or conditions still grants its actions.
    pub raw: Value,
}

/// A parsed IAM policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    /// The statements, in document order.
    pub statements: Vec<Statement>,
    /// Top-level members as written (key, JSON text), in document order, so
    /// that [`PolicyDocument::without_statements`] can rebuild the document
    /// without reordering or reformatting anything it keeps.
    top_level: Vec<(String, String)>,
    /// The JSON text of each statement, parallel to `statements`.
    statement_texts: Vec<String>,
}

/// Why a policy document could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PolicyParseError {
    /// Where the problem is, e.g. `Statement[2].Effect`; `$` for the whole
    /// document.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl PolicyParseError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        PolicyParseError {
            path: path.into(),
            message: message.into(),
        }
    }
}

const ROOT: &str = "$";
const STATEMENT: &str = "Statement";
const TOP_LEVEL_ELEMENTS: [&str; 3] = ["Version", "Id", STATEMENT];
const STATEMENT_ELEMENTS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

impl PolicyDocument {
    /// Parses the JSON text of a policy document.
    ///
    /// `Statement` may be one object or a list of objects; `Action` and
    /// `NotAction` a string or a list of strings. Exactly one of them must be
    /// present in each statement.
    pub fn parse(text: &str) -> Result<PolicyDocument, PolicyParseError> {
        let value = serde_json::from_str::<StrictValue>(text)
            .map_err(|e| PolicyParseError::new(ROOT, format!("invalid JSON: {e}")))?
            .0;
        let Value::Object(top) = &value else {
            return Err(PolicyParseError::new(
                ROOT,
                format!("expected a JSON object, found {}", describe(&value)),
            ));
        };
        for key in top.keys() {
            check_case(key, &TOP_LEVEL_ELEMENTS, key)?;
        }
        let statement_value = top
            .get(STATEMENT)
            .ok_or_else(|| PolicyParseError::new(STATEMENT, "required element is missing"))?;
        let statements = match statement_value {
            Value::Object(_) => vec![parse_statement(STATEMENT.to_owned(), 0, statement_value)?],
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| parse_statement(format!("{STATEMENT}[{i}]"), i, item))
                .collect::<Result<_, _>>()?,
            other => {
                return Err(PolicyParseError::new(
                    STATEMENT,
                    format!("expected an object or a list of objects, found {}", describe(other)),
                ));
            }
        };

        // Second pass over the same, now known to be valid, text to keep the
        // members verbatim for re-serialisation.
        let reparse = |e: serde_json::Error| PolicyParseError::new(ROOT, format!("invalid JSON: {e}"));
        let top_level = serde_json::from_str::<RawMembers>(text).map_err(reparse)?.0;
        let statement_texts = match top_level.iter().find(|(key, _)| key == STATEMENT) {
            Some((_, raw)) if statement_value.is_array() => serde_json::from_str::<Vec<Box<RawValue>>>(raw)
                .map_err(reparse)?
                .into_iter()
                .map(|item| item.get().to_owned())
                .collect(),
            Some((_, raw)) => vec![raw.clone()],
            None => Vec::new(),
        };
        if statement_texts.len() != statements.len() {
            return Err(PolicyParseError::new(STATEMENT, "could not keep the statements' text"));
        }
        Ok(PolicyDocument {
            statements,
            top_level,
            statement_texts,
        })
    }

    /// The JSON text of this document without the statements at `indices`;
    /// `None` when no statement remains.
    ///
    /// Top-level members (`Version`, `Id`, ...) and the remaining statements
    /// are kept exactly as written; `Statement` always becomes a list.
    pub fn without_statements(&self, indices: &[usize]) -> Option<String> {
        self.edited(|s| indices.contains(&s.index), &[])
    }

    /// The JSON text of this document without the statements `drop` selects and with the
    /// statements `add` (JSON texts) appended; `None` when no statement remains.
    ///
    /// Top-level members and the statements kept are kept exactly as written; `Statement`
    /// always becomes a list (a document without one gets it last).
    pub fn edited(&self, drop: impl Fn(&Statement) -> bool, add: &[String]) -> Option<String> {
        let kept: Vec<&str> = self
            .statements
            .iter()
            .zip(&self.statement_texts)
            .filter(|(statement, _)| !drop(statement))
            .map(|(_, text)| text.as_str())
            .chain(add.iter().map(String::as_str))
            .collect();
        if kept.is_empty() {
            return None;
        }
        let list = format!("[{}]", kept.join(","));
        let mut members: Vec<String> = self
            .top_level
            .iter()
            .map(|(key, raw)| {
                let value = if key == STATEMENT { list.as_str() } else { raw.as_str() };
                format!("{}:{value}", Value::String(key.clone()))
            })
            .collect();
        if !self.top_level.iter().any(|(key, _)| key == STATEMENT) {
            members.push(format!("\"{STATEMENT}\":{list}"));
        }
        Some(format!("{{{}}}", members.join(",")))
    }

    /// A new document (version 2012-10-17) of the statements `statements` (JSON texts).
    pub fn text_of(statements: &[String]) -> String {
        format!(
            "{{\"Version\":\"2012-10-17\",\"Statement\":[{}]}}",
            statements.join(",")
        )
    }

    /// The statements that are idc-guard's revocations, with their positions.
    pub fn revocations(&self) -> Vec<(usize, crate::domain::Revocation)> {
        self.statements
            .iter()
            .filter_map(|s| crate::domain::Revocation::from_statement(&s.raw).map(|r| (s.index, r)))
            .collect()
    }
}

fn parse_statement(path: String, index: usize, value: &Value) -> Result<Statement, PolicyParseError> {
    let Value::Object(object) = value else {
        return Err(PolicyParseError::new(
            path,
            format!("expected an object, found {}", describe(value)),
        ));
    };
    for key in object.keys() {
        let key_path = format!("{path}.{key}");
        check_case(key, &STATEMENT_ELEMENTS, &key_path)?;
        if !STATEMENT_ELEMENTS.contains(&key.as_str()) {
            return Err(PolicyParseError::new(key_path, "unknown statement element"));
        }
    }

    let sid = match object.get("Sid") {
        None => None,
        Some(Value::String(sid)) => Some(sid.clone()),
        Some(other) => {
            return Err(PolicyParseError::new(
                format!("{path}.Sid"),
                format!("expected a string, found {}", describe(other)),
            ));
        }
    };

    let effect = match object.get("Effect") {
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(other) => {
            return Err(PolicyParseError::new(
                format!("{path}.Effect"),
                format!(r#"expected "Allow" or "Deny", found {}"#, describe(other)),
            ));
        }
        None => {
            return Err(PolicyParseError::new(
                format!("{path}.Effect"),
                "required element is missing",
            ));
        }
    };

    let actions = match (object.get("Action"), object.get("NotAction")) {
        (Some(action), None) => ActionSpec::Action(parse_patterns(&format!("{path}.Action"), action)?),
        (None, Some(not_action)) => ActionSpec::NotAction(parse_patterns(&format!("{path}.NotAction"), not_action)?),
        (Some(_), Some(_)) => {
            return Err(PolicyParseError::new(
                path,
                "has both Action and NotAction; exactly one is allowed",
            ));
        }
        (None, None) => {
            return Err(PolicyParseError::new(
                path,
                "has neither Action nor NotAction; exactly one is required",
            ));
        }
    };

    Ok(Statement {
        index,
        sid,
        effect,
        actions,
        raw: value.clone(),
    })
}

fn parse_patterns(path: &str, value: &Value) -> Result<Vec<ActionPattern>, PolicyParseError> {
    match value {
        Value::String(s) => Ok(vec![ActionPattern::new(s)]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(ActionPattern::new(s)),
                other => Err(PolicyParseError::new(
                    format!("{path}[{i}]"),
                    format!("expected a string, found {}", describe(other)),
                )),
            })
            .collect(),
        other => Err(PolicyParseError::new(
            path,
            format!("expected a string or a list of strings, found {}", describe(other)),
        )),
    }
}

/// Rejects `key` when it spells one of `known` in a different case: AWS
/// element names are case-sensitive, and silently ignoring e.g. `action`
/// could hide what the author meant.
fn check_case(key: &str, known: &[&str], path: &str) -> Result<(), PolicyParseError> {
    match known
        .iter()
        .find(|name| name.eq_ignore_ascii_case(key) && **name != key)
    {
        Some(name) => Err(PolicyParseError::new(
            path,
            format!("element names are case-sensitive; did you mean \"{name}\"?"),
        )),
        None => Ok(()),
    }
}

/// A short rendering of a JSON value for error messages.
fn describe(value: &Value) -> String {
    const LIMIT: usize = 60;
    let text = value.to_string();
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// One statement granting something that a forbidden pattern covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForbiddenGrant {
    /// [`Statement::index`] of the granting statement.
    pub statement: usize,
    /// The statement's `Sid`, if any.
    pub sid: Option<String>,
    /// The text of the forbidden pattern, e.g. `iam:*`.
    pub forbidden: String,
    /// A concrete action (lowercase) that the statement grants and the
    /// forbidden pattern covers: a shortest one, so possibly terse, like
    /// `iam:`.
    pub example: String,
}

/// Every (Allow statement, forbidden pattern) pair where the statement grants
/// at least one action the pattern matches, in statement order.
///
/// Deny statements are never reported. Each pair is reported once, even if
/// `forbidden` lists the same pattern twice or several of the statement's
/// patterns overlap it.
///
/// All searches for one document share one budget
/// ([`MAX_STATES`](super::MAX_STATES), [`MAX_STEPS`](super::MAX_STEPS)), so
/// the total work is bounded whatever the document's size. When it runs out
/// the answer is [`TooComplex`] for the whole document: a partial list could
/// miss a grant.
pub fn forbidden_grants(doc: &PolicyDocument, forbidden: &[ActionPattern]) -> Result<Vec<ForbiddenGrant>, TooComplex> {
    forbidden_grants_within(doc, forbidden, &mut Budget::new())
}

/// [`forbidden_grants`] on a given budget, which tests inspect afterwards.
pub(crate) fn forbidden_grants_within(
    doc: &PolicyDocument,
    forbidden: &[ActionPattern],
    budget: &mut Budget,
) -> Result<Vec<ForbiddenGrant>, TooComplex> {
    let mut distinct: Vec<&ActionPattern> = Vec::with_capacity(forbidden.len());
    for pattern in forbidden {
        if !distinct.contains(&pattern) {
            distinct.push(pattern);
        }
    }
    let mut grants = Vec::new();
    for statement in doc.statements.iter().filter(|s| s.effect == Effect::Allow) {
        for &pattern in &distinct {
            let example = match &statement.actions {
                ActionSpec::Action(granted) => {
                    let mut example = None;
                    for action in granted {
                        example = witness_within(&[action, pattern], &[], budget)?;
                        if example.is_some() {
                            break;
                        }
                    }
                    example
                }
                ActionSpec::NotAction(excluded) => {
                    let excluded: Vec<&ActionPattern> = excluded.iter().collect();
                    witness_within(&[pattern], &excluded, budget)?
                }
            };
            if let Some(example) = example {
                grants.push(ForbiddenGrant {
                    statement: statement.index,
                    sid: statement.sid.clone(),
                    forbidden: pattern.as_str().to_owned(),
                    example,
                });
            }
        }
    }
    Ok(grants)
}

/// A [`Value`] that refuses duplicate object keys at any depth: serde_json
/// would keep the last one, while another reader might keep the first, and a
/// guardrail must not see a different policy from the one AWS enforces.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// The members of a JSON object as (key, verbatim JSON text), in order.
struct RawMembers(Vec<(String, String)>);

impl<'de> Deserialize<'de> for RawMembers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;

        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = RawMembers;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawMembers, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let raw: Box<RawValue> = map.next_value()?;
                    members.push((key, raw.get().to_owned()));
                }
                Ok(RawMembers(members))
            }
        }

        deserializer.deserialize_map(MembersVisitor)
    }
}
