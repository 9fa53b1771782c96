//! [`IdentityStore`] over the identitystore API.

use aws_sdk_identitystore::Error;
use aws_sdk_identitystore::types::MemberId;

use super::{attempt, found, listed, rejected, retried, unexpected};
use crate::domain::{IdentityStoreId, PrincipalNames, PrincipalType};
use crate::ports::{Directory, FailureKind, IdentityStore, MembershipRef, Remote};
use crate::retry::RetryPolicy;

/// The Identity Store API through the AWS SDK.
#[derive(Debug, Clone)]
pub struct IdentityStoreApi {
    client: aws_sdk_identitystore::Client,
    retry: RetryPolicy,
    pacer: Option<std::sync::Arc<crate::pace::Pacer>>,
}

impl IdentityStoreApi {
    /// An adapter over `client`, retrying as `retry` says.
    pub fn new(client: aws_sdk_identitystore::Client, retry: RetryPolicy) -> Self {
        Self {
            client,
            retry,
            pacer: None,
        }
    }

    /// The same adapter, every request paced by `pacer` (the guards share one pacer between
    /// sso-admin and the identity store: Identity Center's throttle is collective).
    #[must_use]
    pub fn with_pacer(mut self, pacer: std::sync::Arc<crate::pace::Pacer>) -> Self {
        self.pacer = Some(pacer);
        self
    }
}

/// The classification of a identitystore error's modeled exceptions.
fn classify(e: &Error) -> Option<FailureKind> {
    match e {
        Error::ThrottlingException(_) | Error::InternalServerException(_) => Some(FailureKind::Throttled),
        Error::ConflictException(_) => Some(FailureKind::Conflict),
        Error::ResourceNotFoundException(_) => Some(FailureKind::NotFound),
        Error::AccessDeniedException(_) => Some(FailureKind::AccessDenied),
        Error::ValidationException(_) | Error::ServiceQuotaExceededException(_) => Some(FailureKind::Rejected),
        _ => None,
    }
}

impl IdentityStore for IdentityStoreApi {
    async fn membership_id(&self, membership: &MembershipRef) -> Remote<Option<String>> {
        let store = membership.identity_store_id.as_str();
        if let Some(id) = &membership.membership_id {
            let read = retried(
                &self.retry,
                self.pacer.as_deref(),
                classify,
                "DescribeGroupMembership",
                || {
                    self.client
                        .describe_group_membership()
                        .identity_store_id(store)
                        .membership_id(id)
                        .send()
                },
            )
            .await;
            return Ok(found(read)?.map(|out| out.membership_id));
        }
        const OP: &str = "GetGroupMembershipId";
        let (Some(group), Some(member)) = (&membership.group_id, &membership.member_id) else {
            return Err(rejected(
                OP,
                "the membership has neither an id nor a group and a member",
            ));
        };
        let read = retried(&self.retry, self.pacer.as_deref(), classify, OP, || {
            self.client
                .get_group_membership_id()
                .identity_store_id(store)
                .group_id(group)
                .member_id(MemberId::UserId(member.clone()))
                .send()
        })
        .await;
        Ok(found(read)?.map(|out| out.membership_id))
    }

    async fn principal(
        &self,
        identity_store_id: &IdentityStoreId,
        principal_type: PrincipalType,
        principal_id: &str,
    ) -> Remote<Option<PrincipalNames>> {
        let store = identity_store_id.as_str();
        match principal_type {
            PrincipalType::User => {
                let read = retried(&self.retry, self.pacer.as_deref(), classify, "DescribeUser", || {
                    self.client
                        .describe_user()
                        .identity_store_id(store)
                        .user_id(principal_id)
                        .send()
                })
                .await;
                Ok(found(read)?.map(|u| PrincipalNames {
                    name: u.user_name.unwrap_or_else(|| principal_id.to_owned()),
                    display_name: u.display_name,
                }))
            }
            PrincipalType::Group => {
                let read = retried(&self.retry, self.pacer.as_deref(), classify, "DescribeGroup", || {
                    self.client
                        .describe_group()
                        .identity_store_id(store)
                        .group_id(principal_id)
                        .send()
                })
                .await;
                Ok(found(read)?.map(|g| PrincipalNames {
                    name: g.display_name.unwrap_or_else(|| principal_id.to_owned()),
                    display_name: None,
                }))
            }
        }
    }

    async fn delete_membership(&self, identity_store_id: &IdentityStoreId, membership_id: &str) -> Remote<()> {
        retried(
            &self.retry,
            self.pacer.as_deref(),
            classify,
            "DeleteGroupMembership",
            || {
                self.client
                    .delete_group_membership()
                    .identity_store_id(identity_store_id.as_str())
                    .membership_id(membership_id)
                    .send()
            },
        )
        .await
        .map(drop)
    }
}

// --- Directory reads for the reconciler and the CLI (names) -----------------------------------

impl Directory for IdentityStoreApi {
    async fn groups(&self, store: &IdentityStoreId) -> Remote<Vec<(String, String)>> {
        listed(&self.retry, |token| async move {
            let page = attempt(
                self.pacer.as_deref(),
                classify,
                "ListGroups",
                self.client
                    .list_groups()
                    .identity_store_id(store.as_str())
                    .max_results(100)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            let rows = page
                .groups
                .into_iter()
                .map(|g| (g.group_id, g.display_name.unwrap_or_default()))
                .collect();
            Ok((rows, page.next_token))
        })
        .await
    }

    async fn users(&self, store: &IdentityStoreId) -> Remote<Vec<(String, String)>> {
        listed(&self.retry, |token| async move {
            let page = attempt(
                self.pacer.as_deref(),
                classify,
                "ListUsers",
                self.client
                    .list_users()
                    .identity_store_id(store.as_str())
                    .max_results(100)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            let rows = page
                .users
                .into_iter()
                .map(|u| (u.user_id, u.user_name.unwrap_or_default()))
                .collect();
            Ok((rows, page.next_token))
        })
        .await
    }

    async fn group_members(&self, store: &IdentityStoreId, group_id: &str) -> Remote<Vec<String>> {
        const OP: &str = "ListGroupMemberships";
        listed(&self.retry, |token| async move {
            let page = attempt(
                self.pacer.as_deref(),
                classify,
                OP,
                self.client
                    .list_group_memberships()
                    .identity_store_id(store.as_str())
                    .group_id(group_id)
                    .max_results(100)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            let mut rows = Vec::new();
            for m in page.group_memberships {
                match m.member_id {
                    Some(MemberId::UserId(id)) => rows.push(id),
                    _ => return Err(unexpected(OP, "a membership without a user id")),
                }
            }
            Ok((rows, page.next_token))
        })
        .await
    }

    async fn groups_of(&self, store: &IdentityStoreId, user_id: &str) -> Remote<Vec<String>> {
        const OP: &str = "ListGroupMembershipsForMember";
        listed(&self.retry, |token| async move {
            let page = attempt(
                self.pacer.as_deref(),
                classify,
                OP,
                self.client
                    .list_group_memberships_for_member()
                    .identity_store_id(store.as_str())
                    .member_id(MemberId::UserId(user_id.to_owned()))
                    .max_results(100)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            let rows = page.group_memberships.into_iter().filter_map(|m| m.group_id).collect();
            Ok((rows, page.next_token))
        })
        .await
    }
}
