//! Identity Center's asynchronous operations: an assignment's creation or deletion, and a
//! permission set's provisioning. The call answers at once with a request id and `IN_PROGRESS`;
//! the work (creating the role in the member account, attaching its policies) happens after, and
//! can fail there, for example when a customer managed policy the set references does not exist
//! in that account. Only the status calls tell (sso-admin API reference:
//! `DescribeAccountAssignmentCreationStatus`, `DescribeAccountAssignmentDeletionStatus`,
//! `DescribePermissionSetProvisioningStatus`, and their `List…` forms filtered by status).

use std::fmt;

use serde::Serialize;

use super::ids::{AccountId, PermissionSetArn};
use super::model::{Change, ChangeKind, PermissionSetOp};

/// Which kind of asynchronous operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    /// CreateAccountAssignment.
    AssignmentCreation,
    /// DeleteAccountAssignment.
    AssignmentDeletion,
    /// ProvisionPermissionSet (and the provisioning an assignment's creation does).
    Provisioning,
}

impl OperationKind {
    /// The call that starts it.
    pub fn call(self) -> &'static str {
        match self {
            Self::AssignmentCreation => "CreateAccountAssignment",
            Self::AssignmentDeletion => "DeleteAccountAssignment",
            Self::Provisioning => "ProvisionPermissionSet",
        }
    }

    /// What it does, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Self::AssignmentCreation => "assignment creation",
            Self::AssignmentDeletion => "assignment deletion",
            Self::Provisioning => "provisioning",
        }
    }
}

impl fmt::Display for OperationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// An operation's state (the API's `StatusValues`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperationState {
    /// `IN_PROGRESS`.
    InProgress,
    /// `SUCCEEDED`.
    Succeeded,
    /// `FAILED`.
    Failed,
}

impl OperationState {
    /// The API's spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "IN_PROGRESS" => Some(Self::InProgress),
            "SUCCEEDED" => Some(Self::Succeeded),
            "FAILED" => Some(Self::Failed),
            _ => None,
        }
    }

    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "IN_PROGRESS",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
        }
    }
}

/// The operation a call started, as its CloudTrail record's response shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartedOperation {
    /// What it is.
    pub kind: OperationKind,
    /// The request id the status calls take.
    pub request_id: String,
    /// Its state when the call answered (usually `IN_PROGRESS`).
    pub state: OperationState,
    /// AWS's reason, when it had already failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

/// An operation's status as a status call reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationStatus {
    /// What it is.
    pub kind: OperationKind,
    /// Its request id.
    pub request_id: String,
    /// Its state.
    pub state: OperationState,
    /// AWS's reason for a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// The target account, when the status names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountId>,
    /// The permission set, when the status names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_set_arn: Option<PermissionSetArn>,
    /// When it was requested (Unix seconds), when the status says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
}

impl OperationStatus {
    /// One line for people: what failed where, and AWS's reason.
    pub fn summary(&self) -> String {
        let mut text = format!("{} {}", self.kind.describe(), self.request_id);
        if let Some(account) = &self.account_id {
            text.push_str(&format!(" in account {account}"));
        }
        text.push_str(&format!(": {}", self.state.as_str()));
        if let Some(reason) = &self.failure_reason {
            text.push_str(&format!(" ({reason})"));
        }
        text
    }
}

impl Change {
    /// The status of the operation this change started, in `state`, with the account and the set
    /// the change names (an assignment's; a provisioning's set, and its account unless it
    /// targeted every provisioned account). `None` when it started none.
    pub fn operation_status(&self, state: OperationState) -> Option<OperationStatus> {
        let started = self.meta.operation.as_ref()?;
        let (account_id, permission_set_arn) = match &self.kind {
            ChangeKind::AssignmentCreated(a) | ChangeKind::AssignmentDeleted(a) => {
                (Some(a.account_id.clone()), Some(a.permission_set_arn.clone()))
            }
            ChangeKind::PermissionSet {
                permission_set_arn,
                op: PermissionSetOp::Provisioned { account_id },
                ..
            } => (account_id.clone(), Some(permission_set_arn.clone())),
            _ => (None, None),
        };
        Some(OperationStatus {
            kind: started.kind,
            request_id: started.request_id.clone(),
            state,
            failure_reason: started.failure_reason.clone(),
            account_id,
            permission_set_arn,
            created: None,
        })
    }
}
