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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::event::{Body, decode};

    const CREATE: &str =
        include_str!("../../../../events/account-access.CreateEntitlement-group-admin-role-violation.json");
    const DELETE: &str = include_str!("../../../../events/account-access.DeleteEntitlement-compliant.json");
    /// Where the CreateEntitlement's principal and role are.
    const ROLE: &str = "detail.requestParameters.entitlement.principalRole";

    /// The fixture `json` with `edit` applied to its `requestParameters`.
    fn with(json: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut v: Value = serde_json::from_str(json).unwrap();
        edit(&mut v["detail"]["requestParameters"]);
        v.to_string()
    }

    /// The CreateEntitlement fixture with `edit` applied to its `entitlement.principalRole`.
    fn with_role(edit: impl FnOnce(&mut Value)) -> String {
        with(CREATE, |r| edit(&mut r["entitlement"]["principalRole"]))
    }

    #[track_caller]
    fn error(json: &str) -> DecodeError {
        match decode(json) {
            Ok(d) => panic!("decoded: {:?}", d.body),
            Err(e) => e,
        }
    }

    #[test]
    fn the_fixtures_decode() {
        let Body::Change(ChangeKind::EntitlementCreated(e)) = decode(CREATE).unwrap().body else {
            panic!()
        };
        assert_eq!(e.principal_type, PrincipalType::Group);
        // No `account` given: the role ARN's (another account than the record's, as usual).
        assert_eq!(e.account_id.as_str(), "333333333333");
        assert!(matches!(
            decode(DELETE).unwrap().body,
            Body::Change(ChangeKind::EntitlementDeleted { .. })
        ));
    }

    #[test]
    fn a_missing_principal_is_an_error_naming_it() {
        let e = error(&with_role(|r| {
            r.as_object_mut().unwrap().remove("principal");
        }));
        assert_eq!(e.path, ROLE);
        assert!(e.message.contains("missing field `principal`"), "{e}");
        // Present, but naming nobody.
        let e = error(&with_role(|r| r["principal"]["identityCenter"] = json!({})));
        assert_eq!(e.path, format!("{ROLE}.principal.identityCenter"));
        assert!(e.message.contains("exactly one of userId and groupId"), "{e}");
        let e = error(&with_role(|r| r["principal"]["identityCenter"] = json!({"userId": ""})));
        assert_eq!(e.path, format!("{ROLE}.principal.identityCenter"));
        assert!(e.message.contains("empty principal id"), "{e}");
    }

    #[test]
    fn both_a_user_and_a_group_is_an_error() {
        let e = error(&with_role(|r| {
            r["principal"]["identityCenter"]["userId"] = "a2f5c4e8-7011-70d3-9b1e-5c6d7e8f9a0b".into()
        }));
        assert_eq!(e.path, format!("{ROLE}.principal.identityCenter"));
        assert!(e.message.contains("exactly one of userId and groupId"), "{e}");
        // A user alone is a user.
        let user =
            with_role(|r| r["principal"]["identityCenter"] = json!({"userId": "a2f5c4e8-7011-70d3-9b1e-5c6d7e8f9a0b"}));
        assert!(matches!(
            decode(&user).unwrap().body,
            Body::Change(ChangeKind::EntitlementCreated(Entitlement {
                principal_type: PrincipalType::User,
                ..
            }))
        ));
    }

    #[test]
    fn an_account_other_than_the_roles_is_an_error() {
        let e = error(&with_role(|r| r["account"] = "444444444444".into()));
        assert_eq!(e.path, format!("{ROLE}.account"));
        assert_eq!(
            e.message,
            "444444444444 is not the account of arn:aws:iam::333333333333:role/AdministratorAccess"
        );
        let e = error(&with_role(|r| r["account"] = "3333".into()));
        assert_eq!(e.path, format!("{ROLE}.account"));
        assert!(e.message.contains("\"3333\" is not"), "{e}");
        // The role's own account, given, is accepted.
        let same = with_role(|r| r["account"] = "333333333333".into());
        assert!(matches!(decode(&same).unwrap().body, Body::Change(_)));
    }

    #[test]
    fn a_malformed_application_arn_is_an_error_naming_it() {
        for bad in [
            // An Identity Center application, not account access manager's.
            "arn:aws:sso::222222222222:application/ssoins-7223b1c4d5e6f708/apl-0123456789abcdef",
            "arn:aws:account-access:eu-west-1:2222:application/aam-7c1d2e3f4a5b6c7d",
            "",
        ] {
            let e = error(&with(CREATE, |r| r["applicationArn"] = bad.into()));
            assert_eq!(e.path, "detail.requestParameters.applicationArn", "{bad}");
            assert!(
                e.message.contains("is not an account access manager application ARN"),
                "{e}"
            );
        }
        let e = error(&with(DELETE, |r| r["applicationArn"] = "aam-7c1d2e3f4a5b6c7d".into()));
        assert_eq!(e.path, "detail.requestParameters.applicationArn");
    }

    #[test]
    fn a_malformed_role_arn_is_an_error_naming_it() {
        for bad in [
            "arn:aws:iam::333333333333:user/Bob",
            "arn:aws:iam::333333333333:role/",
            "arn:aws:iam::333333333333:role/Admin Access",
            "AdministratorAccess",
        ] {
            let e = error(&with_role(|r| r["roleArn"] = bad.into()));
            assert_eq!(e.path, format!("{ROLE}.roleArn"), "{bad}");
            assert!(e.message.contains("is not an IAM role ARN"), "{e}");
        }
        let e = error(&with_role(|r| {
            r.as_object_mut().unwrap().remove("roleArn");
        }));
        assert_eq!(e.path, ROLE);
        assert!(e.message.contains("missing field `roleArn`"), "{e}");
    }

    #[test]
    fn a_deletion_without_its_entitlement_id_is_an_error_naming_it() {
        let e = error(&with(DELETE, |r| {
            r.as_object_mut().unwrap().remove("entitlementId");
        }));
        assert_eq!(e.path, "detail.requestParameters");
        assert!(e.message.contains("missing field `entitlementId`"), "{e}");
        for bad in [json!(""), json!("ent 1"), json!(null), json!(7)] {
            let e = error(&with(DELETE, |r| r["entitlementId"] = bad.clone()));
            assert_eq!(e.path, "detail.requestParameters.entitlementId", "{bad}");
        }
        let e = error(&with(DELETE, |r| r["entitlementId"] = "".into()));
        assert!(e.message.contains("is not an entitlement id"), "{e}");
    }

    #[test]
    fn a_malformed_entitlement_id_in_the_response_is_an_error_naming_it() {
        let mut v: Value = serde_json::from_str(CREATE).unwrap();
        v["detail"]["responseElements"]["entitlementId"] = "ent 1".into();
        let e = error(&v.to_string());
        assert_eq!(e.path, "detail.responseElements.entitlementId");
        assert!(e.message.contains("is not an entitlement id"), "{e}");
    }
}
