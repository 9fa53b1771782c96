//! Access to accounts outside permission sets (issue #19): account access manager's
//! entitlements, and the `sso:account:access` scope of customer managed applications.
//!
//! Facts and their sources: `docs/reference/access-paths.md` §1 and §2.

use serde::Serialize;

use super::finding::{Resource, ResourceKind};
use super::ids::{AccessApplicationArn, AccountId, EntitlementId, RoleArn};
use super::model::PrincipalType;

/// The access scope that lets a customer managed application obtain role credentials as its
/// user (IAM Identity Center user guide, "enable-account-access-customer-managed-apps").
pub const ACCOUNT_ACCESS_SCOPE: &str = "sso:account:access";

/// An entitlement: one Identity Center user or group may assume one existing IAM role in one
/// account, through account access manager. Entitlements are immutable (the API has no update):
/// a change is a deletion and a creation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Entitlement {
    /// The account access manager application that holds it.
    pub application_arn: AccessApplicationArn,
    /// Its id: `None` when a CloudTrail record did not carry it (the guard then finds it by
    /// principal, role and account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entitlement_id: Option<EntitlementId>,
    /// USER or GROUP.
    pub principal_type: PrincipalType,
    /// The user's or group's id in the identity store.
    pub principal_id: String,
    /// The role it may assume.
    pub role_arn: RoleArn,
    /// The role's account.
    pub account_id: AccountId,
}

impl Entitlement {
    /// How findings and the journal name it: its id when known, else what it grants.
    pub fn resource_id(&self) -> String {
        match &self.entitlement_id {
            Some(id) => format!("{}/entitlement/{id}", self.application_arn),
            None => format!(
                "{}/entitlement/{}:{}:{}",
                self.application_arn, self.principal_type, self.principal_id, self.role_arn
            ),
        }
    }

    /// The resource findings name: the entitlement, with its account and principal.
    pub fn resource(&self) -> Resource {
        let mut r = Resource::new(ResourceKind::Entitlement, self.resource_id());
        r.account_id = Some(self.account_id.to_string());
        r.principal_id = Some(self.principal_id.clone());
        r.role_arn = Some(self.role_arn.to_string());
        r
    }

    /// What it grants, in words: "GROUP g-1 may assume arn:…:role/X in 111111111111".
    pub fn describe(&self) -> String {
        format!(
            "{} {} may assume {} in account {}",
            self.principal_type, self.principal_id, self.role_arn, self.account_id
        )
    }

    /// The same grant, whatever the ids say (an entitlement re-created gets a new id).
    pub fn same_grant(&self, other: &Entitlement) -> bool {
        self.application_arn == other.application_arn
            && self.principal_type == other.principal_type
            && self.principal_id == other.principal_id
            && self.role_arn == other.role_arn
            && self.account_id == other.account_id
    }
}

/// A change to a customer managed application's access scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AccessScopeOp {
    /// PutApplicationAccessScope: the scope added, or its targets replaced.
    Put {
        /// The applications it is authorised for (empty: not restricted by the call).
        authorized_targets: Vec<String>,
    },
    /// DeleteApplicationAccessScope.
    Deleted,
}
