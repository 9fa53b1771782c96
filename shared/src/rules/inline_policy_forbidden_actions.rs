//! `inline-policy-forbidden-actions`: no inline policy grants `iam:*`, `organizations:*` or
//! `account:*` outside the admin and break-glass sets.

use super::exempt::{KEYS as EXEMPT_KEYS, exempt_schema};
use super::{
    Context, Doc, Exemptions, Missing, PERMISSION_SET_READS, PROVISIONING, Rule, Runs, Subject, Verdict, Violation,
    concerns_permission_set,
};
use crate::domain::{Action, ChangeKind, InlinePolicyText, MissingFact, PermissionSetOp, RuleId, Scope, Severity};
use crate::iam::{ActionPattern, ForbiddenGrant, PolicyDocument, forbidden_grants};
use crate::spanned::{Reader, Table};

/// The rule's id.
pub const ID: RuleId = RuleId::new("inline-policy-forbidden-actions");

/// The longest inline policy Identity Center accepts, in characters.
pub const MAX_INLINE_POLICY: usize = InlinePolicyText::MAX_CHARACTERS;

/// Flags an inline policy that grants a forbidden action, with IAM's wildcard and `NotAction`
/// semantics; and an inline policy that cannot be analysed at all.
///
/// Why: `iam:*`, `organizations:*` and `account:*` let the holder escalate beyond any review.
/// Fix: remove the offending statements (idc-guard removes exactly those, deleting the policy
/// when none remain, and re-provisions).
#[derive(Debug, Clone, Copy)]
pub struct InlinePolicyForbiddenActions;

/// `[rules.inline-policy-forbidden-actions]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Action patterns no inline policy may grant.
    pub actions: Vec<ActionPattern>,
    /// Exempt sets.
    pub exempt: Exemptions,
}

impl Rule for InlinePolicyForbiddenActions {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "No inline policy grants iam:*, organizations:* or account:* outside admin and break-glass sets",
        severity: Severity::Critical,
        mode: None,
        runs: Runs::Everywhere,
        why: "iam:*, organizations:* and account:* let a set grant itself or others any access.",
        correction: "remove exactly the offending statements (delete the policy if none remain); re-provision",
        actions: &[
            PERMISSION_SET_READS,
            &[
                "sso:PutInlinePolicyToPermissionSet",
                "sso:DeleteInlinePolicyFromPermissionSet",
            ],
            PROVISIONING,
        ],
    };

    const KEYS: &'static [&'static str] = &["actions", EXEMPT_KEYS[0], EXEMPT_KEYS[1]];

    const SCHEMA: &'static str = concat!(
        r#"{ "actions": { "type": "array", "items": { "type": "string", "pattern": "^(\\*|[\\w*?-]+:[\\w*?-]+)$" },
                "default": ["iam:*", "organizations:*", "account:*"] },"#,
        exempt_schema!(),
        "}"
    );

    fn defaults(&self) -> Settings {
        Settings {
            actions: ["iam:*", "organizations:*", "account:*"]
                .into_iter()
                .map(ActionPattern::new)
                .collect(),
            exempt: Exemptions::default(),
        }
    }

    fn read(&self, r: &mut Reader<'_>, t: &mut Table<'_, '_>, d: &Settings) -> Option<Settings> {
        let mut actions = d.actions.clone();
        if let Some(v) = t.take("actions") {
            actions = r
                .list(v, &t.child("actions"), |r, s, span, p| {
                    let valid = s == "*"
                        || s.split_once(':').is_some_and(|(svc, act)| {
                            !svc.is_empty()
                                && !act.is_empty()
                                && !act.contains(':')
                                && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_*?:".contains(c))
                        });
                    if valid {
                        Some(ActionPattern::new(s))
                    } else {
                        r.problem(span, p, format!("{s:?} is not an IAM action pattern such as \"iam:*\""));
                        None
                    }
                })
                .unwrap_or_default();
        }
        let exempt = Exemptions::read(r, t, &d.exempt);
        Some(Settings { actions, exempt })
    }

    fn concerns(&self, change: &ChangeKind, scope: Scope) -> bool {
        concerns_permission_set(change, scope, |op| {
            matches!(op, PermissionSetOp::InlinePolicyPut { .. })
        })
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let Some(subject) = Subject::of(&cx) else {
            return Verdict::NotApplicable;
        };
        let settings = cx.settings;
        let analysed = match subject.ps.inline_policy.known() {
            Some(None) => return Verdict::Pass,
            Some(Some(InlinePolicyText::Text(text))) => analyse(text, &settings.actions),
            Some(Some(InlinePolicyText::Oversized { logged_bytes })) => Err(format!(
                "is logged with {logged_bytes} bytes, far more than the {MAX_INLINE_POLICY} characters Identity \
                 Center accepts, so it was not analysed. Replace it with a valid document"
            )),
            Some(Some(InlinePolicyText::Redacted)) | None => {
                return Verdict::Undetermined(Missing {
                    fact: MissingFact::InlinePolicy,
                    detail: "the inline policy document (absent or redacted in the event)".to_owned(),
                });
            }
        };
        let label = subject.label();
        let resource = subject.resource();
        let (doc, grants) = match analysed {
            Ok(analysed) => analysed,
            // Whatever the set's name, a document nobody can analyse is a finding of its own, with
            // nothing changed automatically (fail closed: the patterns come from the very people
            // this rule polices).
            Err(why) => {
                return Verdict::Fail(Violation {
                    message: format!(
                        "The inline policy of permission set {label} {why}; nothing is changed automatically."
                    ),
                    resource,
                    remediation: Vec::new(),
                });
            }
        };
        if grants.is_empty() {
            return Verdict::Pass;
        }
        if let Some(settled) = subject.exempted(
            cx.baseline,
            &settings.exempt,
            "privileged (admin and break-glass) sets may grant these actions",
        ) {
            return settled;
        }
        let mut statements: Vec<usize> = grants.iter().map(|g| g.statement).collect();
        statements.dedup();
        let removed: Vec<String> = statements
            .iter()
            .filter_map(|i| doc.statements.iter().find(|s| s.index == *i))
            .map(|s| s.raw.to_string())
            .collect();
        let detail: Vec<String> = grants
            .iter()
            .map(|g| {
                let sid = g.sid.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
                format!(
                    "statement {}{sid} grants {} (e.g. {})",
                    g.statement, g.forbidden, g.example
                )
            })
            .collect();
        let fix = match doc.without_statements(&statements) {
            Some(remaining_policy) => Action::RemoveInlineStatements {
                instance_arn: subject.instance.clone(),
                permission_set_arn: subject.ps.arn.clone(),
                statements,
                removed,
                remaining_policy,
            },
            None => Action::DeleteInlinePolicy {
                instance_arn: subject.instance.clone(),
                permission_set_arn: subject.ps.arn.clone(),
                removed,
            },
        };
        Verdict::Fail(Violation {
            message: format!(
                "The inline policy of permission set {label} grants forbidden actions: {}. Only admin and \
                 break-glass sets may; remove those statements ({}).",
                detail.join("; "),
                cx.what_idc_guard_does("removes exactly them and re-provisions")
            ),
            resource,
            remediation: vec![fix, subject.provision()],
        })
    }
}

/// The parsed document and what it grants of `actions`, or why it cannot be analysed (the end of
/// a sentence naming the document).
fn analyse(text: &str, actions: &[ActionPattern]) -> Result<(PolicyDocument, Vec<ForbiddenGrant>), String> {
    // Larger than Identity Center accepts: not analysed (parsing it would cost many times its
    // size).
    let length = text.chars().count();
    if length > MAX_INLINE_POLICY {
        return Err(format!(
            "has {length} characters, more than the {MAX_INLINE_POLICY} Identity Center accepts, so it was \
             not analysed. Replace it with a valid document"
        ));
    }
    let doc = PolicyDocument::parse(text).map_err(|e| {
        format!(
            "cannot be analysed ({e}), so idc-guard cannot tell what it grants. Replace it with a valid IAM \
             policy document"
        )
    })?;
    let grants = forbidden_grants(&doc, actions).map_err(|e| {
        format!(
            "cannot be analysed ({e}), so idc-guard cannot tell what it grants. Simplify its Action and \
             NotAction patterns (long runs of `?` after a `*`)"
        )
    })?;
    Ok((doc, grants))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::domain::Fact;

    const S3_READ: &str = r#"{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}"#;

    fn doc(statements: &[&str]) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{}]}}"#, statements.join(","))
    }

    /// A `NotAction` crafted to make the exact analysis exponential (`*a` and 16 `?`), while a
    /// forbidden `iam:` action does escape it; see `iam::tests::crafted_not_action`.
    fn crafted() -> String {
        let mut not_action = vec![format!("\"*a{}\"", "?".repeat(16))];
        not_action.extend((0..18).map(|k| format!("\"iam:{}\"", "?".repeat(k))));
        doc(&[&format!(
            r#"{{"Effect":"Allow","NotAction":[{}],"Resource":"*"}}"#,
            not_action.join(",")
        )])
    }

    fn judge(text: &str, name: Option<&str>) -> Verdict {
        let change = inline_put(text);
        let mut facts = facts_for(&change);
        if let Some(n) = name {
            facts.permission_set.as_mut().unwrap().name = Fact::Known(n.into());
        }
        InlinePolicyForbiddenActions.evaluate(cx(&InlinePolicyForbiddenActions, &change, &facts, &policy()))
    }

    #[test]
    fn documents_table() {
        let cases: [(String, Option<&str>, Expect); 13] = [
            (doc(&[S3_READ]), None, Expect::Pass),
            (
                doc(&[r#"{"Effect":"Allow","Action":"iam:*","Resource":"*"}"#]),
                None,
                Expect::Undetermined,
            ),
            (
                doc(&[r#"{"Effect":"Allow","Action":"iam:*","Resource":"*"}"#]),
                Some("DataEngineer"),
                Expect::Fail,
            ),
            (
                doc(&[r#"{"Effect":"Allow","Action":"iam:*","Resource":"*"}"#]),
                Some("PlatformAdmin"),
                Expect::Pass,
            ),
            (
                doc(&[r#"{"Effect":"Deny","Action":"iam:*","Resource":"*"}"#]),
                Some("DataEngineer"),
                Expect::Pass,
            ),
            (
                doc(&[r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#]),
                Some("DataEngineer"),
                Expect::Fail,
            ),
            (
                doc(&[r#"{"Effect":"Allow","Action":"I*:Create*","Resource":"*"}"#]),
                Some("DataEngineer"),
                Expect::Fail,
            ),
            (
                doc(&[r#"{"Effect":"Allow","Action":"Organizations:ListAccounts","Resource":"*"}"#]),
                Some("DataEngineer"),
                Expect::Fail,
            ),
            (
                doc(&[r#"{"Effect":"Allow","NotAction":"s3:*","Resource":"*"}"#]),
                Some("DataEngineer"),
                Expect::Fail,
            ),
            (
                doc(&[r#"{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"}"#]),
                Some("DataEngineer"),
                Expect::Pass,
            ),
            ("{not json".to_owned(), Some("PlatformAdmin"), Expect::Fail),
            (r#"{"Version":"2012-10-17"}"#.to_owned(), None, Expect::Fail),
            // Too complex to analyse within the budget: a finding whatever the set's name.
            (crafted(), Some("PlatformAdmin"), Expect::Fail),
        ];
        for (text, name, expected) in cases {
            assert_eq!(outcome(&judge(&text, name)), expected, "{text} as {name:?}");
        }
    }

    #[test]
    fn the_fix_removes_exactly_the_offending_statements() {
        let text = doc(&[
            S3_READ,
            r#"{"Sid":"Esc","Effect":"Allow","Action":"iam:PassRole","Resource":"*"}"#,
        ]);
        let Verdict::Fail(v) = judge(&text, Some("DataEngineer")) else {
            panic!()
        };
        match &v.remediation[0] {
            Action::RemoveInlineStatements {
                statements,
                removed,
                remaining_policy,
                ..
            } => {
                assert_eq!(statements, &vec![1]);
                assert!(removed[0].contains("iam:PassRole"));
                assert!(remaining_policy.contains("s3:GetObject"));
                assert!(!remaining_policy.contains("iam:PassRole"));
            }
            other => panic!("{other:?}"),
        }
        assert!(v.message.contains("Esc"));
    }

    #[test]
    fn the_fix_deletes_the_policy_when_nothing_remains() {
        let text = doc(&[r#"{"Effect":"Allow","Action":"iam:*","Resource":"*"}"#]);
        let Verdict::Fail(v) = judge(&text, Some("DataEngineer")) else {
            panic!()
        };
        assert!(matches!(&v.remediation[0], Action::DeleteInlinePolicy { removed, .. } if removed.len() == 1));
    }

    #[test]
    fn an_oversized_document_is_a_finding_without_analysis() {
        // Valid JSON granting nothing forbidden, but over the limit by one character.
        let filler = "x".repeat(MAX_INLINE_POLICY);
        let text = format!(r#"{{"Version":"2012-10-17","Sid":"{filler}","Statement":[{S3_READ}]}}"#);
        let at_limit = &text[..MAX_INLINE_POLICY];
        assert!(text.chars().count() > MAX_INLINE_POLICY && at_limit.chars().count() == MAX_INLINE_POLICY);
        let change = inline_put(&text);
        let mut facts = facts_for(&change);
        facts.permission_set.as_mut().unwrap().name = Fact::Known("PlatformAdmin".into());
        let Verdict::Fail(v) =
            InlinePolicyForbiddenActions.evaluate(cx(&InlinePolicyForbiddenActions, &change, &facts, &policy()))
        else {
            panic!("an oversized policy must fail, even on an exempt set")
        };
        assert!(v.message.contains("more than the 32768"), "{}", v.message);
        assert!(v.remediation.is_empty());
    }

    #[test]
    fn unparseable_documents_plan_nothing() {
        let Verdict::Fail(v) = judge("{\"Statement\": 5}", None) else {
            panic!()
        };
        assert!(v.remediation.is_empty());
        assert!(v.message.contains("cannot be analysed"));
    }

    #[test]
    fn too_complex_documents_plan_nothing() {
        let Verdict::Fail(v) = judge(&crafted(), None) else {
            panic!()
        };
        assert!(v.remediation.is_empty());
        assert!(v.message.contains("cannot be analysed"), "{}", v.message);
        assert!(v.message.contains("too complex"), "{}", v.message);
        assert!(v.message.contains("nothing is changed automatically"), "{}", v.message);
    }
}
