//! [`Organization`] over the AWS Organizations API: accounts and the OU tree.

use aws_sdk_organizations::Error;

use super::{attempt, listed, unexpected};
use crate::domain::AccountId;
use crate::ports::{FailureKind, Organization, Remote};
use crate::retry::RetryPolicy;

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
}

/// The classification of an Organizations error's modeled exceptions.
fn classify(e: &Error) -> Option<FailureKind> {
    match e {
        Error::TooManyRequestsException(_) | Error::ServiceException(_) => Some(FailureKind::Throttled),
        Error::ConcurrentModificationException(_) => Some(FailureKind::Conflict),
        Error::ParentNotFoundException(_) | Error::AccountNotFoundException(_) => Some(FailureKind::NotFound),
        Error::AccessDeniedException(_) | Error::AwsOrganizationsNotInUseException(_) => {
            Some(FailureKind::AccessDenied)
        }
        Error::InvalidInputException(_) => Some(FailureKind::Rejected),
        _ => None,
    }
}

fn account_id(operation: &'static str, id: Option<&str>) -> Remote<AccountId> {
    id.and_then(|id| AccountId::parse(id).ok())
        .ok_or_else(|| unexpected(operation, "an account without a valid id"))
}

impl Organization for Organizations {
    async fn accounts(&self) -> Remote<Vec<(AccountId, String)>> {
        const OP: &str = "ListAccounts";
        listed(&self.retry, |token| async move {
            let page = attempt(
                None,
                classify,
                OP,
                self.client.list_accounts().set_next_token(token).send(),
            )
            .await?;
            let rows = page
                .accounts
                .unwrap_or_default()
                .into_iter()
                .map(|a| Ok((account_id(OP, a.id.as_deref())?, a.name.unwrap_or_default())))
                .collect::<Remote<Vec<_>>>()?;
            Ok((rows, page.next_token))
        })
        .await
    }

    async fn children(&self, parent: &str) -> Remote<(Vec<AccountId>, Vec<String>)> {
        const ACCOUNTS: &str = "ListAccountsForParent";
        const OUS: &str = "ListOrganizationalUnitsForParent";
        let accounts = listed(&self.retry, |token| async move {
            let page = attempt(
                None,
                classify,
                ACCOUNTS,
                self.client
                    .list_accounts_for_parent()
                    .parent_id(parent)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            let rows = page
                .accounts
                .unwrap_or_default()
                .iter()
                .map(|a| account_id(ACCOUNTS, a.id.as_deref()))
                .collect::<Remote<Vec<_>>>()?;
            Ok((rows, page.next_token))
        })
        .await?;
        let ous = listed(&self.retry, |token| async move {
            let page = attempt(
                None,
                classify,
                OUS,
                self.client
                    .list_organizational_units_for_parent()
                    .parent_id(parent)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
            let rows = page
                .organizational_units
                .unwrap_or_default()
                .into_iter()
                .map(|ou| ou.id.ok_or_else(|| unexpected(OUS, "an OU without an id")))
                .collect::<Remote<Vec<_>>>()?;
            Ok((rows, page.next_token))
        })
        .await?;
        Ok((accounts, ous))
    }
}
