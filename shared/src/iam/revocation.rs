//! Revocation statements: how idc-guard ends role sessions issued before access was removed.
//!
//! Identity Center has no API that ends a permission-set role session, and its
//! `AWSReservedSSO_*` roles cannot be edited. AWS's documented answer is a `Deny` keyed on the
//! `identitystore:userId` condition key in the permission set's inline policy, re-provisioned
//! (IAM Identity Center User Guide, "Revoke active IAM role sessions created by permission sets",
//! <https://docs.aws.amazon.com/singlesignon/latest/userguide/useraccess.html#revoke-user-permissions>,
//! and its preparation page "Prepare to revoke access to a user",
//! <https://docs.aws.amazon.com/singlesignon/latest/userguide/prereqs-revoking-user-permissions.html>).
//! idc-guard narrows it to what was removed: `aws:PrincipalAccount` (the accounts where the
//! user lost the set) and `aws:TokenIssueTime` before the removal (sessions issued later, through
//! access the user still has or is given again, are untouched; IAM User Guide, "AWS global
//! condition context keys",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>).
//!
//! A statement is recognised as idc-guard's only by its exact shape (never by its `Sid` alone):
//! `Deny` of `*` on `*` with exactly these three conditions and a `Sid` that carries its expiry.
//! A statement that allows anything is never one, whatever its `Sid`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::domain::time::{parse_utc, utc};
use crate::domain::{AccountId, Loss, Revocation};

/// The wire shape of a revocation statement, in the order it is written.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Statement<'a> {
    sid: &'a str,
    effect: &'a str,
    action: &'a str,
    resource: &'a str,
    condition: Condition<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Condition<'a> {
    string_equals: Equals<'a>,
    date_less_than: Before,
}

#[derive(Serialize)]
struct Equals<'a> {
    #[serde(rename = "identitystore:userId")]
    users: &'a [String],
    #[serde(rename = "aws:PrincipalAccount")]
    accounts: &'a [&'a str],
}

#[derive(Serialize)]
struct Before {
    #[serde(rename = "aws:TokenIssueTime")]
    token_issue_time: String,
}

/// The prefix of every revocation statement's `Sid`.
pub const SID_PREFIX: &str = "IdcGuardRevoke";

/// No revocation lives longer than this (the longest session a permission set can issue, 12
/// hours, plus the longest margin), in seconds.
pub const MAX_LIFETIME: u64 = 13 * 3600;

/// The condition key naming the Identity Center user a session belongs to.
pub const USER_KEY: &str = "identitystore:userId";
/// The condition key naming the account the session's role is in.
pub const ACCOUNT_KEY: &str = "aws:PrincipalAccount";
/// The condition key of the session's issue time.
pub const ISSUE_TIME_KEY: &str = "aws:TokenIssueTime";

/// The inline-policy quota a revocation must fit in: IAM Identity Center quotas, "Inline policy
/// per permission set": 32,768 bytes, of which at most 10,240 non-whitespace characters (the
/// IAM quota for a role's inline policies, since the policy becomes one on each account's
/// `AWSReservedSSO_*` role; <https://docs.aws.amazon.com/singlesignon/latest/userguide/limits.html>,
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>).
pub const MAX_POLICY_BYTES: usize = 32_768;
/// See [`MAX_POLICY_BYTES`].
pub const MAX_POLICY_CHARACTERS: usize = 10_240;

/// Whether a policy document's text fits the inline-policy quota; otherwise what it exceeds.
///
/// # Errors
/// The quota the text exceeds, in words.
pub fn fits_quota(text: &str) -> Result<(), String> {
    let characters = text.chars().filter(|c| !c.is_whitespace()).count();
    if text.len() > MAX_POLICY_BYTES {
        return Err(format!(
            "the policy would have {} bytes, more than the {MAX_POLICY_BYTES} an inline policy may have",
            text.len()
        ));
    }
    if characters > MAX_POLICY_CHARACTERS {
        return Err(format!(
            "the policy would have {characters} non-whitespace characters, more than the \
             {MAX_POLICY_CHARACTERS} a role's inline policies may have"
        ));
    }
    Ok(())
}

impl Revocation {
    /// The statements for `losses` at one removal time: the fewest statements that deny exactly
    /// the lost (user, account) pairs and nothing else (users with the same accounts share one).
    /// Their `Sid`s are numbered from the first number `taken` does not hold.
    pub fn plan(losses: &[Loss], issued_before: u64, until: u64, taken: &BTreeSet<String>) -> Vec<Self> {
        let mut by_user: BTreeMap<&str, BTreeSet<&AccountId>> = BTreeMap::new();
        for loss in losses {
            by_user.entry(&loss.user).or_default().insert(&loss.account);
        }
        let mut by_accounts: BTreeMap<BTreeSet<&AccountId>, Vec<String>> = BTreeMap::new();
        for (user, accounts) in by_user {
            by_accounts.entry(accounts).or_default().push(user.to_owned());
        }
        let mut taken = taken.clone();
        by_accounts
            .into_iter()
            .map(|(accounts, users)| {
                let sid = next_sid(until, &taken);
                taken.insert(sid.clone());
                Self {
                    sid,
                    users,
                    accounts: accounts.into_iter().cloned().collect(),
                    issued_before,
                    until,
                }
            })
            .collect()
    }

    /// The statement's JSON text.
    pub fn statement(&self) -> String {
        // Serialised from structs, so that the text (and its key order) is the same whether or
        // not serde_json's `preserve_order` feature is unified into the build.
        let accounts: Vec<&str> = self.accounts.iter().map(AccountId::as_str).collect();
        let statement = Statement {
            sid: &self.sid,
            effect: "Deny",
            action: "*",
            resource: "*",
            condition: Condition {
                string_equals: Equals {
                    users: &self.users,
                    accounts: &accounts,
                },
                date_less_than: Before {
                    token_issue_time: utc(self.issued_before),
                },
            },
        };
        // Strings and string lists only: serialising cannot fail.
        serde_json::to_string(&statement).unwrap_or_default()
    }

    /// The revocation a statement is, when it has exactly the shape idc-guard writes.
    pub fn from_statement(raw: &Value) -> Option<Self> {
        let s = raw.as_object()?;
        let sid = s.get("Sid")?.as_str()?;
        let until = sid_until(sid)?;
        let only = |object: &serde_json::Map<String, Value>, keys: &[&str]| {
            object.len() == keys.len() && keys.iter().all(|k| object.contains_key(*k))
        };
        if !only(s, &["Sid", "Effect", "Action", "Resource", "Condition"])
            || s["Effect"] != "Deny"
            || s["Action"] != "*"
            || s["Resource"] != "*"
        {
            return None;
        }
        let condition = s["Condition"].as_object()?;
        let equals = condition.get("StringEquals")?.as_object()?;
        let before = condition.get("DateLessThan")?.as_object()?;
        if !only(condition, &["StringEquals", "DateLessThan"])
            || !only(equals, &[USER_KEY, ACCOUNT_KEY])
            || !only(before, &[ISSUE_TIME_KEY])
        {
            return None;
        }
        let users = strings(&equals[USER_KEY])?;
        let accounts = strings(&equals[ACCOUNT_KEY])?
            .into_iter()
            .map(|a| AccountId::parse(&a).ok())
            .collect::<Option<Vec<_>>>()?;
        let issued_before = parse_utc(before[ISSUE_TIME_KEY].as_str()?)?;
        if users.is_empty() || accounts.is_empty() || until <= issued_before || until - issued_before > MAX_LIFETIME {
            return None;
        }
        Some(Self {
            sid: sid.to_owned(),
            users,
            accounts,
            issued_before,
            until,
        })
    }

    /// Whether the statement has served its time at `now`.
    pub fn expired(&self, now: u64) -> bool {
        now >= self.until
    }

    /// Whether it denies `user`'s sessions in `account` issued before `issued_before` at least
    /// until `until`.
    pub fn covers(&self, loss: &Loss, issued_before: u64, until: u64) -> bool {
        self.issued_before >= issued_before
            && self.until >= until
            && self.users.contains(&loss.user)
            && self.accounts.contains(&loss.account)
    }
}

/// The expiry a revocation `Sid` carries.
fn sid_until(sid: &str) -> Option<u64> {
    let rest = sid.strip_prefix(SID_PREFIX)?;
    let stamp = rest.get(..16)?;
    let number = &rest[16..];
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let b = stamp.as_bytes();
    if b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &stamp[..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        &stamp[13..15]
    );
    parse_utc(&iso)
}

/// The first `Sid` for expiry `until` that `taken` does not hold.
fn next_sid(until: u64, taken: &BTreeSet<String>) -> String {
    let stamp: String = utc(until).chars().filter(|c| *c != '-' && *c != ':').collect();
    (1..)
        .map(|n| format!("{SID_PREFIX}{stamp}{n}"))
        .find(|sid| !taken.contains(sid))
        .unwrap_or_default()
}

/// A non-empty list of strings (a single string is a list of one).
fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::iam::{ActionPattern, Effect, PolicyDocument, forbidden_grants};

    const T0: u64 = 1_796_480_400; // 2026-12-05T14:20:00Z

    fn account(n: u64) -> AccountId {
        AccountId::parse(&format!("{:012}", 100_000_000_000 + n)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn loss(user: &str, n: u64) -> Loss {
        Loss {
            user: user.to_owned(),
            account: account(n),
        }
    }

    fn pairs(revocations: &[Revocation]) -> BTreeSet<(String, AccountId)> {
        revocations
            .iter()
            .flat_map(|r| {
                r.users
                    .iter()
                    .flat_map(move |u| r.accounts.iter().map(move |a| (u.clone(), a.clone())))
            })
            .collect()
    }

    #[test]
    fn a_statement_reads_back_as_what_was_planned() {
        let planned = Revocation::plan(&[loss("u1", 1)], T0, T0 + 3600, &BTreeSet::new());
        assert_eq!(planned.len(), 1);
        let r = &planned[0];
        assert_eq!(r.sid, "IdcGuardRevoke20261205T152000Z1");
        let text = r.statement();
        assert_eq!(
            text,
            r#"{"Sid":"IdcGuardRevoke20261205T152000Z1","Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"identitystore:userId":["u1"],"aws:PrincipalAccount":["100000000001"]},"DateLessThan":{"aws:TokenIssueTime":"2026-12-05T14:20:00Z"}}}"#
        );
        let value: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(Revocation::from_statement(&value).as_ref(), Some(r));
    }

    #[test]
    fn only_the_exact_shape_is_recognised() {
        let r = &Revocation::plan(&[loss("u1", 1)], T0, T0 + 3600, &BTreeSet::new())[0];
        let good: Value = serde_json::from_str(&r.statement()).unwrap_or_default();
        type Change = Box<dyn Fn(&mut Value)>;
        let variants: Vec<Change> = vec![
            Box::new(|v| v["Effect"] = json!("Allow")),
            Box::new(|v| v["Action"] = json!("iam:*")),
            Box::new(|v| v["Resource"] = json!("arn:aws:s3:::x")),
            Box::new(|v| v["Sid"] = json!("Revoke1")),
            Box::new(|v| v["Sid"] = json!("IdcGuardRevoke20261205T152000Z")),
            Box::new(|v| v["Sid"] = json!("IdcGuardRevoke20261205X152000Z1")),
            Box::new(|v| v["NotAction"] = json!("s3:*")),
            Box::new(|v| v["Condition"]["Bool"] = json!({"aws:SecureTransport": "false"})),
            Box::new(|v| v["Condition"]["StringEquals"]["aws:SourceIp"] = json!("1.2.3.4")),
            Box::new(|v| v["Condition"]["StringEquals"]["identitystore:userId"] = json!([])),
            Box::new(|v| v["Condition"]["StringEquals"]["aws:PrincipalAccount"] = json!(["12"])),
            // Longer than any session plus the margin.
            Box::new(|v| v["Condition"]["DateLessThan"]["aws:TokenIssueTime"] = json!("2026-12-05T02:00:00Z")),
            // Expiring before it starts.
            Box::new(|v| v["Condition"]["DateLessThan"]["aws:TokenIssueTime"] = json!("2026-12-05T16:00:00Z")),
        ];
        for (i, change) in variants.iter().enumerate() {
            let mut v = good.clone();
            change(&mut v);
            assert_eq!(Revocation::from_statement(&v), None, "variant {i}: {v}");
        }
        // A single string is a list of one, as IAM reads it.
        let mut single = good;
        single["Condition"]["StringEquals"]["identitystore:userId"] = json!("u1");
        assert_eq!(Revocation::from_statement(&single).as_ref(), Some(r));
    }

    #[test]
    fn sids_stay_unique_in_a_document() {
        let taken: BTreeSet<String> = ["IdcGuardRevoke20261205T152000Z1".to_owned()].into();
        let planned = Revocation::plan(&[loss("u1", 1), loss("u2", 2)], T0, T0 + 3600, &taken);
        let sids: Vec<&str> = planned.iter().map(|r| r.sid.as_str()).collect();
        assert_eq!(
            sids,
            ["IdcGuardRevoke20261205T152000Z2", "IdcGuardRevoke20261205T152000Z3"]
        );
    }

    #[test]
    fn an_edit_keeps_every_other_statement_exactly() {
        let original = "{ \"Version\" : \"2012-10-17\", \"Id\":\"x\",\n \"Statement\": {\"Sid\" : \"Read\", \"Effect\":\"Allow\",\"Action\":[\"s3:Get*\"],\"Resource\":\"*\"} }";
        let doc = PolicyDocument::parse(original).unwrap_or_else(|e| panic!("{e}"));
        let r = &Revocation::plan(&[loss("u1", 1)], T0, T0 + 3600, &BTreeSet::new())[0];
        let added = doc.edited(|_| false, &[r.statement()]).unwrap_or_default();
        assert_eq!(
            added,
            format!(
                "{{\"Version\":\"2012-10-17\",\"Id\":\"x\",\"Statement\":[{{\"Sid\" : \"Read\", \"Effect\":\"Allow\",\"Action\":[\"s3:Get*\"],\"Resource\":\"*\"}},{}]}}",
                r.statement()
            )
        );
        let again = PolicyDocument::parse(&added).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.revocations(), vec![(1, r.clone())]);
        // Dropping the revocation leaves the original statement, as written.
        let removed = again.edited(|s| Revocation::from_statement(&s.raw).is_some(), &[]);
        assert!(
            removed
                .as_deref()
                .is_some_and(|t| t.contains("{\"Sid\" : \"Read\", \"Effect\""))
        );
        assert_eq!(again.edited(|_| true, &[]), None);
    }

    #[test]
    fn the_quota_counts_bytes_and_non_whitespace_characters() {
        assert!(fits_quota(&"x".repeat(MAX_POLICY_CHARACTERS)).is_ok());
        assert!(fits_quota(&"x".repeat(MAX_POLICY_CHARACTERS + 1)).is_err());
        let spaced = format!("{}{}", "x".repeat(MAX_POLICY_CHARACTERS), " ".repeat(20_000));
        assert!(fits_quota(&spaced).is_ok());
        let e = fits_quota(&format!("x{}", " ".repeat(MAX_POLICY_BYTES))).unwrap_err();
        assert!(e.contains("32768 an inline policy may have"), "{e}");
    }

    fn user_id() -> impl Strategy<Value = String> {
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    }

    proptest! {
        /// Every planned statement is valid IAM, never allows anything, reads back as planned,
        /// and denies exactly the lost (user, account) pairs: no pair more.
        #[test]
        fn planned_statements_deny_exactly_the_losses(
            losses in prop::collection::vec((user_id(), 0u64..6), 1..20),
            lifetime in 1u64..=MAX_LIFETIME,
            issued in 1_600_000_000u64..2_000_000_000,
        ) {
            let losses: Vec<Loss> = losses.into_iter().map(|(u, a)| loss(&u, a)).collect();
            let planned = Revocation::plan(&losses, issued, issued + lifetime, &BTreeSet::new());
            let expected: BTreeSet<(String, AccountId)> =
                losses.iter().map(|l| (l.user.clone(), l.account.clone())).collect();
            prop_assert_eq!(pairs(&planned), expected);
            let texts: Vec<String> = planned.iter().map(Revocation::statement).collect();
            let text = PolicyDocument::text_of(&texts);
            prop_assert!(fits_quota(&text).is_ok() || texts.len() > 10);
            let doc = PolicyDocument::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(doc.statements.iter().all(|s| s.effect == Effect::Deny));
            let everything = [ActionPattern::new("*")];
            prop_assert!(forbidden_grants(&doc, &everything).map_err(|e| TestCaseError::fail(e.to_string()))?.is_empty());
            let read: Vec<Revocation> = doc.revocations().into_iter().map(|(_, r)| r).collect();
            prop_assert_eq!(read, planned);
        }
    }
}
