//! [`IdentityStore`] over the identitystore API.

use std::future::Future;

use aws_sdk_identitystore::Error;
use aws_sdk_identitystore::types::MemberId;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::{all_pages, found, rejected, unexpected};
use crate::ids::IdentityStoreId;
use crate::ports::{Directory, FailureKind, IdentityStore, MembershipRef, Remote, RemoteError};
use crate::retry::{RetryPolicy, with_retry};

/// The Identity Store API through the AWS SDK.
#[derive(Debug, Clone)]
pub struct IdentityStoreApi {
    client: aws_sdk_identitystore::Client,
    retry: RetryPolicy,
}

impl IdentityStoreApi {
    /// An adapter over `client`, retrying as `retry` says.
    pub fn new(client: aws_sdk_identitystore::Client, retry: RetryPolicy) -> Self {
        Self { client, retry }
    }

    /// Sends the request `call` builds until it succeeds or the retry policy gives up.
    async fn retried<T, E, F, Fut>(&self, operation: &'static str, call: F) -> Remote<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: Into<Error> + std::error::Error + 'static,
    {
        with_retry(&self.retry, || {
            let sent = call();
            async move { sent.await.map_err(|e| remote_error(operation, e)) }
        })
        .await
    }
}

/// The classification of an identitystore error; the only place that looks at one.
fn remote_error<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> RemoteError
where
    E: Into<Error> + std::error::Error + 'static,
{
    super::remote_error(operation, err, |e: &Error| match e {
        Error::ThrottlingException(_) | Error::InternalServerException(_) => Some(FailureKind::Throttled),
        Error::ConflictException(_) => Some(FailureKind::Conflict),
        Error::ResourceNotFoundException(_) => Some(FailureKind::NotFound),
        Error::AccessDeniedException(_) => Some(FailureKind::AccessDenied),
        Error::ValidationException(_) | Error::ServiceQuotaExceededException(_) => Some(FailureKind::Rejected),
        _ => None,
    })
}

impl IdentityStore for IdentityStoreApi {
    async fn membership_id(&self, membership: &MembershipRef) -> Remote<Option<String>> {
        let store = membership.identity_store_id.as_str();
        if let Some(id) = &membership.membership_id {
            let read = self
                .retried("DescribeGroupMembership", || {
                    self.client
                        .describe_group_membership()
                        .identity_store_id(store)
                        .membership_id(id)
                        .send()
                })
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
        let read = self
            .retried(OP, || {
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

    async fn delete_membership(&self, identity_store_id: &IdentityStoreId, membership_id: &str) -> Remote<()> {
        self.retried("DeleteGroupMembership", || {
            self.client
                .delete_group_membership()
                .identity_store_id(identity_store_id.as_str())
                .membership_id(membership_id)
                .send()
        })
        .await
        .map(drop)
    }
}

// --- Directory reads for the reconciler and the CLI (names) -----------------------------------

impl Directory for IdentityStoreApi {
    async fn groups(&self, store: &IdentityStoreId) -> Remote<Vec<(String, String)>> {
        all_pages(|token| async move {
            let page = self
                .retried("ListGroups", || {
                    self.client
                        .list_groups()
                        .identity_store_id(store.as_str())
                        .max_results(100)
                        .set_next_token(token.clone())
                        .send()
                })
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
        all_pages(|token| async move {
            let page = self
                .retried("ListUsers", || {
                    self.client
                        .list_users()
                        .identity_store_id(store.as_str())
                        .max_results(100)
                        .set_next_token(token.clone())
                        .send()
                })
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
        all_pages(|token| async move {
            let page = self
                .retried(OP, || {
                    self.client
                        .list_group_memberships()
                        .identity_store_id(store.as_str())
                        .group_id(group_id)
                        .max_results(100)
                        .set_next_token(token.clone())
                        .send()
                })
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
}
