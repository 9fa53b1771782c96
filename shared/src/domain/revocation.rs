//! Revocations of live role sessions, as data: what idc-guard denied, to whom, where and until
//! when, and what became of it. The statements themselves are written and recognised by
//! `crate::iam::revocation`; they are made by `crate::revocation`.

use serde::Serialize;

use super::finding::RuleId;
use super::ids::{AccountId, PermissionSetArn};
use super::time::utc;

/// The id of the finding a failed revocation raises (stable, like the rules' ids; not a rule:
/// it judges nothing, it reports idc-guard's own failure to end sessions).
pub const REVOCATION_FAILED: RuleId = RuleId::new("revocation-failed");

/// The id of an operator's revocation on request, as the gate counts it (breaker, flap limit).
pub const SESSION_REVOCATION: RuleId = RuleId::new("session-revocation");

/// One revocation statement: role sessions of `users` in `accounts` issued before
/// `issued_before` are denied everything until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Revocation {
    /// Its `Sid`: `IdcGuardRevoke`, the expiry (`YYYYMMDDTHHMMSSZ`) and a number that keeps it
    /// unique in its document.
    pub sid: String,
    /// Identity store user ids, sorted.
    pub users: Vec<String>,
    /// Accounts, sorted.
    pub accounts: Vec<AccountId>,
    /// Sessions issued before this time (Unix seconds) are denied.
    pub issued_before: u64,
    /// When the statement is removed (Unix seconds).
    pub until: u64,
}

impl Serialize for Revocation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Revocation", 5)?;
        s.serialize_field("sid", &self.sid)?;
        s.serialize_field("users", &self.users)?;
        s.serialize_field("accounts", &self.accounts)?;
        s.serialize_field("issued_before", &utc(self.issued_before))?;
        s.serialize_field("until", &utc(self.until))?;
        s.end()
    }
}

/// A user's loss of a permission set in an account, to be revoked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loss {
    /// The identity store user id.
    pub user: String,
    /// The account.
    pub account: AccountId,
}

/// What became of the revocations in one permission set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum RevocationStatus {
    /// Written, read back and provisioned to the accounts.
    Revoked,
    /// Detect mode: what would be revoked; nothing written.
    WouldRevoke,
    /// Expired statements removed and the accounts re-provisioned.
    Expired,
    /// Lifted early on request.
    Lifted,
    /// Not done: the gate withheld it (kill switch, breaker, flap limit), why.
    Withheld {
        /// Why.
        reason: String,
    },
    /// Not done, or not wholly: why (nothing partial is written to the policy).
    Failed {
        /// Why.
        reason: String,
    },
}

/// The revocations made (or planned, or failed) in one permission set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevocationReport {
    /// The permission set (`None` when the removal's reads failed before any set was known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_set_arn: Option<PermissionSetArn>,
    /// Its name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_set_name: Option<String>,
    /// The statements added (or, for `expired` and `lifted`, removed).
    pub statements: Vec<Revocation>,
    /// What became of them.
    #[serde(flatten)]
    pub status: RevocationStatus,
}

impl RevocationReport {
    /// One line for people: who, where, until when, and what happened.
    pub fn summary(&self) -> String {
        let set = match (&self.permission_set_name, &self.permission_set_arn) {
            (Some(name), _) => name.clone(),
            (None, Some(arn)) => arn.to_string(),
            (None, None) => "the sets the removal touched".to_owned(),
        };
        let what: Vec<String> = self
            .statements
            .iter()
            .map(|r| {
                format!(
                    "user(s) {} in account(s) {}: sessions issued before {} denied until {}",
                    r.users.join(", "),
                    r.accounts.iter().map(AccountId::as_str).collect::<Vec<_>>().join(", "),
                    utc(r.issued_before),
                    utc(r.until)
                )
            })
            .collect();
        let what = what.join("; ");
        match &self.status {
            RevocationStatus::Revoked => format!("Live sessions revoked in {set}: {what}."),
            RevocationStatus::WouldRevoke => format!("Would revoke live sessions in {set} (detect): {what}."),
            RevocationStatus::Expired => format!("Expired revocations removed from {set}: {what}."),
            RevocationStatus::Lifted => format!("Revocations lifted in {set}: {what}."),
            RevocationStatus::Withheld { reason } => format!("Not revoked in {set} ({reason}); planned: {what}."),
            RevocationStatus::Failed { reason } => {
                format!("Revoking live sessions in {set} failed ({reason}); planned: {what}.")
            }
        }
    }
}
