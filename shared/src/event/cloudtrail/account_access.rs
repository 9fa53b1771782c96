//! Account access manager's events (`account-access.amazonaws.com`, issue #19) and sso-admin's
//! application access scopes.
//!
//! No CloudTrail record of account access manager has been published: the shapes below are the
//! API's request and response members (restJson1, already lowerCamelCase, as CloudTrail writes
//! every other service's), from the `aws-sdk-accountaccess` 1.15.0 model
//! (`operation/create_entitlement`, `delete_entitlement`, `types/_principal_role_entitlement.rs`,
//! `types/_identity_center_principal.rs`). docs/reference/access-paths.md §1.8 says what is
//! unconfirmed. The fixtures in `events/` that use them are marked as reconstructed.

use serde::Deserialize;

use super::Params;
use crate::domain::{
    AccessApplicationArn, AccessScopeOp, AccountId, ApplicationArn, ChangeKind, Entitlement, EntitlementId,
    PrincipalType, RoleArn,
};
use crate::event::DecodeError;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateEntitlementParams {
    application_arn: String,
    entitlement: EntitlementParams,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntitlementParams {
    principal_role: PrincipalRoleParams,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrincipalRoleParams {
    principal: PrincipalParams,
    role_arn: String,
    /// Optional on input: the role's account.
    account: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrincipalParams {
    identity_center: IdentityCenterPrincipal,
}

/// A union: exactly one of the two.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentityCenterPrincipal {
    user_id: Option<String>,
    group_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateEntitlementResponse {
    entitlement_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteEntitlementParams {
    application_arn: String,
    entitlement_id: String,
}

/// Decodes an account access manager event; `None` for names idc-guard does not handle.
pub(super) fn account_access(name: &str, p: &Params<'_>) -> Result<Option<ChangeKind>, DecodeError> {
    Ok(Some(match name {
        "CreateEntitlement" => {
            let r: CreateEntitlementParams = p.request()?;
            let response: CreateEntitlementResponse = p.response()?;
            let role = r.entitlement.principal_role;
            let at = |field: &str| p.path("requestParameters", &format!("entitlement.principalRole.{field}"));
            let (principal_type, principal_id) = match (
                role.principal.identity_center.user_id,
                role.principal.identity_center.group_id,
            ) {
                (Some(user), None) => (PrincipalType::User, user),
                (None, Some(group)) => (PrincipalType::Group, group),
                _ => {
                    return Err(DecodeError::new(
                        at("principal.identityCenter"),
                        "expected exactly one of userId and groupId",
                    ));
                }
            };
            if principal_id.is_empty() {
                return Err(DecodeError::new(
                    at("principal.identityCenter"),
                    "an empty principal id",
                ));
            }
            let role_arn =
                RoleArn::parse(&role.role_arn).map_err(|e| DecodeError::new(at("roleArn"), e.to_string()))?;
            let account = role.account.unwrap_or_else(|| role_arn.account().to_owned());
            let account_id = AccountId::parse(&account).map_err(|e| DecodeError::new(at("account"), e.to_string()))?;
            if account_id.as_str() != role_arn.account() {
                return Err(DecodeError::new(
                    at("account"),
                    format!("{account_id} is not the account of {role_arn}"),
                ));
            }
            let entitlement_id = match response.entitlement_id {
                Some(id) => Some(
                    EntitlementId::parse(&id)
                        .map_err(|e| DecodeError::new(p.path("responseElements", "entitlementId"), e.to_string()))?,
                ),
                None => None,
            };
            ChangeKind::EntitlementCreated(Entitlement {
                application_arn: p.id("applicationArn", &r.application_arn, AccessApplicationArn::parse)?,
                entitlement_id,
                principal_type,
                principal_id,
                role_arn,
                account_id,
            })
        }
        "DeleteEntitlement" => {
            let r: DeleteEntitlementParams = p.request()?;
            ChangeKind::EntitlementDeleted {
                application_arn: p.id("applicationArn", &r.application_arn, AccessApplicationArn::parse)?,
                entitlement_id: p.id("entitlementId", &r.entitlement_id, EntitlementId::parse)?,
            }
        }
        _ => return Ok(None),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessScopeParams {
    application_arn: String,
    scope: String,
    #[serde(default)]
    authorized_targets: Option<Vec<String>>,
}

/// PutApplicationAccessScope and DeleteApplicationAccessScope (sso-admin; `aws-sdk-ssoadmin`
/// 1.125.0 `operation/put_application_access_scope`: `ApplicationArn`, `Scope`,
/// `AuthorizedTargets`).
pub(super) fn access_scope(name: &str, p: &Params<'_>) -> Result<ChangeKind, DecodeError> {
    let r: AccessScopeParams = p.request()?;
    if r.scope.is_empty() {
        return Err(DecodeError::new(p.path("requestParameters", "scope"), "empty"));
    }
    Ok(ChangeKind::AccessScope {
        application_arn: p.id("applicationArn", &r.application_arn, ApplicationArn::parse)?,
        scope: r.scope,
        op: if name == "DeleteApplicationAccessScope" {
            AccessScopeOp::Deleted
        } else {
            AccessScopeOp::Put {
                authorized_targets: r.authorized_targets.unwrap_or_default(),
            }
        },
    })
}
