//! Classifies CloudTrail's `userIdentity` into an [`Actor`].

use serde::Deserialize;

use crate::domain::{Actor, EventSource};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct UserIdentity {
    #[serde(rename = "type")]
    kind: Option<String>,
    arn: Option<String>,
    account_id: Option<String>,
    user_name: Option<String>,
    invoked_by: Option<String>,
    session_context: Option<SessionContext>,
    on_behalf_of: Option<OnBehalfOf>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SessionContext {
    session_issuer: Option<SessionIssuer>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer {
    arn: Option<String>,
    user_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct OnBehalfOf {
    user_id: Option<String>,
    identity_store_arn: Option<String>,
}

const SSO_ROLE_PREFIX: &str = "AWSReservedSSO_";

/// `AWSReservedSSO_<PermissionSetName>_<hash>` → `<PermissionSetName>`.
fn permission_set_of_sso_role(role_name: &str) -> Option<String> {
    let rest = role_name.strip_prefix(SSO_ROLE_PREFIX)?;
    let (name, hash) = rest.rsplit_once('_')?;
    (!name.is_empty() && !hash.is_empty()).then(|| name.to_owned())
}

/// The session name of `arn:aws:sts::123:assumed-role/<role>/<session>`.
fn session_of(assumed_role_arn: Option<&str>) -> Option<String> {
    let arn = assumed_role_arn?;
    let rest = arn.split_once(":assumed-role/")?.1;
    rest.split_once('/').map(|(_, s)| s.to_owned())
}

impl UserIdentity {
    pub(super) fn classify(self, source: Option<&EventSource>) -> Actor {
        if source == Some(&EventSource::Scim) {
            return Actor::Scim;
        }
        let kind = self.kind.unwrap_or_default();
        let (user_id, identity_store_arn) = self
            .on_behalf_of
            .map(|o| (o.user_id, o.identity_store_arn))
            .unwrap_or_default();
        match kind.as_str() {
            "Root" => Actor::Root {
                account: self.account_id.unwrap_or_default(),
            },
            "IAMUser" => {
                let arn = self.arn.unwrap_or_default();
                let name = self
                    .user_name
                    .or_else(|| arn.rsplit('/').next().map(str::to_owned))
                    .unwrap_or_default();
                Actor::IamUser { arn, name }
            }
            "AssumedRole" => {
                let issuer = self.session_context.and_then(|c| c.session_issuer).unwrap_or_default();
                let role_arn = issuer.arn.unwrap_or_default();
                let role_name = issuer
                    .user_name
                    .or_else(|| role_arn.rsplit('/').next().map(str::to_owned))
                    .unwrap_or_default();
                let session = session_of(self.arn.as_deref());
                if let Some(permission_set) = permission_set_of_sso_role(&role_name) {
                    return Actor::IdentityCenterUser {
                        permission_set: Some(permission_set),
                        session,
                        user_id,
                        identity_store_arn,
                        account: self.account_id,
                    };
                }
                if let Some(service) = role_arn
                    .split_once(":role/aws-service-role/")
                    .and_then(|(_, rest)| rest.split('/').next())
                {
                    return Actor::AwsService {
                        service: service.to_owned(),
                    };
                }
                Actor::IamRole {
                    role_arn,
                    role_name,
                    session,
                }
            }
            "IdentityCenterUser" => Actor::IdentityCenterUser {
                permission_set: None,
                session: None,
                user_id,
                identity_store_arn,
                account: self.account_id,
            },
            "AWSService" => Actor::AwsService {
                service: self.invoked_by.unwrap_or_default(),
            },
            _ => match self.invoked_by {
                Some(service) => Actor::AwsService { service },
                None => Actor::Unknown { identity_type: kind },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sso_role_names_yield_the_permission_set() {
        assert_eq!(
            permission_set_of_sso_role("AWSReservedSSO_PlatformEngineer_0123456789abcdef").as_deref(),
            Some("PlatformEngineer")
        );
        assert_eq!(
            permission_set_of_sso_role("AWSReservedSSO_Data_Eng_0123").as_deref(),
            Some("Data_Eng")
        );
        assert_eq!(permission_set_of_sso_role("AWSReservedSSO_"), None);
        assert_eq!(permission_set_of_sso_role("terraform"), None);
    }

    #[test]
    fn session_names_come_from_the_assumed_role_arn() {
        assert_eq!(
            session_of(Some(
                "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_X_1/alice@example.com"
            ))
            .as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(session_of(Some("arn:aws:iam::222222222222:user/bob")), None);
    }
}
