//! [`Notifier`] over Security Hub: each outcome imported as one ASFF finding
//! ([`crate::notify::asff`]) with `BatchImportFindings`, under the account's default product.
//!
//! A finding that is imported but must end `RESOLVED` (a reverted violation) is then marked so
//! with `BatchUpdateFindings`: Security Hub ignores `Workflow` in an import that updates an
//! existing finding (see the `asff` module). A finding Security Hub lists in `FailedFindings`
//! (or `UnprocessedFindings`) fails the call: a partial import is not a success.

use aws_sdk_securityhub::Error;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingIdentifier, Compliance, ComplianceStatus, Recommendation, RecordState,
    Remediation, Resource, ResourceDetails, Severity, SeverityLabel, Workflow, WorkflowStatus, WorkflowUpdate,
};

use super::retried;
use crate::domain::{Notice, Outcome};
use crate::notify::Owners;
use crate::notify::asff::{self, AsffFinding, Product};
use crate::ports::{FailureKind, Notifier, Remote, RemoteError};
use crate::retry::RetryPolicy;

/// Security Hub through the AWS SDK.
#[derive(Debug, Clone)]
pub struct SecurityHub {
    client: aws_sdk_securityhub::Client,
    product: Product,
    owners: Owners,
    retry: RetryPolicy,
}

/// The classification of a Security Hub error's modeled exceptions.
fn classify(e: &Error) -> Option<FailureKind> {
    match e {
        Error::ThrottlingException(_)
        | Error::LimitExceededException(_)
        | Error::InternalException(_)
        | Error::InternalServerException(_) => Some(FailureKind::Throttled),
        Error::AccessDeniedException(_) | Error::InvalidAccessException(_) => Some(FailureKind::AccessDenied),
        Error::InvalidInputException(_) | Error::ValidationException(_) => Some(FailureKind::Rejected),
        Error::ResourceNotFoundException(_) => Some(FailureKind::NotFound),
        _ => None,
    }
}

impl SecurityHub {
    /// Imports under `product`, naming the owner from `owners`, retrying as `retry` says.
    pub fn new(client: aws_sdk_securityhub::Client, product: Product, owners: Owners, retry: RetryPolicy) -> Self {
        Self {
            client,
            product,
            owners,
            retry,
        }
    }

    /// The product findings are imported under.
    pub fn product(&self) -> &Product {
        &self.product
    }

    /// Imports `findings`, [`asff::BATCH`] per request, then marks those that must end
    /// `RESOLVED` so. Every batch is sent; the first failure is returned, naming every finding
    /// Security Hub refused and why.
    pub async fn import(&self, findings: &[AsffFinding]) -> Remote<()> {
        let mut first_error = None;
        for batch in findings.chunks(asff::BATCH) {
            let sent = self.import_batch(batch).await;
            let resolved = match sent {
                Ok(()) => self.resolve(batch).await,
                Err(e) => Err(e),
            };
            if let Err(e) = resolved {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn import_batch(&self, batch: &[AsffFinding]) -> Remote<()> {
        const OP: &str = "BatchImportFindings";
        let request = sdk_findings(batch);
        let answer = retried(&self.retry, None, classify, OP, || {
            self.client
                .batch_import_findings()
                .set_findings(Some(request.clone()))
                .send()
        })
        .await?;
        let failed: Vec<String> = answer
            .failed_findings()
            .iter()
            .map(|f| {
                format!(
                    "{}: {} {}",
                    f.id().unwrap_or("?"),
                    f.error_code().unwrap_or("?"),
                    f.error_message().unwrap_or_default()
                )
            })
            .collect();
        if failed.is_empty() && answer.failed_count().unwrap_or(0) == 0 {
            return Ok(());
        }
        Err(RemoteError::new(
            OP,
            FailureKind::Rejected,
            format!(
                "{} of {} findings were not imported: {}",
                answer.failed_count().unwrap_or(failed.len() as i32),
                batch.len(),
                failed.join("; ")
            ),
        ))
    }

    /// `Workflow.Status` `RESOLVED` for the findings of `batch` that must end so.
    async fn resolve(&self, batch: &[AsffFinding]) -> Remote<()> {
        const OP: &str = "BatchUpdateFindings";
        let identifiers: Vec<AwsSecurityFindingIdentifier> = batch
            .iter()
            .filter(|f| f.statuses.resolves())
            .map(|f| {
                AwsSecurityFindingIdentifier::builder()
                    .id(&f.id)
                    .product_arn(&f.product_arn)
                    .build()
            })
            .collect();
        if identifiers.is_empty() {
            return Ok(());
        }
        let answer = retried(&self.retry, None, classify, OP, || {
            self.client
                .batch_update_findings()
                .set_finding_identifiers(Some(identifiers.clone()))
                .workflow(WorkflowUpdate::builder().status(WorkflowStatus::Resolved).build())
                .send()
        })
        .await?;
        let unprocessed: Vec<String> = answer
            .unprocessed_findings()
            .iter()
            .map(|u| {
                format!(
                    "{}: {} {}",
                    u.finding_identifier().and_then(|i| i.id()).unwrap_or("?"),
                    u.error_code().unwrap_or("?"),
                    u.error_message().unwrap_or_default()
                )
            })
            .collect();
        if unprocessed.is_empty() {
            Ok(())
        } else {
            Err(RemoteError::new(
                OP,
                FailureKind::Rejected,
                format!("not marked resolved: {}", unprocessed.join("; ")),
            ))
        }
    }
}

/// The SDK's findings for ours, built on a thread of their own: the SDK's `Resource` is about
/// 31 KB (its `ResourceDetails` holds every AWS resource type inline), and an unoptimised
/// build keeps a copy per builder call in the frame, which on top of a guard's deep poll stack
/// overflows a 2 MB thread. The thread costs microseconds; imports are rare.
fn sdk_findings(batch: &[AsffFinding]) -> Vec<AwsSecurityFinding> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("asff".to_owned())
            .spawn_scoped(scope, || batch.iter().map(sdk_finding).collect())
            .ok()
            .and_then(|t| t.join().ok())
    })
    // No thread to be had: build them here.
    .unwrap_or_else(|| batch.iter().map(sdk_finding).collect())
}

/// The SDK's finding for ours.
fn sdk_finding(f: &AsffFinding) -> AwsSecurityFinding {
    let resources = f
        .resources
        .iter()
        .map(|r| {
            let mut details = ResourceDetails::builder();
            for (key, value) in &r.details {
                details = details.other(key, value);
            }
            Resource::builder()
                .r#type(r.kind)
                .id(&r.id)
                .partition(r.partition.as_str().into())
                .region(&r.region)
                .details(details.build())
                .build()
        })
        .collect();
    let mut finding = AwsSecurityFinding::builder()
        .schema_version(f.schema_version)
        .id(&f.id)
        .product_arn(&f.product_arn)
        .product_name(f.product_name)
        .generator_id(&f.generator_id)
        .aws_account_id(&f.aws_account_id)
        .region(&f.region)
        .set_types(Some(f.types.clone()))
        .created_at(&f.created_at)
        .last_observed_at(&f.created_at)
        .updated_at(&f.updated_at)
        .severity(
            Severity::builder()
                .label(SeverityLabel::from(f.severity.as_str()))
                .original(f.severity_original)
                .build(),
        )
        .title(&f.title)
        .description(&f.description)
        .remediation(
            Remediation::builder()
                .recommendation(Recommendation::builder().text(&f.recommendation).build())
                .build(),
        )
        .set_resources(Some(resources))
        .compliance(
            Compliance::builder()
                .status(ComplianceStatus::from(f.statuses.compliance.as_str()))
                .build(),
        )
        .workflow(
            Workflow::builder()
                .status(WorkflowStatus::from(f.statuses.workflow.as_str()))
                .build(),
        )
        .record_state(RecordState::from(f.statuses.record.as_str()));
    for (key, value) in &f.product_fields {
        finding = finding.product_fields(key, value);
    }
    finding.build()
}

/// Now, for `UpdatedAt`.
fn now() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    asff::rfc3339_millis(millis)
}

impl Notifier for SecurityHub {
    async fn publish(&self, outcome: &Outcome) -> Remote<()> {
        let owner = crate::notify::owner_of(&self.owners, outcome);
        let finding = asff::finding(outcome, &self.product, owner, &now());
        Box::pin(self.import(std::slice::from_ref(&finding))).await?;
        tracing::info!(
            event_id = %outcome.event.event_id,
            rule = %outcome.finding.rule,
            outcome = crate::notify::outcome_id(&outcome.kind),
            finding_id = %finding.id,
            "imported into Security Hub"
        );
        Ok(())
    }

    /// A reconciler run's findings: one import per 100 (and the resolution of the reverted).
    async fn record(&self, outcomes: &[Outcome]) -> Remote<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let at = now();
        let findings: Vec<AsffFinding> = outcomes
            .iter()
            .map(|o| asff::finding(o, &self.product, crate::notify::owner_of(&self.owners, o), &at))
            .collect();
        Box::pin(self.import(&findings)).await?;
        tracing::info!(
            findings = findings.len(),
            "reconciler findings imported into Security Hub"
        );
        Ok(())
    }

    /// Notices are not findings about a resource: Security Hub gets none.
    async fn announce(&self, _notice: &Notice) -> Remote<()> {
        Ok(())
    }
}
