//! Account access manager (`aws-sdk-accountaccess`, issue #19) and sso-admin's application
//! access scopes, for [`IdentityCenter`](crate::ports::IdentityCenter)'s methods of the access
//! paths outside permission sets. Shapes: the `aws-sdk-accountaccess` 1.15.0 model
//! (`operation/get_entitlement`, `list_entitlements`, `list_applications`, `delete_entitlement`;
//! `types/_entitlements_list_member.rs`, `_principal_role_entitlement_details.rs`).

use aws_sdk_accountaccess::Error;
use aws_sdk_accountaccess::types::{
    EntitlementDetails, EntitlementFilter, EntitlementSummary, IdentityCenterPrincipal, IdentityCenterPrincipalFilter,
    Principal, PrincipalFilter, PrincipalRoleEntitlement, PrincipalRoleEntitlementFilter,
};

use super::sso_admin::SsoAdmin;
use super::{attempt, found, listed, retried, unexpected};
use crate::domain::{
    AccessApplicationArn, AccountId, ApplicationArn, Entitlement, EntitlementId, PrincipalType, RoleArn,
};
use crate::ports::{FailureKind, Remote, RemoteError};

/// How account access manager's modeled errors are classified.
pub(super) fn classify(e: &Error) -> Option<FailureKind> {
    match e {
        Error::ThrottlingException(_) | Error::InternalServerException(_) => Some(FailureKind::Throttled),
        Error::ConflictException(_) => Some(FailureKind::Conflict),
        Error::ResourceNotFoundException(_) => Some(FailureKind::NotFound),
        Error::AccessDeniedException(_) => Some(FailureKind::AccessDenied),
        Error::ValidationException(_) | Error::ServiceQuotaExceededException(_) | Error::AlreadyCreatedException(_) => {
            Some(FailureKind::Rejected)
        }
        _ => None,
    }
}

/// The answer when the adapter was built without an account access manager client: the
/// entitlements are not visible, which is not "there are none".
fn not_configured(operation: &'static str) -> RemoteError {
    RemoteError::new(
        operation,
        FailureKind::Rejected,
        "no account access manager client: entitlements are not visible to this process",
    )
}

/// An entitlement's principal, role and account, from the SDK's union shapes.
fn grant(
    operation: &'static str,
    application: &AccessApplicationArn,
    id: &str,
    principal: Option<&Principal>,
    role_arn: &str,
    account: &str,
) -> Remote<Entitlement> {
    let (principal_type, principal_id) = match principal {
        Some(Principal::IdentityCenter(IdentityCenterPrincipal::UserId(id))) => (PrincipalType::User, id.clone()),
        Some(Principal::IdentityCenter(IdentityCenterPrincipal::GroupId(id))) => (PrincipalType::Group, id.clone()),
        _ => {
            return Err(unexpected(
                operation,
                "an entitlement whose principal is not a user or group",
            ));
        }
    };
    Ok(Entitlement {
        application_arn: application.clone(),
        entitlement_id: Some(EntitlementId::parse(id).map_err(|e| unexpected(operation, &e.to_string()))?),
        principal_type,
        principal_id,
        role_arn: RoleArn::parse(role_arn).map_err(|e| unexpected(operation, &e.to_string()))?,
        account_id: AccountId::parse(account).map_err(|e| unexpected(operation, &e.to_string()))?,
    })
}

impl SsoAdmin {
    fn account_access(&self, operation: &'static str) -> Remote<&aws_sdk_accountaccess::Client> {
        self.account_access_client().ok_or_else(|| not_configured(operation))
    }

    /// GetEntitlement; `None` when it does not exist.
    pub(super) async fn get_entitlement(
        &self,
        application: &AccessApplicationArn,
        id: &EntitlementId,
    ) -> Remote<Option<Entitlement>> {
        const OP: &str = "GetEntitlement";
        let client = self.account_access(OP)?;
        let out = found(
            retried(self.retry(), self.pacer(), classify, OP, || {
                client
                    .get_entitlement()
                    .application_arn(application.as_str())
                    .entitlement_id(id.as_str())
                    .send()
            })
            .await,
        )?;
        let Some(out) = out else { return Ok(None) };
        match &out.entitlement {
            Some(EntitlementDetails::PrincipalRole(d)) => grant(
                OP,
                application,
                &out.entitlement_id,
                d.principal.as_ref(),
                &d.role_arn,
                &d.account,
            )
            .map(Some),
            _ => Err(unexpected(
                OP,
                "an entitlement that is not a principal-role entitlement",
            )),
        }
    }

    /// ListEntitlements, all pages; with `filter`, only its principal, role and account.
    pub(super) async fn list_entitlements(
        &self,
        application: &AccessApplicationArn,
        filter: Option<&Entitlement>,
    ) -> Remote<Vec<Entitlement>> {
        const OP: &str = "ListEntitlements";
        let client = self.account_access(OP)?;
        // The filter is required; a principal-role filter that names nothing matches every
        // entitlement (the API reference, API_PrincipalRoleEntitlementFilter: all criteria given
        // must match).
        let mut criteria = PrincipalRoleEntitlementFilter::builder();
        if let Some(f) = filter {
            let principal = match f.principal_type {
                PrincipalType::User => IdentityCenterPrincipalFilter::UserId(f.principal_id.clone()),
                PrincipalType::Group => IdentityCenterPrincipalFilter::GroupId(f.principal_id.clone()),
            };
            criteria = criteria
                .principal(PrincipalFilter::IdentityCenter(principal))
                .role_arn(f.role_arn.as_str())
                .account(f.account_id.as_str());
        }
        let filter = EntitlementFilter::builder().principal_role(criteria.build()).build();
        listed(self.retry(), |token| {
            let filter = filter.clone();
            async move {
                let page = attempt(
                    self.pacer(),
                    classify,
                    OP,
                    client
                        .list_entitlements()
                        .application_arn(application.as_str())
                        .filter(filter)
                        .max_results(100)
                        .set_next_token(token)
                        .send(),
                )
                .await?;
                let rows = page
                    .entitlements
                    .iter()
                    .map(|m| match &m.entitlement {
                        Some(EntitlementSummary::PrincipalRole(s)) => grant(
                            OP,
                            application,
                            &m.entitlement_id,
                            s.principal.as_ref(),
                            &s.role_arn,
                            &s.account,
                        ),
                        _ => Err(unexpected(
                            OP,
                            "an entitlement that is not a principal-role entitlement",
                        )),
                    })
                    .collect::<Remote<Vec<_>>>()?;
                Ok((rows, page.next_token))
            }
        })
        .await
    }

    /// ListApplications of account access manager, all pages.
    pub(super) async fn list_access_applications(&self) -> Remote<Vec<AccessApplicationArn>> {
        const OP: &str = "ListApplications";
        let client = self.account_access(OP)?;
        listed(self.retry(), |token| async move {
            let page = attempt(
                self.pacer(),
                classify,
                OP,
                client.list_applications().set_next_token(token).send(),
            )
            .await?;
            let rows = page
                .applications
                .iter()
                .map(|a| AccessApplicationArn::parse(&a.application_arn).map_err(|e| unexpected(OP, &e.to_string())))
                .collect::<Remote<Vec<_>>>()?;
            Ok((rows, page.next_token))
        })
        .await
    }

    /// CreateEntitlement: the principal may assume the role (whose account is the role's: the
    /// input has no account member). Idempotent ("This operation is idempotent", API
    /// reference), so a retried attempt answers the same entitlement.
    pub(super) async fn add_entitlement(&self, entitlement: &Entitlement) -> Remote<EntitlementId> {
        const OP: &str = "CreateEntitlement";
        let client = self.account_access(OP)?;
        let principal = Principal::IdentityCenter(match entitlement.principal_type {
            PrincipalType::User => IdentityCenterPrincipal::UserId(entitlement.principal_id.clone()),
            PrincipalType::Group => IdentityCenterPrincipal::GroupId(entitlement.principal_id.clone()),
        });
        let grant = PrincipalRoleEntitlement::builder()
            .principal(principal)
            .role_arn(entitlement.role_arn.as_str())
            .build()
            .map_err(|e| unexpected(OP, &e.to_string()))?;
        let out = retried(self.retry(), self.pacer(), classify, OP, || {
            client
                .create_entitlement()
                .application_arn(entitlement.application_arn.as_str())
                .entitlement(aws_sdk_accountaccess::types::Entitlement::PrincipalRole(grant.clone()))
                .send()
        })
        .await?;
        EntitlementId::parse(out.entitlement_id()).map_err(|e| unexpected(OP, &e.to_string()))
    }

    /// DeleteEntitlement.
    pub(super) async fn remove_entitlement(
        &self,
        application: &AccessApplicationArn,
        id: &EntitlementId,
    ) -> Remote<()> {
        const OP: &str = "DeleteEntitlement";
        let client = self.account_access(OP)?;
        retried(self.retry(), self.pacer(), classify, OP, || {
            client
                .delete_entitlement()
                .application_arn(application.as_str())
                .entitlement_id(id.as_str())
                .send()
        })
        .await
        .map(|_| ())
    }

    /// GetApplicationAccessScope; `None` when the application does not hold the scope (or is
    /// gone: ResourceNotFoundException either way).
    pub(super) async fn get_access_scope(
        &self,
        application: &ApplicationArn,
        scope: &str,
    ) -> Remote<Option<Vec<String>>> {
        const OP: &str = "GetApplicationAccessScope";
        let out = found(
            retried(self.retry(), self.pacer(), super::sso_admin::classify, OP, || {
                self.client()
                    .get_application_access_scope()
                    .application_arn(application.as_str())
                    .scope(scope)
                    .send()
            })
            .await,
        )?;
        Ok(out.map(|o| o.authorized_targets.unwrap_or_default()))
    }

    /// ListApplications of sso-admin: the instance's applications, all pages, with their names.
    pub(super) async fn list_instance_applications(
        &self,
        instance: &crate::domain::InstanceArn,
    ) -> Remote<Vec<(ApplicationArn, Option<String>)>> {
        const OP: &str = "ListApplications";
        listed(self.retry(), |token| async move {
            let page = attempt(
                self.pacer(),
                super::sso_admin::classify,
                OP,
                self.client()
                    .list_applications()
                    .instance_arn(instance.as_str())
                    .max_results(100)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            let rows = page
                .applications
                .unwrap_or_default()
                .into_iter()
                .map(|a| {
                    let arn = a
                        .application_arn
                        .ok_or_else(|| unexpected(OP, "an application without an ARN"))?;
                    let arn = ApplicationArn::parse(&arn).map_err(|e| unexpected(OP, &e.to_string()))?;
                    Ok((arn, a.name))
                })
                .collect::<Remote<Vec<_>>>()?;
            Ok((rows, page.next_token))
        })
        .await
    }

    /// DescribeApplication's name; `None` when the application is gone or has none.
    pub(super) async fn describe_application_name(&self, application: &ApplicationArn) -> Remote<Option<String>> {
        const OP: &str = "DescribeApplication";
        let out = found(
            retried(self.retry(), self.pacer(), super::sso_admin::classify, OP, || {
                self.client()
                    .describe_application()
                    .application_arn(application.as_str())
                    .send()
            })
            .await,
        )?;
        Ok(out.and_then(|o| o.name))
    }

    /// DeleteApplicationAccessScope.
    pub(super) async fn remove_access_scope(&self, application: &ApplicationArn, scope: &str) -> Remote<()> {
        const OP: &str = "DeleteApplicationAccessScope";
        retried(self.retry(), self.pacer(), super::sso_admin::classify, OP, || {
            self.client()
                .delete_application_access_scope()
                .application_arn(application.as_str())
                .scope(scope)
                .send()
        })
        .await
        .map(|_| ())
    }
}
