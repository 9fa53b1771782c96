//! sso-admin's status calls for asynchronous operations, in domain terms (issue #16): the
//! `List…Status` calls filtered by status (each a listing read whole), one `Describe…Status`, and
//! the accounts holding an older version of a set. Member names and the filter are from the
//! sso-admin API reference (botocore `sso-admin/2020-07-20`: `OperationStatusFilter`,
//! `AccountAssignmentOperationStatusMetadata`, `PermissionSetProvisioningStatusMetadata`,
//! `ProvisioningStatus`).

use aws_sdk_ssoadmin::types::{OperationStatusFilter, ProvisioningStatus, StatusValues};

use super::sso_admin::{SsoAdmin, classify};
use super::{attempt, listed, unexpected};
use crate::domain::{AccountId, InstanceArn, OperationKind, OperationState, OperationStatus, PermissionSetArn};
use crate::ports::Remote;

fn sdk_state(state: OperationState) -> StatusValues {
    match state {
        OperationState::InProgress => StatusValues::InProgress,
        OperationState::Succeeded => StatusValues::Succeeded,
        OperationState::Failed => StatusValues::Failed,
    }
}

fn domain_state(operation: &'static str, status: Option<&StatusValues>) -> Remote<OperationState> {
    match status {
        Some(StatusValues::InProgress) => Ok(OperationState::InProgress),
        Some(StatusValues::Succeeded) => Ok(OperationState::Succeeded),
        Some(StatusValues::Failed) => Ok(OperationState::Failed),
        other => Err(unexpected(
            operation,
            &format!("status {}", other.map_or("(none)", StatusValues::as_str)),
        )),
    }
}

fn seconds(date: Option<&aws_smithy_types::DateTime>) -> Option<u64> {
    date.and_then(|d| u64::try_from(d.secs()).ok())
}

/// One row of a status listing.
fn listed_status(
    operation: &'static str,
    kind: OperationKind,
    request_id: Option<&str>,
    status: Option<&StatusValues>,
    created: Option<&aws_smithy_types::DateTime>,
) -> Remote<OperationStatus> {
    Ok(OperationStatus {
        kind,
        request_id: request_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| unexpected(operation, "a status without a request id"))?
            .to_owned(),
        state: domain_state(operation, status)?,
        failure_reason: None,
        account_id: None,
        permission_set_arn: None,
        created: seconds(created),
    })
}

fn account(operation: &'static str, id: Option<&str>) -> Remote<Option<AccountId>> {
    id.map(|id| AccountId::parse(id).map_err(|_| unexpected(operation, "an invalid account id")))
        .transpose()
}

fn permission_set(operation: &'static str, arn: Option<&str>) -> Remote<Option<PermissionSetArn>> {
    arn.map(|arn| PermissionSetArn::parse(arn).map_err(|_| unexpected(operation, "an invalid permission set ARN")))
        .transpose()
}

impl SsoAdmin {
    /// The operations of `kind` in `state`, every page (a failing page fails the listing).
    pub(super) async fn list_operations(
        &self,
        instance: &InstanceArn,
        kind: OperationKind,
        state: OperationState,
    ) -> Remote<Vec<OperationStatus>> {
        let filter = OperationStatusFilter::builder().status(sdk_state(state)).build();
        let pacer = self.pacer();
        match kind {
            OperationKind::AssignmentCreation => {
                const OP: &str = "ListAccountAssignmentCreationStatus";
                listed(self.retry(), |token| {
                    let filter = filter.clone();
                    async move {
                        let page = attempt(
                            pacer,
                            classify,
                            OP,
                            self.client()
                                .list_account_assignment_creation_status()
                                .instance_arn(instance.as_str())
                                .filter(filter)
                                .max_results(100)
                                .set_next_token(token)
                                .send(),
                        )
                        .await?;
                        let rows = page
                            .account_assignments_creation_status()
                            .iter()
                            .map(|s| listed_status(OP, kind, s.request_id(), s.status(), s.created_date()))
                            .collect::<Remote<Vec<_>>>()?;
                        Ok((rows, page.next_token().map(str::to_owned)))
                    }
                })
                .await
            }
            OperationKind::AssignmentDeletion => {
                const OP: &str = "ListAccountAssignmentDeletionStatus";
                listed(self.retry(), |token| {
                    let filter = filter.clone();
                    async move {
                        let page = attempt(
                            pacer,
                            classify,
                            OP,
                            self.client()
                                .list_account_assignment_deletion_status()
                                .instance_arn(instance.as_str())
                                .filter(filter)
                                .max_results(100)
                                .set_next_token(token)
                                .send(),
                        )
                        .await?;
                        let rows = page
                            .account_assignments_deletion_status()
                            .iter()
                            .map(|s| listed_status(OP, kind, s.request_id(), s.status(), s.created_date()))
                            .collect::<Remote<Vec<_>>>()?;
                        Ok((rows, page.next_token().map(str::to_owned)))
                    }
                })
                .await
            }
            OperationKind::Provisioning => {
                const OP: &str = "ListPermissionSetProvisioningStatus";
                listed(self.retry(), |token| {
                    let filter = filter.clone();
                    async move {
                        let page = attempt(
                            pacer,
                            classify,
                            OP,
                            self.client()
                                .list_permission_set_provisioning_status()
                                .instance_arn(instance.as_str())
                                .filter(filter)
                                .max_results(100)
                                .set_next_token(token)
                                .send(),
                        )
                        .await?;
                        let rows = page
                            .permission_sets_provisioning_status()
                            .iter()
                            .map(|s| listed_status(OP, kind, s.request_id(), s.status(), s.created_date()))
                            .collect::<Remote<Vec<_>>>()?;
                        Ok((rows, page.next_token().map(str::to_owned)))
                    }
                })
                .await
            }
        }
    }

    /// One `Describe…Status` of an operation, not polled.
    pub(super) async fn describe_operation(
        &self,
        instance: &InstanceArn,
        kind: OperationKind,
        request_id: &str,
    ) -> Remote<OperationStatus> {
        let pacer = self.pacer();
        match kind {
            OperationKind::AssignmentCreation | OperationKind::AssignmentDeletion => {
                let (op, status) = if kind == OperationKind::AssignmentCreation {
                    const OP: &str = "DescribeAccountAssignmentCreationStatus";
                    let out = attempt(
                        pacer,
                        classify,
                        OP,
                        self.client()
                            .describe_account_assignment_creation_status()
                            .instance_arn(instance.as_str())
                            .account_assignment_creation_request_id(request_id)
                            .send(),
                    )
                    .await?;
                    (OP, out.account_assignment_creation_status)
                } else {
                    const OP: &str = "DescribeAccountAssignmentDeletionStatus";
                    let out = attempt(
                        pacer,
                        classify,
                        OP,
                        self.client()
                            .describe_account_assignment_deletion_status()
                            .instance_arn(instance.as_str())
                            .account_assignment_deletion_request_id(request_id)
                            .send(),
                    )
                    .await?;
                    (OP, out.account_assignment_deletion_status)
                };
                let s = status.ok_or_else(|| unexpected(op, "no status"))?;
                Ok(OperationStatus {
                    kind,
                    request_id: s.request_id().unwrap_or(request_id).to_owned(),
                    state: domain_state(op, s.status())?,
                    failure_reason: s.failure_reason().map(str::to_owned),
                    account_id: account(op, s.target_id())?,
                    permission_set_arn: permission_set(op, s.permission_set_arn())?,
                    created: seconds(s.created_date()),
                })
            }
            OperationKind::Provisioning => {
                const OP: &str = "DescribePermissionSetProvisioningStatus";
                let out = attempt(
                    pacer,
                    classify,
                    OP,
                    self.client()
                        .describe_permission_set_provisioning_status()
                        .instance_arn(instance.as_str())
                        .provision_permission_set_request_id(request_id)
                        .send(),
                )
                .await?;
                let s = out
                    .permission_set_provisioning_status
                    .ok_or_else(|| unexpected(OP, "no status"))?;
                Ok(OperationStatus {
                    kind,
                    request_id: s.request_id().unwrap_or(request_id).to_owned(),
                    state: domain_state(OP, s.status())?,
                    failure_reason: s.failure_reason().map(str::to_owned),
                    account_id: account(OP, s.account_id())?,
                    permission_set_arn: permission_set(OP, s.permission_set_arn())?,
                    created: seconds(s.created_date()),
                })
            }
        }
    }

    /// The accounts holding an older version of the set, every page.
    pub(super) async fn list_stale_accounts(
        &self,
        instance: &InstanceArn,
        permission_set: &PermissionSetArn,
    ) -> Remote<Vec<AccountId>> {
        const OP: &str = "ListAccountsForProvisionedPermissionSet";
        let pacer = self.pacer();
        listed(self.retry(), |token| async move {
            let page = attempt(
                pacer,
                classify,
                OP,
                self.client()
                    .list_accounts_for_provisioned_permission_set()
                    .instance_arn(instance.as_str())
                    .permission_set_arn(permission_set.as_str())
                    .provisioning_status(ProvisioningStatus::LatestPermissionSetNotProvisioned)
                    .max_results(100)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            let rows = page
                .account_ids()
                .iter()
                .map(|id| AccountId::parse(id).map_err(|_| unexpected(OP, "an invalid account id")))
                .collect::<Remote<Vec<_>>>()?;
            Ok((rows, page.next_token().map(str::to_owned)))
        })
        .await
    }
}
