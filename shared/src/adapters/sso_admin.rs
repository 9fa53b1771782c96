//! [`IdentityCenter`] over the sso-admin API.

use aws_sdk_ssoadmin::Error;
use aws_sdk_ssoadmin::types::{
    AccessControlAttribute, AccessControlAttributeValue, CustomerManagedPolicyReference,
    InstanceAccessControlAttributeConfiguration, InstanceAccessControlAttributeConfigurationStatus,
    PermissionsBoundary, PrincipalType as SdkPrincipalType, ProvisionTargetType, ResourceNotFoundExceptionReason,
    StatusValues, TargetType,
};

use super::{attempt, found, listed, rejected, retried, unexpected};
use crate::domain::{
    AbacAttribute, Assignment, Boundary, CustomerManagedPolicyRef, InlinePolicyText, PrincipalType, SessionDuration,
};
use crate::domain::{AccountId, IdentityStoreId, InstanceArn, PermissionSetArn};
use crate::domain::{Fact, PermissionSetFacts};
use crate::ports::{FailureKind, IdentityCenter, InstanceInventory, InstanceRef, Remote};
use crate::retry::{AsyncStatus, RetryPolicy, poll};

/// IAM Identity Center's admin API through the AWS SDK.
#[derive(Debug, Clone)]
pub struct SsoAdmin {
    client: aws_sdk_ssoadmin::Client,
    retry: RetryPolicy,
    pacer: Option<std::sync::Arc<crate::pace::Pacer>>,
    /// The instances, once listed (they do not change while a process runs).
    instances: std::sync::Arc<tokio::sync::OnceCell<Vec<InstanceRef>>>,
    /// Account access manager's client (issue #19): its entitlements are part of Identity
    /// Center's access, so this adapter speaks for both services.
    account_access: Option<aws_sdk_accountaccess::Client>,
}

impl SsoAdmin {
    /// The pacer, if requests are paced.
    pub(super) fn pacer(&self) -> Option<&crate::pace::Pacer> {
        self.pacer.as_deref()
    }

    /// The retry policy.
    pub(super) fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The SDK client.
    pub(super) fn client(&self) -> &aws_sdk_ssoadmin::Client {
        &self.client
    }

    /// An adapter over `client`, retrying and polling as `retry` says.
    pub fn new(client: aws_sdk_ssoadmin::Client, retry: RetryPolicy) -> Self {
        Self {
            client,
            retry,
            pacer: None,
            instances: std::sync::Arc::default(),
            account_access: None,
        }
    }

    /// The same adapter, with account access manager's client. Its requests are retried like
    /// sso-admin's and take tokens from the same pacer: conservative, since account access
    /// manager has a collective 20 requests per second of its own (IAM user guide, `aam-quotas`).
    #[must_use]
    pub fn with_account_access(mut self, client: aws_sdk_accountaccess::Client) -> Self {
        self.account_access = Some(client);
        self
    }

    /// Account access manager's client, if it was given one.
    pub(super) fn account_access_client(&self) -> Option<&aws_sdk_accountaccess::Client> {
        self.account_access.as_ref()
    }

    /// The same adapter, every request (attempts, pages and status polls) paced by `pacer`.
    #[must_use]
    pub fn with_pacer(mut self, pacer: std::sync::Arc<crate::pace::Pacer>) -> Self {
        self.pacer = Some(pacer);
        self
    }

    /// DescribePermissionSet; `None` when the permission set does not exist.
    async fn describe(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> Remote<Option<aws_sdk_ssoadmin::types::PermissionSet>> {
        const OP: &str = "DescribePermissionSet";
        let described = retried(&self.retry, self.pacer.as_deref(), classify, OP, || {
            self.client
                .describe_permission_set()
                .instance_arn(instance.as_str())
                .permission_set_arn(permission_set.as_str())
                .send()
        })
        .await;
        match found(described)? {
            Some(out) => out
                .permission_set
                .map(Some)
                .ok_or_else(|| unexpected(OP, "no permission set")),
            None => Ok(None),
        }
    }

    /// ProvisionPermissionSet to every account the set is provisioned to, or to one account,
    /// polled until it is done.
    async fn provision(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
        account: Option<&AccountId>,
    ) -> Remote<()> {
        const OP: &str = "ProvisionPermissionSet";
        let target = match account {
            Some(_) => ProvisionTargetType::AwsAccount,
            None => ProvisionTargetType::AllProvisionedAccounts,
        };
        let out = retried(&self.retry, self.pacer.as_deref(), classify, OP, || {
            self.client
                .provision_permission_set()
                .instance_arn(instance.as_str())
                .permission_set_arn(permission_set.as_str())
                .target_type(target.clone())
                .set_target_id(account.map(|a| a.as_str().to_owned()))
                .send()
        })
        .await?;
        let request_id = out
            .permission_set_provisioning_status
            .and_then(|s| s.request_id)
            .ok_or_else(|| unexpected(OP, "no request id"))?;
        poll(&self.retry, OP, || self.provisioning_status(instance, &request_id)).await
    }

    /// GetInlinePolicyForPermissionSet; an empty policy is no policy.
    async fn read_inline_policy(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> Remote<Option<InlinePolicyText>> {
        let out = retried(
            &self.retry,
            self.pacer.as_deref(),
            classify,
            "GetInlinePolicyForPermissionSet",
            || {
                self.client
                    .get_inline_policy_for_permission_set()
                    .instance_arn(instance.as_str())
                    .permission_set_arn(permission_set.as_str())
                    .send()
            },
        )
        .await?;
        Ok(out.inline_policy.filter(|p| !p.is_empty()).map(InlinePolicyText::Text))
    }

    /// Every attached AWS managed policy ARN, from all pages: a failing page fails the whole list.
    async fn managed_policies(&self, instance: &InstanceArn, permission_set: &PermissionSetArn) -> Remote<Vec<String>> {
        const OP: &str = "ListManagedPoliciesInPermissionSet";
        listed(&self.retry, |token| async move {
            let page = attempt(
                self.pacer.as_deref(),
                classify,
                OP,
                self.client
                    .list_managed_policies_in_permission_set()
                    .instance_arn(instance.as_str())
                    .permission_set_arn(permission_set.as_str())
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            let rows = page
                .attached_managed_policies
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.arn.ok_or_else(|| unexpected(OP, "an attached policy without an ARN")))
                .collect::<Remote<Vec<_>>>()?;
            Ok((rows, page.next_token))
        })
        .await
    }

    /// GetPermissionsBoundaryForPermissionSet; ResourceNotFoundException means "no boundary".
    async fn boundary(&self, instance: &InstanceArn, permission_set: &PermissionSetArn) -> Remote<Option<Boundary>> {
        const OP: &str = "GetPermissionsBoundaryForPermissionSet";
        let read = retried(&self.retry, self.pacer.as_deref(), classify, OP, || {
            self.client
                .get_permissions_boundary_for_permission_set()
                .instance_arn(instance.as_str())
                .permission_set_arn(permission_set.as_str())
                .send()
        })
        .await;
        let Some(boundary) = found(read)?.and_then(|out| out.permissions_boundary) else {
            return Ok(None);
        };
        if let Some(reference) = boundary.customer_managed_policy_reference {
            return Ok(Some(Boundary::CustomerManaged(CustomerManagedPolicyRef {
                name: reference.name,
                path: reference.path.unwrap_or_else(|| "/".to_owned()),
            })));
        }
        match boundary.managed_policy_arn {
            Some(arn) => Ok(Some(Boundary::ManagedPolicy(arn))),
            None => Err(unexpected(OP, "a boundary with neither a policy ARN nor a reference")),
        }
    }

    /// Polls an assignment deletion's status until it is done.
    async fn deletion_status(&self, instance: &InstanceArn, request_id: &str) -> Remote<AsyncStatus> {
        const OP: &str = "DescribeAccountAssignmentDeletionStatus";
        let out = attempt(
            self.pacer.as_deref(),
            classify,
            OP,
            self.client
                .describe_account_assignment_deletion_status()
                .instance_arn(instance.as_str())
                .account_assignment_deletion_request_id(request_id)
                .send(),
        )
        .await?;
        let status = out
            .account_assignment_deletion_status
            .ok_or_else(|| unexpected(OP, "no deletion status"))?;
        async_status(OP, status.status.as_ref(), status.failure_reason)
    }

    /// One poll of a permission set's provisioning status.
    async fn provisioning_status(&self, instance: &InstanceArn, request_id: &str) -> Remote<AsyncStatus> {
        const OP: &str = "DescribePermissionSetProvisioningStatus";
        let out = attempt(
            self.pacer.as_deref(),
            classify,
            OP,
            self.client
                .describe_permission_set_provisioning_status()
                .instance_arn(instance.as_str())
                .provision_permission_set_request_id(request_id)
                .send(),
        )
        .await?;
        let status = out
            .permission_set_provisioning_status
            .ok_or_else(|| unexpected(OP, "no provisioning status"))?;
        async_status(OP, status.status.as_ref(), status.failure_reason)
    }

    /// One poll of the instance's ABAC configuration status.
    async fn abac_status(&self, instance: &InstanceArn) -> Remote<AsyncStatus> {
        const OP: &str = "DescribeInstanceAccessControlAttributeConfiguration";
        let out = attempt(
            self.pacer.as_deref(),
            classify,
            OP,
            self.client
                .describe_instance_access_control_attribute_configuration()
                .instance_arn(instance.as_str())
                .send(),
        )
        .await?;
        match out.status {
            Some(InstanceAccessControlAttributeConfigurationStatus::Enabled) => Ok(AsyncStatus::Succeeded),
            Some(InstanceAccessControlAttributeConfigurationStatus::CreationInProgress) => Ok(AsyncStatus::InProgress),
            Some(InstanceAccessControlAttributeConfigurationStatus::CreationFailed) => Ok(AsyncStatus::Failed(
                out.status_reason.unwrap_or_else(|| "no reason given".to_owned()),
            )),
            other => Err(unexpected(
                OP,
                &format!("status {}", other.as_ref().map_or("(none)", |s| s.as_str())),
            )),
        }
    }
}

/// The classification of a sso-admin error's modeled exceptions.
pub(super) fn classify(e: &Error) -> Option<FailureKind> {
    match e {
        Error::ThrottlingException(_) | Error::InternalServerException(_) => Some(FailureKind::Throttled),
        Error::ConflictException(_) => Some(FailureKind::Conflict),
        // The instance's customer managed KMS key is missing: a configuration problem, not an
        // absent resource, so it must not read as "deleted" (or as "not visible yet" when polling).
        Error::ResourceNotFoundException(e)
            if e.reason() == Some(&ResourceNotFoundExceptionReason::KmsNotFoundException) =>
        {
            Some(FailureKind::Rejected)
        }
        Error::ResourceNotFoundException(_) => Some(FailureKind::NotFound),
        Error::AccessDeniedException(_) => Some(FailureKind::AccessDenied),
        Error::ValidationException(_) | Error::ServiceQuotaExceededException(_) => Some(FailureKind::Rejected),
        _ => None,
    }
}

/// An async operation's status (assignment deletion, provisioning) in domain terms. An unknown
/// or missing status is an error, which [`poll`] treats as "ask again".
fn async_status(
    operation: &'static str,
    status: Option<&StatusValues>,
    failure_reason: Option<String>,
) -> Remote<AsyncStatus> {
    match status {
        Some(StatusValues::InProgress) => Ok(AsyncStatus::InProgress),
        Some(StatusValues::Succeeded) => Ok(AsyncStatus::Succeeded),
        Some(StatusValues::Failed) => Ok(AsyncStatus::Failed(
            failure_reason.unwrap_or_else(|| "no reason given".to_owned()),
        )),
        other => Err(unexpected(
            operation,
            &format!("status {}", other.map_or("(none)", StatusValues::as_str)),
        )),
    }
}

fn sdk_principal_type(principal_type: PrincipalType) -> SdkPrincipalType {
    match principal_type {
        PrincipalType::User => SdkPrincipalType::User,
        PrincipalType::Group => SdkPrincipalType::Group,
    }
}

impl IdentityCenter for SsoAdmin {
    async fn customer_managed_policies(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> Remote<Vec<CustomerManagedPolicyRef>> {
        const OP: &str = "ListCustomerManagedPolicyReferencesInPermissionSet";
        listed(&self.retry, |token| async move {
            let page = attempt(
                self.pacer.as_deref(),
                classify,
                OP,
                self.client
                    .list_customer_managed_policy_references_in_permission_set()
                    .instance_arn(instance.as_str())
                    .permission_set_arn(permission_set.as_str())
                    .max_results(100)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            let rows = page
                .customer_managed_policy_references
                .unwrap_or_default()
                .into_iter()
                .map(|r| CustomerManagedPolicyRef {
                    name: r.name,
                    path: r.path.unwrap_or_else(|| "/".to_owned()),
                })
                .collect();
            Ok((rows, page.next_token))
        })
        .await
    }

    async fn operations(
        &self,
        instance: &InstanceArn,
        kind: crate::domain::OperationKind,
        state: crate::domain::OperationState,
    ) -> Remote<Vec<crate::domain::OperationStatus>> {
        self.list_operations(instance, kind, state).await
    }

    async fn operation_status(
        &self,
        instance: &InstanceArn,
        kind: crate::domain::OperationKind,
        request_id: &str,
    ) -> Remote<crate::domain::OperationStatus> {
        self.describe_operation(instance, kind, request_id).await
    }

    async fn permission_set(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> Remote<Option<PermissionSetFacts>> {
        let Some(described) = self.describe(instance, permission_set).await? else {
            return Ok(None);
        };
        let read = tokio::try_join!(
            self.read_inline_policy(instance, permission_set),
            self.managed_policies(instance, permission_set),
            self.boundary(instance, permission_set),
        );
        let (inline_policy, managed_policies, boundary) = match read {
            Ok(read) => read,
            // Deleted between the Describe and these reads.
            Err(e) if e.kind == FailureKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(PermissionSetFacts {
            arn: permission_set.clone(),
            name: described.name.map_or(Fact::Unknown, Fact::Known),
            description: Fact::Known(described.description),
            relay_state: Fact::Known(described.relay_state),
            // A value the model would not accept fails closed: it compares longer than any cap.
            session_duration: described.session_duration.as_deref().map_or(Fact::Unknown, |d| {
                Fact::Known(SessionDuration::parse(d).unwrap_or_else(|| SessionDuration::unparseable(d)))
            }),
            inline_policy: Fact::Known(inline_policy),
            managed_policies: Fact::Known(managed_policies),
            boundary: Fact::Known(boundary),
            // Only the inventory reads them (`IdentityCenter::customer_managed_policies`).
            customer_managed_policies: Fact::Unknown,
        }))
    }

    async fn permission_set_name(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> Remote<Option<String>> {
        match self.describe(instance, permission_set).await? {
            Some(described) => described
                .name
                .map(Some)
                .ok_or_else(|| unexpected("DescribePermissionSet", "a permission set without a name")),
            None => Ok(None),
        }
    }

    async fn permission_set_tag(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
        key: &str,
    ) -> Remote<Option<String>> {
        const OP: &str = "ListTagsForResource";
        let tags = listed(&self.retry, |token| async move {
            let page = attempt(
                self.pacer.as_deref(),
                classify,
                OP,
                self.client
                    .list_tags_for_resource()
                    .instance_arn(instance.as_str())
                    .resource_arn(permission_set.as_str())
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            Ok((page.tags.unwrap_or_default(), page.next_token))
        })
        .await?;
        Ok(tags.into_iter().find(|t| t.key == key).map(|t| t.value))
    }

    async fn assignment_exists(&self, assignment: &Assignment) -> Remote<bool> {
        let principals = self
            .account_assignments(
                &assignment.instance_arn,
                &assignment.account_id,
                &assignment.permission_set_arn,
            )
            .await?;
        Ok(principals
            .iter()
            .any(|(t, id)| *t == assignment.principal_type && *id == assignment.principal_id))
    }

    async fn access_control_attributes(&self, instance: &InstanceArn) -> Remote<Option<Vec<AbacAttribute>>> {
        const OP: &str = "DescribeInstanceAccessControlAttributeConfiguration";
        let read = retried(&self.retry, self.pacer.as_deref(), classify, OP, || {
            self.client
                .describe_instance_access_control_attribute_configuration()
                .instance_arn(instance.as_str())
                .send()
        })
        .await;
        let Some(config) = found(read)?.and_then(|out| out.instance_access_control_attribute_configuration) else {
            return Ok(None);
        };
        config
            .access_control_attributes
            .into_iter()
            .map(|attribute| {
                // The model allows exactly one source per attribute.
                let source = attribute
                    .value
                    .and_then(|v| v.source.into_iter().next())
                    .ok_or_else(|| unexpected(OP, "an attribute without a source"))?;
                Ok(AbacAttribute {
                    key: attribute.key,
                    source,
                })
            })
            .collect::<Remote<Vec<_>>>()
            .map(Some)
    }

    async fn delete_assignment(&self, assignment: &Assignment) -> Remote<()> {
        const OP: &str = "DeleteAccountAssignment";
        let out = retried(&self.retry, self.pacer.as_deref(), classify, OP, || {
            self.client
                .delete_account_assignment()
                .instance_arn(assignment.instance_arn.as_str())
                .target_id(assignment.account_id.as_str())
                .target_type(TargetType::AwsAccount)
                .permission_set_arn(assignment.permission_set_arn.as_str())
                .principal_type(sdk_principal_type(assignment.principal_type))
                .principal_id(assignment.principal_id.as_str())
                .send()
        })
        .await?;
        let request_id = out
            .account_assignment_deletion_status
            .and_then(|s| s.request_id)
            .ok_or_else(|| unexpected(OP, "no request id"))?;
        poll(&self.retry, OP, || {
            self.deletion_status(&assignment.instance_arn, &request_id)
        })
        .await
    }

    async fn update_permission_set(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
        session_duration: &str,
        description: Option<&str>,
        relay_state: Option<&str>,
    ) -> Remote<()> {
        retried(
            &self.retry,
            self.pacer.as_deref(),
            classify,
            "UpdatePermissionSet",
            || {
                self.client
                    .update_permission_set()
                    .instance_arn(instance.as_str())
                    .permission_set_arn(permission_set.as_str())
                    .session_duration(session_duration)
                    .set_description(description.map(str::to_owned))
                    .set_relay_state(relay_state.map(str::to_owned))
                    .send()
            },
        )
        .await
        .map(drop)
    }

    async fn put_permissions_boundary(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
        boundary: &Boundary,
    ) -> Remote<()> {
        const OP: &str = "PutPermissionsBoundaryToPermissionSet";
        let boundary = match boundary {
            Boundary::ManagedPolicy(arn) => PermissionsBoundary::builder().managed_policy_arn(arn).build(),
            Boundary::CustomerManaged(reference) => PermissionsBoundary::builder()
                .customer_managed_policy_reference(
                    CustomerManagedPolicyReference::builder()
                        .name(&reference.name)
                        .path(&reference.path)
                        .build()
                        .map_err(|e| rejected(OP, e))?,
                )
                .build(),
        };
        retried(&self.retry, self.pacer.as_deref(), classify, OP, || {
            self.client
                .put_permissions_boundary_to_permission_set()
                .instance_arn(instance.as_str())
                .permission_set_arn(permission_set.as_str())
                .permissions_boundary(boundary.clone())
                .send()
        })
        .await
        .map(drop)
    }

    async fn detach_managed_policy(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
        policy_arn: &str,
    ) -> Remote<()> {
        retried(
            &self.retry,
            self.pacer.as_deref(),
            classify,
            "DetachManagedPolicyFromPermissionSet",
            || {
                self.client
                    .detach_managed_policy_from_permission_set()
                    .instance_arn(instance.as_str())
                    .permission_set_arn(permission_set.as_str())
                    .managed_policy_arn(policy_arn)
                    .send()
            },
        )
        .await
        .map(drop)
    }

    async fn put_inline_policy(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
        document: &str,
    ) -> Remote<()> {
        retried(
            &self.retry,
            self.pacer.as_deref(),
            classify,
            "PutInlinePolicyToPermissionSet",
            || {
                self.client
                    .put_inline_policy_to_permission_set()
                    .instance_arn(instance.as_str())
                    .permission_set_arn(permission_set.as_str())
                    .inline_policy(document)
                    .send()
            },
        )
        .await
        .map(drop)
    }

    async fn delete_inline_policy(&self, instance: &InstanceArn, permission_set: &PermissionSetArn) -> Remote<()> {
        retried(
            &self.retry,
            self.pacer.as_deref(),
            classify,
            "DeleteInlinePolicyFromPermissionSet",
            || {
                self.client
                    .delete_inline_policy_from_permission_set()
                    .instance_arn(instance.as_str())
                    .permission_set_arn(permission_set.as_str())
                    .send()
            },
        )
        .await
        .map(drop)
    }

    async fn put_access_control_attributes(
        &self,
        instance: &InstanceArn,
        attributes: &[AbacAttribute],
        exists: bool,
    ) -> Remote<()> {
        let operation = if exists {
            "UpdateInstanceAccessControlAttributeConfiguration"
        } else {
            "CreateInstanceAccessControlAttributeConfiguration"
        };
        let attributes = attributes
            .iter()
            .map(|a| {
                let value = AccessControlAttributeValue::builder().source(&a.source).build()?;
                AccessControlAttribute::builder().key(&a.key).value(value).build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| rejected(operation, e))?;
        let config = InstanceAccessControlAttributeConfiguration::builder()
            .set_access_control_attributes(Some(attributes))
            .build()
            .map_err(|e| rejected(operation, e))?;
        if exists {
            retried(&self.retry, self.pacer.as_deref(), classify, operation, || {
                self.client
                    .update_instance_access_control_attribute_configuration()
                    .instance_arn(instance.as_str())
                    .instance_access_control_attribute_configuration(config.clone())
                    .send()
            })
            .await?;
        } else {
            retried(&self.retry, self.pacer.as_deref(), classify, operation, || {
                self.client
                    .create_instance_access_control_attribute_configuration()
                    .instance_arn(instance.as_str())
                    .instance_access_control_attribute_configuration(config.clone())
                    .send()
            })
            .await?;
        }
        poll(&self.retry, operation, || self.abac_status(instance)).await
    }

    async fn provision_permission_set(&self, instance: &InstanceArn, permission_set: &PermissionSetArn) -> Remote<()> {
        self.provision(instance, permission_set, None).await
    }

    async fn inline_policy(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> Remote<Option<InlinePolicyText>> {
        match self.read_inline_policy(instance, permission_set).await {
            Err(e) if e.kind == FailureKind::NotFound => Ok(None),
            other => other,
        }
    }

    async fn permission_set_summary(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> Remote<Option<(String, SessionDuration)>> {
        let Some(described) = self.describe(instance, permission_set).await? else {
            return Ok(None);
        };
        let name = described
            .name
            .ok_or_else(|| unexpected("DescribePermissionSet", "a permission set without a name"))?;
        // A duration that is missing or cannot be read counts as the longest (fail closed).
        let duration = described.session_duration.as_deref().unwrap_or_default();
        let duration = SessionDuration::parse(duration).unwrap_or_else(|| SessionDuration::unparseable(duration));
        Ok(Some((name, duration)))
    }

    async fn provision_to_account(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
        account: &AccountId,
    ) -> Remote<()> {
        self.provision(instance, permission_set, Some(account)).await
    }

    async fn identity_store(&self, instance: &InstanceArn) -> Remote<Option<IdentityStoreId>> {
        let instances = self.instances.get_or_try_init(|| self.instances()).await?;
        Ok(instances
            .iter()
            .find(|i| i.instance_arn == *instance)
            .map(|i| i.identity_store_id.clone()))
    }

    async fn create_assignment(&self, assignment: &Assignment) -> Remote<()> {
        const OP: &str = "CreateAccountAssignment";
        let out = retried(&self.retry, self.pacer.as_deref(), classify, OP, || {
            self.client
                .create_account_assignment()
                .instance_arn(assignment.instance_arn.as_str())
                .target_id(assignment.account_id.as_str())
                .target_type(TargetType::AwsAccount)
                .permission_set_arn(assignment.permission_set_arn.as_str())
                .principal_type(sdk_principal_type(assignment.principal_type))
                .principal_id(assignment.principal_id.as_str())
                .send()
        })
        .await?;
        let request_id = out
            .account_assignment_creation_status
            .and_then(|s| s.request_id)
            .ok_or_else(|| unexpected(OP, "no request id"))?;
        poll(&self.retry, OP, || {
            self.creation_status(&assignment.instance_arn, &request_id)
        })
        .await
    }

    async fn entitlement(
        &self,
        application: &crate::domain::AccessApplicationArn,
        id: &crate::domain::EntitlementId,
    ) -> Remote<Option<crate::domain::Entitlement>> {
        self.get_entitlement(application, id).await
    }

    async fn entitlements(
        &self,
        application: &crate::domain::AccessApplicationArn,
        grant: Option<&crate::domain::Entitlement>,
    ) -> Remote<Vec<crate::domain::Entitlement>> {
        self.list_entitlements(application, grant).await
    }

    async fn access_applications(&self) -> Remote<Vec<crate::domain::AccessApplicationArn>> {
        self.list_access_applications().await
    }

    async fn create_entitlement(
        &self,
        entitlement: &crate::domain::Entitlement,
    ) -> Remote<crate::domain::EntitlementId> {
        self.add_entitlement(entitlement).await
    }

    async fn delete_entitlement(
        &self,
        application: &crate::domain::AccessApplicationArn,
        id: &crate::domain::EntitlementId,
    ) -> Remote<()> {
        self.remove_entitlement(application, id).await
    }

    async fn access_scope(
        &self,
        application: &crate::domain::ApplicationArn,
        scope: &str,
    ) -> Remote<Option<Vec<String>>> {
        self.get_access_scope(application, scope).await
    }

    async fn application_name(&self, application: &crate::domain::ApplicationArn) -> Remote<Option<String>> {
        self.describe_application_name(application).await
    }

    async fn delete_access_scope(&self, application: &crate::domain::ApplicationArn, scope: &str) -> Remote<()> {
        self.remove_access_scope(application, scope).await
    }
}

// --- The reconciler's inventory reads ---------------------------------------------------------
//
// Each list is paginated by hand so that every page is paced and retried on its own; a page that
// still fails fails the whole list (never a partial list).

impl SsoAdmin {
    /// One poll of an assignment creation's status.
    async fn creation_status(&self, instance: &InstanceArn, request_id: &str) -> Remote<AsyncStatus> {
        const OP: &str = "DescribeAccountAssignmentCreationStatus";
        let out = attempt(
            self.pacer.as_deref(),
            classify,
            OP,
            self.client
                .describe_account_assignment_creation_status()
                .instance_arn(instance.as_str())
                .account_assignment_creation_request_id(request_id)
                .send(),
        )
        .await?;
        let status = out
            .account_assignment_creation_status
            .ok_or_else(|| unexpected(OP, "no creation status"))?;
        async_status(OP, status.status.as_ref(), status.failure_reason)
    }
}

impl InstanceInventory for SsoAdmin {
    async fn applications(
        &self,
        instance: &InstanceArn,
    ) -> Remote<Vec<(crate::domain::ApplicationArn, Option<String>)>> {
        self.list_instance_applications(instance).await
    }

    async fn stale_accounts(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> Remote<Vec<AccountId>> {
        self.list_stale_accounts(instance, permission_set).await
    }

    async fn instances(&self) -> Remote<Vec<InstanceRef>> {
        const OP: &str = "ListInstances";
        listed(&self.retry, |token| async move {
            let page = attempt(
                self.pacer.as_deref(),
                classify,
                OP,
                self.client.list_instances().set_next_token(token).send(),
            )
            .await?;
            let mut rows = Vec::new();
            for i in page.instances.unwrap_or_default() {
                let (Some(arn), Some(store)) = (i.instance_arn, i.identity_store_id) else {
                    return Err(unexpected(OP, "an instance without an ARN or identity store"));
                };
                rows.push(InstanceRef {
                    instance_arn: InstanceArn::parse(&arn).map_err(|_| unexpected(OP, "an invalid instance ARN"))?,
                    identity_store_id: IdentityStoreId::parse(&store)
                        .map_err(|_| unexpected(OP, "an invalid identity store id"))?,
                });
            }
            Ok((rows, page.next_token))
        })
        .await
    }

    async fn permission_sets(&self, instance: &InstanceArn) -> Remote<Vec<PermissionSetArn>> {
        const OP: &str = "ListPermissionSets";
        listed(&self.retry, |token| async move {
            let page = attempt(
                self.pacer.as_deref(),
                classify,
                OP,
                self.client
                    .list_permission_sets()
                    .instance_arn(instance.as_str())
                    .max_results(100)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            let rows = page
                .permission_sets
                .unwrap_or_default()
                .iter()
                .map(|arn| PermissionSetArn::parse(arn).map_err(|_| unexpected(OP, "an invalid permission set ARN")))
                .collect::<Remote<Vec<_>>>()?;
            Ok((rows, page.next_token))
        })
        .await
    }

    async fn provisioned_accounts(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> Remote<Vec<AccountId>> {
        const OP: &str = "ListAccountsForProvisionedPermissionSet";
        listed(&self.retry, |token| async move {
            let page = attempt(
                self.pacer.as_deref(),
                classify,
                OP,
                self.client
                    .list_accounts_for_provisioned_permission_set()
                    .instance_arn(instance.as_str())
                    .permission_set_arn(permission_set.as_str())
                    .max_results(100)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            let rows = page
                .account_ids
                .unwrap_or_default()
                .iter()
                .map(|id| AccountId::parse(id).map_err(|_| unexpected(OP, "an invalid account id")))
                .collect::<Remote<Vec<_>>>()?;
            Ok((rows, page.next_token))
        })
        .await
    }

    async fn account_assignments(
        &self,
        instance: &InstanceArn,
        account: &AccountId,
        permission_set: &PermissionSetArn,
    ) -> Remote<Vec<(PrincipalType, String)>> {
        const OP: &str = "ListAccountAssignments";
        listed(&self.retry, |token| async move {
            let page = attempt(
                self.pacer.as_deref(),
                classify,
                OP,
                self.client
                    .list_account_assignments()
                    .instance_arn(instance.as_str())
                    .account_id(account.as_str())
                    .permission_set_arn(permission_set.as_str())
                    .max_results(100)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            let mut rows = Vec::new();
            for a in page.account_assignments.unwrap_or_default() {
                let (Some(kind), Some(id)) = (a.principal_type, a.principal_id) else {
                    return Err(unexpected(OP, "an assignment without a principal"));
                };
                rows.push((domain_principal_type(OP, &kind)?, id));
            }
            Ok((rows, page.next_token))
        })
        .await
    }

    async fn principal_assignments(
        &self,
        instance: &InstanceArn,
        principal_type: PrincipalType,
        principal_id: &str,
    ) -> Remote<Vec<(AccountId, PermissionSetArn)>> {
        const OP: &str = "ListAccountAssignmentsForPrincipal";
        listed(&self.retry, |token| async move {
            let page = attempt(
                self.pacer.as_deref(),
                classify,
                OP,
                self.client
                    .list_account_assignments_for_principal()
                    .instance_arn(instance.as_str())
                    .principal_type(sdk_principal_type(principal_type))
                    .principal_id(principal_id)
                    .max_results(100)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            let mut rows = Vec::new();
            for a in page.account_assignments.unwrap_or_default() {
                let (Some(account), Some(ps)) = (a.account_id, a.permission_set_arn) else {
                    return Err(unexpected(OP, "an assignment without an account or permission set"));
                };
                rows.push((
                    AccountId::parse(&account).map_err(|_| unexpected(OP, "an invalid account id"))?,
                    PermissionSetArn::parse(&ps).map_err(|_| unexpected(OP, "an invalid permission set ARN"))?,
                ));
            }
            Ok((rows, page.next_token))
        })
        .await
    }
}

fn domain_principal_type(operation: &'static str, kind: &SdkPrincipalType) -> Remote<PrincipalType> {
    match kind {
        SdkPrincipalType::User => Ok(PrincipalType::User),
        SdkPrincipalType::Group => Ok(PrincipalType::Group),
        other => Err(unexpected(operation, &format!("principal type {}", other.as_str()))),
    }
}
