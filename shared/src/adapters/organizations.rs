//! [`Organization`] over the AWS Organizations API: accounts and the OU tree.

use std::future::Future;

use aws_sdk_organizations::Error;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use super::unexpected;
use crate::ids::AccountId;
use crate::ports::{FailureKind, Organization, Remote, RemoteError};
use crate::retry::{RetryPolicy, with_retry};

/// AWS Organizations through the AWS SDK.
#[derive(Debug, Clone)]
pub struct Organizations {
    client: aws_sdk_organizations::Client,
    retry: RetryPolicy,
}

impl Organizations {
    /// An adapter over `client`, retrying as `retry` says.
    pub fn new(client: aws_sdk_organizations::Client, retry: RetryPolicy) -> Self {
        Self { client, retry }
    }

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

/// The classification of an Organizations error; the only place that looks at one.
fn remote_error<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> RemoteError
where
    E: Into<Error> + std::error::Error + 'static,
{
    super::remote_error(operation, err, |e: &Error| match e {
        Error::TooManyRequestsException(_) | Error::ServiceException(_) => Some(FailureKind::Throttled),
        Error::ConcurrentModificationException(_) => Some(FailureKind::Conflict),
        Error::ParentNotFoundException(_) | Error::AccountNotFoundException(_) => Some(FailureKind::NotFound),
        Error::AccessDeniedException(_) | Error::AwsOrganizationsNotInUseException(_) => {
            Some(FailureKind::AccessDenied)
        }
        Error::InvalidInputException(_) => Some(FailureKind::Rejected),
        _ => None,
    })
}

fn account_id(operation: &'static str, id: Option<&str>) -> Remote<AccountId> {
    id.and_then(|id| AccountId::parse(id).ok())
        .ok_or_else(|| unexpected(operation, "an account without a valid id"))
}

impl Organization for Organizations {
    async fn accounts(&self) -> Remote<Vec<(AccountId, String)>> {
        const OP: &str = "ListAccounts";
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .retried(OP, || self.client.list_accounts().set_next_token(token.clone()).send())
                .await?;
            for a in page.accounts.unwrap_or_default() {
                out.push((account_id(OP, a.id.as_deref())?, a.name.unwrap_or_default()));
            }
            token = page.next_token;
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn children(&self, parent: &str) -> Remote<(Vec<AccountId>, Vec<String>)> {
        const ACCOUNTS: &str = "ListAccountsForParent";
        const OUS: &str = "ListOrganizationalUnitsForParent";
        let mut accounts = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .retried(ACCOUNTS, || {
                    self.client
                        .list_accounts_for_parent()
                        .parent_id(parent)
                        .set_next_token(token.clone())
                        .send()
                })
                .await?;
            for a in page.accounts.unwrap_or_default() {
                accounts.push(account_id(ACCOUNTS, a.id.as_deref())?);
            }
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        let mut ous = Vec::new();
        loop {
            let page = self
                .retried(OUS, || {
                    self.client
                        .list_organizational_units_for_parent()
                        .parent_id(parent)
                        .set_next_token(token.clone())
                        .send()
                })
                .await?;
            for ou in page.organizational_units.unwrap_or_default() {
                ous.push(ou.id.ok_or_else(|| unexpected(OUS, "an OU without an id"))?);
            }
            token = page.next_token;
            if token.is_none() {
                return Ok((accounts, ous));
            }
        }
    }
}
