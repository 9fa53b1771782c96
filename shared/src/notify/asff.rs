//! An outcome as an AWS Security Finding Format (ASFF) finding, for Security Hub's
//! `BatchImportFindings`. Pure: no SDK types (the adapter, `crate::adapters::securityhub`,
//! builds the request from [`AsffFinding`]).
//!
//! One finding per (rule, resource): its [`AsffFinding::id`] is `idc-guard/<rule>/<resource>`, so
//! a new event about the same violation updates the finding rather than adding one.
//!
//! What an outcome says about the resource is in the statuses ([`Statuses::of`]): a reverted
//! and verified violation is `Compliance.Status` `PASSED`, `RecordState` `ARCHIVED` and
//! `Workflow.Status` `RESOLVED`; everything else leaves the violation in place and is `FAILED`,
//! `ACTIVE`, `NEW`. Security Hub honours `Workflow` only when a finding is created: "After a
//! finding is created, BatchImportFindings cannot be used to update the following finding fields
//! and objects […] Note, UserDefinedFields, VerificationState, Workflow" (Security Hub API
//! reference, BatchImportFindings). It resets `RESOLVED` to `NEW` itself when `Compliance.Status`
//! changes from `PASSED` to `FAILED`, or `RecordState` from `ARCHIVED` to `ACTIVE` (User Guide,
//! "Setting the workflow status of findings"), so a violation that comes back reopens its finding;
//! but it sets `RESOLVED` automatically on `PASSED` only for its own control findings (same page).
//! A reverted violation whose finding already exists is therefore also marked `RESOLVED` through
//! `BatchUpdateFindings` by the adapter ([`Statuses::resolves`]).

use std::collections::BTreeMap;

use crate::domain::{Outcome, OutcomeKind, ResourceKind, Severity};

/// The ASFF schema version Security Hub accepts.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// `Title`: at most 256 characters (ASFF).
pub const MAX_TITLE: usize = 256;
/// `Description`: at most 1024 characters (ASFF).
pub const MAX_DESCRIPTION: usize = 1024;
/// `Remediation.Recommendation.Text`: at most 512 characters (ASFF).
pub const MAX_RECOMMENDATION: usize = 512;
/// `Id`: at most 512 characters (ASFF).
pub const MAX_ID: usize = 512;
/// A `ProductFields` or `Resources[].Details.Other` value: at most 1024 characters here (ASFF
/// allows 2048 and 1024 respectively).
pub const MAX_FIELD: usize = 1024;
/// Findings per `BatchImportFindings` request at most (API reference).
pub const BATCH: usize = 100;
/// The finding type: `namespace/category`, both from ASFF's types taxonomy.
pub const FINDING_TYPE: &str = "Software and Configuration Checks/AWS Security Best Practices";
/// The `ProductName` of idc-guard's findings.
pub const PRODUCT_NAME: &str = "idc-guard";

/// The product findings are imported under: the account's default product, whose ARN names
/// the partition, the Region and the account (`arn:<partition>:securityhub:<region>:<account>:
/// product/<account>/default`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// The ARN.
    pub arn: String,
    /// Its partition (`aws`).
    pub partition: String,
    /// Its Region.
    pub region: String,
    /// Its account: the account that imports, which must be the finding's `AwsAccountId` (API
    /// reference: with the default product ARN, "the identifier of the account that you are
    /// calling BatchImportFindings from needs to be the same as the AwsAccountId attribute").
    pub account: String,
}

impl Product {
    /// Parses a product ARN: `arn:<partition>:securityhub:<region>:<12 digits>:product/<company>/<product>`.
    pub fn parse(arn: &str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some("securityhub"), Some(region), Some(account), Some(resource)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let path: Vec<&str> = resource.split('/').collect();
        let well_formed = !partition.is_empty()
            && !region.is_empty()
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && path.len() == 3
            && path[0] == "product"
            && path[1..].iter().all(|p| !p.is_empty());
        well_formed.then(|| Self {
            arn: arn.to_owned(),
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
        })
    }
}

/// `Severity.Label`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeverityLabel {
    /// `LOW`.
    Low,
    /// `MEDIUM`.
    Medium,
    /// `HIGH`.
    High,
    /// `CRITICAL`.
    Critical,
}

impl SeverityLabel {
    /// Ours, one to one (ASFF's `INFORMATIONAL` is never used: every finding is a violation).
    pub fn of(severity: Severity) -> Self {
        match severity {
            Severity::Low => Self::Low,
            Severity::Medium => Self::Medium,
            Severity::High => Self::High,
            Severity::Critical => Self::Critical,
        }
    }

    /// The ASFF spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
            Self::Critical => "CRITICAL",
        }
    }
}

/// `Compliance.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComplianceStatus {
    /// The resource complies (the violation was reverted and verified).
    Passed,
    /// The violation is in place.
    Failed,
}

impl ComplianceStatus {
    /// The ASFF spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "PASSED",
            Self::Failed => "FAILED",
        }
    }
}

/// `Workflow.Status` (set when the finding is created; see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowStatus {
    /// Someone must look at it.
    New,
    /// Nothing is left to do.
    Resolved,
}

impl WorkflowStatus {
    /// The ASFF spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::Resolved => "RESOLVED",
        }
    }
}

/// `RecordState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    /// Still relevant.
    Active,
    /// No longer relevant (the violation is gone).
    Archived,
}

impl RecordState {
    /// The ASFF spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Archived => "ARCHIVED",
        }
    }
}

/// The statuses an outcome gives its finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statuses {
    /// `Compliance.Status`.
    pub compliance: ComplianceStatus,
    /// `RecordState`.
    pub record: RecordState,
    /// `Workflow.Status` (on creation).
    pub workflow: WorkflowStatus,
}

impl Statuses {
    /// Reverted and verified: the violation is gone. Everything else (detected only, withheld
    /// for any reason, denied, failed, corrected but not verified) leaves it in place: someone
    /// must act, so it is a new, active, failed finding.
    pub fn of(kind: &OutcomeKind) -> Self {
        match kind {
            OutcomeKind::Remediated => Self {
                compliance: ComplianceStatus::Passed,
                record: RecordState::Archived,
                workflow: WorkflowStatus::Resolved,
            },
            OutcomeKind::Detected
            | OutcomeKind::NotVerified { .. }
            | OutcomeKind::Withheld { .. }
            | OutcomeKind::Quarantined { .. }
            | OutcomeKind::BreakerOpened { .. }
            | OutcomeKind::CannotRemediate { .. }
            | OutcomeKind::Failed { .. } => Self {
                compliance: ComplianceStatus::Failed,
                record: RecordState::Active,
                workflow: WorkflowStatus::New,
            },
        }
    }

    /// Whether the finding must end `RESOLVED` even if it already existed (BatchImportFindings
    /// cannot change an existing finding's workflow: `BatchUpdateFindings` does).
    pub fn resolves(self) -> bool {
        self.workflow == WorkflowStatus::Resolved
    }
}

/// One resource of a finding (`Resources[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsffResource {
    /// `Type`: `Other` (ASFF has no type for Identity Center's resources).
    pub kind: &'static str,
    /// `Id`: the ARN or id idc-guard names it by.
    pub id: String,
    /// `Partition`.
    pub partition: String,
    /// `Region`.
    pub region: String,
    /// `Details.Other`: what identifies it (kind, account, permission set, principal).
    pub details: BTreeMap<String, String>,
}

/// One ASFF finding, as idc-guard imports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsffFinding {
    /// `SchemaVersion`.
    pub schema_version: &'static str,
    /// `Id`: stable per (rule, resource).
    pub id: String,
    /// `ProductArn`.
    pub product_arn: String,
    /// `ProductName`.
    pub product_name: &'static str,
    /// `GeneratorId`: the rule.
    pub generator_id: String,
    /// `AwsAccountId`: the importing account.
    pub aws_account_id: String,
    /// `Region`.
    pub region: String,
    /// `Types`.
    pub types: Vec<String>,
    /// `CreatedAt` and `LastObservedAt`: the CloudTrail event's time (RFC 3339).
    pub created_at: String,
    /// `UpdatedAt`: when idc-guard published this version (RFC 3339, milliseconds).
    pub updated_at: String,
    /// `Severity.Label`.
    pub severity: SeverityLabel,
    /// `Severity.Original`: the policy's spelling.
    pub severity_original: &'static str,
    /// `Title`.
    pub title: String,
    /// `Description`.
    pub description: String,
    /// `Remediation.Recommendation.Text`.
    pub recommendation: String,
    /// `ProductFields`: the outcome, mode, event, actor and owner (keys `idc-guard/…`).
    pub product_fields: BTreeMap<String, String>,
    /// `Resources`.
    pub resources: Vec<AsffResource>,
    /// `Compliance.Status`, `RecordState`, `Workflow.Status`.
    pub statuses: Statuses,
}

/// The finding id of (rule, resource): `idc-guard/<rule>/<resource id>`; a resource id that
/// would make it longer than [`MAX_ID`] is replaced by a stable 64-bit FNV-1a hash of it.
pub fn finding_id(rule: &str, resource_id: &str) -> String {
    let id = format!("idc-guard/{rule}/{resource_id}");
    if id.len() <= MAX_ID {
        id
    } else {
        format!("idc-guard/{rule}/fnv1a-{:016x}", fnv1a(resource_id.as_bytes()))
    }
}

/// FNV-1a, 64 bits: fixed forever (unlike `std`'s hasher, which promises no stability).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `text` cut to at most `max` characters, on a character boundary, ending in `...` when cut.
pub fn truncated(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max.saturating_sub(3)).collect();
    format!("{kept}...")
}

/// An RFC 3339 UTC time with milliseconds, from Unix milliseconds.
pub fn rfc3339_millis(unix_millis: u128) -> String {
    let nanos = i128::try_from(unix_millis)
        .unwrap_or(i128::MAX)
        .saturating_mul(1_000_000);
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            let format = time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            );
            t.format(format).ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_owned())
}

fn resource_kind(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::AccountAssignment => "account-assignment",
        ResourceKind::PermissionSet => "permission-set",
        ResourceKind::Instance => "instance",
        ResourceKind::IdentityStore => "identity-store",
        ResourceKind::Entitlement => "entitlement",
        ResourceKind::Application => "application",
    }
}

/// The ASFF finding of `outcome`, imported under `product` by the account it names, for `owner`,
/// published at `now` (RFC 3339, see [`rfc3339_millis`]).
pub fn finding(outcome: &Outcome, product: &Product, owner: &str, now: &str) -> AsffFinding {
    let f = &outcome.finding;
    let r = &f.resource;
    let statuses = Statuses::of(&outcome.kind);
    let cut = |text: &str| truncated(&crate::report::printable(text), MAX_FIELD);
    let mut details = BTreeMap::from([("Kind".to_owned(), resource_kind(r.kind).to_owned())]);
    for (key, value) in [
        ("AccountId", &r.account_id),
        ("PermissionSetArn", &r.permission_set_arn),
        ("PermissionSetName", &r.permission_set_name),
        ("PrincipalId", &r.principal_id),
        ("PrincipalName", &r.principal_name),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
            details.insert(key.to_owned(), cut(v));
        }
    }
    let mut product_fields = BTreeMap::from([
        (
            "idc-guard/Outcome".to_owned(),
            super::outcome_id(&outcome.kind).to_owned(),
        ),
        ("idc-guard/Mode".to_owned(), f.mode.as_str().to_owned()),
        ("idc-guard/EventId".to_owned(), cut(&outcome.event.event_id)),
        ("idc-guard/EventName".to_owned(), cut(&outcome.event.event_name)),
        ("idc-guard/Actor".to_owned(), cut(&outcome.actor.to_string())),
        ("idc-guard/Owner".to_owned(), cut(owner)),
    ]);
    if !outcome.calls.is_empty() {
        product_fields.insert("idc-guard/Calls".to_owned(), cut(&outcome.calls.join(",")));
    }
    // CloudTrail's eventTime is already RFC 3339 UTC; one that does not parse is replaced by now.
    let observed = crate::domain::time::parse_utc(&outcome.event.event_time)
        .map_or_else(|| now.to_owned(), crate::domain::time::utc);
    let description = format!(
        "{} {} Who: {} called {} at {}. CloudTrail eventID: {}.",
        f.message,
        super::what_was_done(&outcome.kind),
        outcome.actor,
        outcome.event.event_name,
        outcome.event.event_time,
        outcome.event.event_id
    );
    let correction = crate::rules::find(f.rule.as_str()).map_or("", |rule| rule.doc().correction);
    let recommendation = format!(
        "{correction} Or make the change compliant with rule {}, or request an exception (an [[exceptions]] \
         entry in guardrail.toml with rule, scope, owner, reason and expiry).",
        f.rule
    );
    AsffFinding {
        schema_version: SCHEMA_VERSION,
        id: finding_id(f.rule.as_str(), &r.id),
        product_arn: product.arn.clone(),
        product_name: PRODUCT_NAME,
        generator_id: f.rule.as_str().to_owned(),
        aws_account_id: product.account.clone(),
        region: product.region.clone(),
        types: vec![FINDING_TYPE.to_owned()],
        created_at: observed,
        updated_at: now.to_owned(),
        severity: SeverityLabel::of(f.severity),
        severity_original: f.severity.as_str(),
        title: truncated(
            &crate::report::printable(&format!("{} on {}", f.rule, super::target(outcome))),
            MAX_TITLE,
        ),
        description: truncated(&crate::report::printable(&description), MAX_DESCRIPTION),
        recommendation: truncated(&crate::report::printable(recommendation.trim()), MAX_RECOMMENDATION),
        product_fields,
        resources: vec![AsffResource {
            kind: "Other",
            id: r.id.clone(),
            partition: product.partition.clone(),
            region: product.region.clone(),
            details,
        }],
        statuses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, EventMeta, Finding, Mode, Resource};

    fn product() -> Product {
        Product::parse("arn:aws:securityhub:eu-west-1:111111111111:product/111111111111/default").unwrap()
    }

    fn outcome(kind: OutcomeKind, severity: Severity) -> Outcome {
        let mut resource = Resource::new(ResourceKind::PermissionSet, "arn:aws:sso:::permissionSet/ssoins-1/ps-1");
        resource.permission_set_name = Some("DataEngineer".to_owned());
        Outcome {
            event: EventMeta {
                event_id: "e-1".to_owned(),
                shared_event_id: None,
                envelope_id: None,
                event_name: "UpdatePermissionSet".to_owned(),
                event_source: "sso.amazonaws.com".to_owned(),
                source: None,
                event_time: "2026-03-05T08:12:04Z".to_owned(),
                region: "eu-west-1".to_owned(),
                account: "222222222222".to_owned(),
                request_id: None,
                console: false,
                operation: None,
            },
            actor: Actor::Unknown {
                identity_type: "AWSService".to_owned(),
            },
            finding: Finding {
                rule: crate::rules::session_duration_cap::ID,
                severity,
                mode: Mode::Enforce,
                message: "session 12h exceeds 8h".to_owned(),
                resource,
                remediation: Vec::new(),
                expired_exception: None,
            },
            kind,
            tagged_owner: None,
            calls: vec!["UpdatePermissionSet"],
            revocations: Vec::new(),
        }
    }

    #[test]
    fn every_outcome_maps_to_its_statuses() {
        use ComplianceStatus::{Failed, Passed};
        use RecordState::{Active, Archived};
        use WorkflowStatus::{New, Resolved};
        let table = [
            (OutcomeKind::Remediated, (Passed, Archived, Resolved)),
            (OutcomeKind::Detected, (Failed, Active, New)),
            (OutcomeKind::NotVerified { detail: "x".into() }, (Failed, Active, New)),
            (OutcomeKind::Withheld { reason: "x".into() }, (Failed, Active, New)),
            (OutcomeKind::Quarantined { reason: "x".into() }, (Failed, Active, New)),
            (OutcomeKind::BreakerOpened { reason: "x".into() }, (Failed, Active, New)),
            (
                OutcomeKind::CannotRemediate { reason: "x".into() },
                (Failed, Active, New),
            ),
            (OutcomeKind::Failed { error: "x".into() }, (Failed, Active, New)),
        ];
        for (kind, (compliance, record, workflow)) in table {
            let s = Statuses::of(&kind);
            assert_eq!(
                (s.compliance, s.record, s.workflow),
                (compliance, record, workflow),
                "{kind}"
            );
            assert_eq!(s.resolves(), kind == OutcomeKind::Remediated, "{kind}");
        }
    }

    #[test]
    fn severities_map_one_to_one() {
        for (ours, label) in [
            (Severity::Low, "LOW"),
            (Severity::Medium, "MEDIUM"),
            (Severity::High, "HIGH"),
            (Severity::Critical, "CRITICAL"),
        ] {
            let f = finding(&outcome(OutcomeKind::Detected, ours), &product(), "platform", "now");
            assert_eq!(f.severity.as_str(), label);
            assert_eq!(f.severity_original, ours.as_str());
        }
    }

    #[test]
    fn the_id_is_stable_per_rule_and_resource_whatever_the_outcome_and_event() {
        let a = finding(&outcome(OutcomeKind::Detected, Severity::High), &product(), "o", "t1");
        let mut later = outcome(OutcomeKind::Remediated, Severity::Low);
        later.event.event_id = "e-2".to_owned();
        later.event.event_time = "2026-03-06T08:00:00Z".to_owned();
        let b = finding(&later, &product(), "o", "t2");
        assert_eq!(
            a.id,
            "idc-guard/session-duration-cap/arn:aws:sso:::permissionSet/ssoins-1/ps-1"
        );
        assert_eq!(a.id, b.id);
        assert_ne!(a.created_at, b.created_at);
        let long = "x".repeat(600);
        let id = finding_id("session-duration-cap", &long);
        assert!(id.len() <= MAX_ID && id.starts_with("idc-guard/session-duration-cap/fnv1a-"));
        assert_eq!(id, finding_id("session-duration-cap", &long));
        assert_ne!(id, finding_id("session-duration-cap", &"y".repeat(600)));
    }

    #[test]
    fn the_finding_carries_the_product_account_and_what_was_done() {
        let f = finding(
            &outcome(OutcomeKind::Remediated, Severity::High),
            &product(),
            "data",
            "2026-03-05T08:12:05.123Z",
        );
        assert_eq!(f.schema_version, "2018-10-08");
        assert_eq!(f.product_arn, product().arn);
        // The importing account, not the event's (which may be the management account).
        assert_eq!(f.aws_account_id, "111111111111");
        assert_eq!(f.generator_id, "session-duration-cap");
        assert_eq!(f.types, [FINDING_TYPE]);
        assert_eq!(f.created_at, "2026-03-05T08:12:04Z");
        assert_eq!(f.updated_at, "2026-03-05T08:12:05.123Z");
        assert_eq!(f.title, "session-duration-cap on DataEngineer");
        assert!(
            f.description
                .starts_with("session 12h exceeds 8h idc-guard reverted the change"),
            "{}",
            f.description
        );
        assert!(f.description.contains("e-1"));
        assert!(!f.recommendation.is_empty() && f.recommendation.chars().count() <= MAX_RECOMMENDATION);
        assert_eq!(f.product_fields["idc-guard/Outcome"], "remediated");
        assert_eq!(f.product_fields["idc-guard/Owner"], "data");
        assert_eq!(f.product_fields["idc-guard/Calls"], "UpdatePermissionSet");
        let r = &f.resources[0];
        assert_eq!(
            (r.kind, r.id.as_str()),
            ("Other", "arn:aws:sso:::permissionSet/ssoins-1/ps-1")
        );
        assert_eq!(r.details["Kind"], "permission-set");
        assert_eq!(r.details["PermissionSetName"], "DataEngineer");
        assert!(!r.details.contains_key("AccountId"));
    }

    #[test]
    fn long_texts_are_cut_on_character_boundaries_within_the_limits() {
        let mut o = outcome(OutcomeKind::Detected, Severity::Low);
        o.finding.message = "é".repeat(3000);
        o.finding.resource.permission_set_name = Some("名".repeat(400));
        let f = finding(&o, &product(), "o", "t");
        assert_eq!(f.title.chars().count(), MAX_TITLE);
        assert_eq!(f.description.chars().count(), MAX_DESCRIPTION);
        assert!(f.title.ends_with("...") && f.description.ends_with("..."));
        assert_eq!(truncated("short", 10), "short");
    }

    #[test]
    fn product_arns_are_parsed_strictly() {
        let p = product();
        assert_eq!(
            (p.partition.as_str(), p.region.as_str(), p.account.as_str()),
            ("aws", "eu-west-1", "111111111111")
        );
        for bad in [
            "",
            "arn:aws:sns:eu-west-1:111111111111:product/111111111111/default",
            "arn:aws:securityhub:eu-west-1:1111:product/1111/default",
            "arn:aws:securityhub:eu-west-1:111111111111:hub/default",
            "arn:aws:securityhub::111111111111:product/111111111111/default",
            "arn:aws:securityhub:eu-west-1:111111111111:product/111111111111",
        ] {
            assert_eq!(Product::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps_have_milliseconds() {
        assert_eq!(rfc3339_millis(1_772_698_324_123), "2026-03-05T08:12:04.123Z");
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
    }
}
