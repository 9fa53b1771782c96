//! The domain model: what changed, who changed it, and the values involved.
//!
//! These types are the vocabulary shared by the event decoder, the rules and (later) the
//! adapters. They are not deserialised from AWS wire formats: that is the job of
//! [`crate::event`] (CloudTrail) and of the SDK adapters. They serialise for reports.

use serde::Serialize;
use std::fmt;

use super::finding::{Resource, ResourceKind};
use super::ids::{AccountId, IdentityStoreId, InstanceArn, PermissionSetArn};

/// Which API recorded the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventSource {
    /// `sso.amazonaws.com`: the sso-admin API (permission sets, assignments, ABAC).
    SsoAdmin,
    /// `identitystore.amazonaws.com`: the public Identity Store API.
    IdentityStore,
    /// `sso-directory.amazonaws.com`: the console's Identity Store API.
    SsoDirectory,
    /// `identitystore-scim.amazonaws.com`: SCIM provisioning from the IdP.
    Scim,
    /// `account-access.amazonaws.com`: account access manager's entitlements (issue #19). The
    /// name follows AWS's `<signing name>.amazonaws.com` convention; no AWS page confirms it
    /// (docs/reference/access-paths.md §1.8), so the deployment's patterns match the prefix
    /// `account-access` and no EventBridge `source`.
    AccountAccess,
}

impl EventSource {
    /// Recognises a CloudTrail `eventSource`.
    pub fn from_event_source(value: &str) -> Option<Self> {
        Some(match value {
            "sso.amazonaws.com" => Self::SsoAdmin,
            "identitystore.amazonaws.com" => Self::IdentityStore,
            "sso-directory.amazonaws.com" => Self::SsoDirectory,
            "identitystore-scim.amazonaws.com" => Self::Scim,
            "account-access.amazonaws.com" => Self::AccountAccess,
            _ => return None,
        })
    }

    /// The CloudTrail `eventSource` value.
    pub fn event_source(&self) -> &'static str {
        match self {
            Self::SsoAdmin => "sso.amazonaws.com",
            Self::IdentityStore => "identitystore.amazonaws.com",
            Self::SsoDirectory => "sso-directory.amazonaws.com",
            Self::Scim => "identitystore-scim.amazonaws.com",
            Self::AccountAccess => "account-access.amazonaws.com",
        }
    }

    /// The EventBridge `source` value.
    pub fn eventbridge_source(&self) -> &'static str {
        match self {
            Self::SsoAdmin => "aws.sso",
            Self::IdentityStore => "aws.identitystore",
            Self::SsoDirectory => "aws.sso-directory",
            Self::Scim => "aws.identitystore-scim",
            // Unconfirmed, like the eventSource: the patterns do not name it.
            Self::AccountAccess => "aws.account-access",
        }
    }
}

/// Facts about the CloudTrail record itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventMeta {
    /// CloudTrail `eventID` (unique per record per account; the de-duplication key).
    pub event_id: String,
    /// CloudTrail `sharedEventID`, present when the same action is delivered to several accounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_event_id: Option<String>,
    /// EventBridge envelope `id`, when the record came in an envelope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub envelope_id: Option<String>,
    /// CloudTrail `eventName`.
    pub event_name: String,
    /// CloudTrail `eventSource`, verbatim.
    pub event_source: String,
    /// The recognised source.
    #[serde(skip)]
    pub source: Option<EventSource>,
    /// CloudTrail `eventTime` (ISO 8601, UTC).
    pub event_time: String,
    /// CloudTrail `awsRegion`.
    pub region: String,
    /// CloudTrail `recipientAccountId`: where the call was recorded.
    pub account: String,
    /// CloudTrail `requestID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Whether the call came from the AWS console.
    pub console: bool,
    /// The asynchronous operation the call started, from its response (CreateAccountAssignment,
    /// DeleteAccountAssignment, ProvisionPermissionSet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<super::operation::StartedOperation>,
}

/// Who made the change, classified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Actor {
    /// A workforce user: through a permission set's `AWSReservedSSO_*` role, or directly as an
    /// `IdentityCenterUser` (access portal or console).
    IdentityCenterUser {
        /// The permission set behind the `AWSReservedSSO_<name>_<hash>` role, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        permission_set: Option<String>,
        /// The role session name, usually the user's sign-in name.
        #[serde(skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// `onBehalfOf.userId`: the Identity Store user id.
        #[serde(skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
        /// `onBehalfOf.identityStoreArn`.
        #[serde(skip_serializing_if = "Option::is_none")]
        identity_store_arn: Option<String>,
        /// The account the session belongs to.
        #[serde(skip_serializing_if = "Option::is_none")]
        account: Option<String>,
    },
    /// An IAM role session (pipelines, automation).
    IamRole {
        /// The role ARN (the session issuer).
        role_arn: String,
        /// The role name.
        role_name: String,
        /// The role session name.
        #[serde(skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
    /// An IAM user.
    IamUser {
        /// The user ARN.
        arn: String,
        /// The user name.
        name: String,
    },
    /// The root user of an account.
    Root {
        /// The account.
        account: String,
    },
    /// SCIM provisioning from the external identity provider.
    Scim,
    /// An AWS service acting on its own behalf (`invokedBy`, service-linked roles).
    AwsService {
        /// The service principal, e.g. `sso.amazonaws.com`.
        service: String,
    },
    /// idc-guard itself: a role named in the policy's `own_identity` section.
    Guard {
        /// The role name.
        role_name: String,
    },
    /// A principal type idc-guard does not recognise.
    Unknown {
        /// The CloudTrail `userIdentity.type`.
        identity_type: String,
    },
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IdentityCenterUser {
                permission_set,
                session,
                user_id,
                ..
            } => {
                let who = session.as_deref().or(user_id.as_deref()).unwrap_or("unknown user");
                match permission_set {
                    Some(ps) => write!(f, "Identity Center user {who} via {ps}"),
                    None => write!(f, "Identity Center user {who}"),
                }
            }
            Self::IamRole { role_name, session, .. } => match session {
                Some(s) => write!(f, "role {role_name} (session {s})"),
                None => write!(f, "role {role_name}"),
            },
            Self::IamUser { name, .. } => write!(f, "IAM user {name}"),
            Self::Root { account } => write!(f, "root of {account}"),
            Self::Scim => f.write_str("SCIM provisioning"),
            Self::AwsService { service } => write!(f, "AWS service {service}"),
            Self::Guard { role_name } => write!(f, "idc-guard ({role_name})"),
            Self::Unknown { identity_type } => write!(f, "unknown principal ({identity_type})"),
        }
    }
}

/// USER or GROUP (GROUP sorts first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PrincipalType {
    /// A group.
    Group,
    /// An individual user.
    User,
}

impl PrincipalType {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "USER",
            Self::Group => "GROUP",
        }
    }
}

impl fmt::Display for PrincipalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An account assignment: (principal × permission set × account), in one instance. The one
/// type for an assignment: events, inventory, the desired file and corrective actions share it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Assignment {
    /// The Identity Center instance.
    pub instance_arn: InstanceArn,
    /// The target account.
    pub account_id: AccountId,
    /// The permission set.
    pub permission_set_arn: PermissionSetArn,
    /// USER or GROUP.
    pub principal_type: PrincipalType,
    /// The user or group id.
    pub principal_id: String,
}

/// How people know a user or group: a user's user name and display name, a group's display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrincipalNames {
    /// The user name, or the group's display name.
    pub name: String,
    /// A user's display name, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

impl fmt::Display for PrincipalNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.display_name {
            Some(d) if *d != self.name => write!(f, "{} ({d})", self.name),
            _ => f.write_str(&self.name),
        }
    }
}

impl Assignment {
    /// The id findings and the safety state name it by: `account|permission set|TYPE|principal`.
    pub fn resource_id(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.account_id, self.permission_set_arn, self.principal_type, self.principal_id
        )
    }
}

/// A session duration as Identity Center accepts it: the sso-admin model's `Duration`, an ISO 8601
/// duration such as `PT8H` (`(-?)P(?=\d|T\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)([DW]))?(?:T(?:(\d+)H)?
/// (?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?`, at most 100 characters; botocore's
/// `data/sso-admin/2020-07-20/service-2.json`, shape `Duration`).
///
/// Every form the pattern accepts parses (leading zeros, fractional seconds, weeks, days, and
/// years and months too), normalised to seconds for comparison: fractions round up, a year counts
/// as 365 days and a month as 28 (their least), so the value is never under the real length. A
/// negative duration, or a text the pattern does not accept read from a live permission set,
/// compares as longer than any cap: it fails closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct SessionDuration {
    text: String,
    seconds: u64,
}

/// The longest duration text the model accepts.
const MAX_DURATION_TEXT: usize = 100;

/// Reads `\d+` at the start of `text`: its value (saturating) and the rest.
fn number(text: &str) -> Option<(u64, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let value = text[..digits]
        .bytes()
        .fold(0u64, |v, d| v.saturating_mul(10).saturating_add(u64::from(d - b'0')));
    Some((value, &text[digits..]))
}

/// Reads `\d+<unit>` if it is next, adding `value × scale` to `seconds`.
fn component<'t>(text: &'t str, unit: &[char], scale: u64, seconds: &mut u64) -> &'t str {
    match number(text) {
        Some((value, rest)) if rest.starts_with(unit) => {
            *seconds = seconds.saturating_add(value.saturating_mul(scale));
            &rest[1..]
        }
        _ => text,
    }
}

impl SessionDuration {
    /// Parses a duration the sso-admin model accepts; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() || text.len() > MAX_DURATION_TEXT {
            return None;
        }
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let rest = rest.strip_prefix('P')?;
        // The model's lookahead: a digit, or `T` and a digit, follows the `P`.
        let mut after_t = rest.strip_prefix('T').unwrap_or(rest).bytes();
        if !after_t.next().is_some_and(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut seconds = 0u64;
        let rest = component(rest, &['Y'], 365 * 86_400, &mut seconds);
        let rest = component(rest, &['M'], 28 * 86_400, &mut seconds);
        let rest = match number(rest) {
            Some((days, r)) if r.starts_with('D') => {
                seconds = seconds.saturating_add(days.saturating_mul(86_400));
                &r[1..]
            }
            Some((weeks, r)) if r.starts_with('W') => {
                seconds = seconds.saturating_add(weeks.saturating_mul(7 * 86_400));
                &r[1..]
            }
            _ => rest,
        };
        let rest = match rest.strip_prefix('T') {
            Some(time) => {
                let time = component(time, &['H'], 3600, &mut seconds);
                let time = component(time, &['M'], 60, &mut seconds);
                Self::seconds_part(time, &mut seconds)?
            }
            None => rest,
        };
        if !rest.is_empty() {
            return None;
        }
        Some(Self {
            text: text.to_owned(),
            seconds: if negative { u64::MAX } else { seconds },
        })
    }

    /// `\d+(\.\d+)?S`, if next; a fraction rounds up. What is left, or `None` when a
    /// number does not end in `S`.
    fn seconds_part<'t>(time: &'t str, seconds: &mut u64) -> Option<&'t str> {
        let Some((whole, rest)) = number(time) else {
            return Some(time);
        };
        let (fraction, rest) = match rest.strip_prefix('.') {
            Some(r) => {
                let (f, r) = number(r)?;
                (f > 0, r)
            }
            None => (false, rest),
        };
        let rest = rest.strip_prefix('S')?;
        *seconds = seconds.saturating_add(whole).saturating_add(u64::from(fraction));
        Some(rest)
    }

    /// A live value the model would not accept: kept as written, and longer than any cap, so
    /// the rule that judges it fails closed.
    pub fn unparseable(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            seconds: u64::MAX,
        }
    }

    /// The duration as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The duration in seconds, never under its real length (see the type's documentation).
    pub fn seconds(&self) -> u64 {
        self.seconds
    }

    /// The normalised form (`PT8H30M`), or `None` when the duration has no exact length in
    /// seconds (negative, or not accepted by the model).
    pub fn normalised(&self) -> Option<String> {
        if self.seconds == u64::MAX {
            return None;
        }
        let (h, m, s) = (self.seconds / 3600, self.seconds % 3600 / 60, self.seconds % 60);
        let mut out = String::from("PT");
        for (value, unit) in [(h, 'H'), (m, 'M'), (s, 'S')] {
            if value > 0 {
                out.push_str(&format!("{value}{unit}"));
            }
        }
        if out == "PT" {
            out.push_str("0S");
        }
        Some(out)
    }

    /// Identity Center's default when a permission set is created without one: one hour.
    pub fn default_for_new_permission_set() -> Self {
        Self {
            text: "PT1H".to_owned(),
            seconds: 3600,
        }
    }
}

impl From<SessionDuration> for String {
    fn from(value: SessionDuration) -> Self {
        value.text
    }
}

impl fmt::Display for SessionDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A reference to a customer managed policy by name and path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct CustomerManagedPolicyRef {
    /// Policy name.
    pub name: String,
    /// Policy path, `/` by default.
    pub path: String,
}

impl fmt::Display for CustomerManagedPolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.path, self.name)
    }
}

/// A permissions boundary: an AWS managed policy or a customer managed policy reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Boundary {
    /// An AWS managed policy, by ARN.
    ManagedPolicy(String),
    /// A customer managed policy, by name and path.
    CustomerManaged(CustomerManagedPolicyRef),
}

impl Boundary {
    /// Whether two boundaries are the same policy: an AWS managed one whatever its partition, a
    /// customer managed one by name and path.
    pub fn same_as(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::ManagedPolicy(a), Self::ManagedPolicy(b)) => super::ids::same_aws_managed_policy(a, b),
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ManagedPolicy(arn) => f.write_str(arn),
            Self::CustomerManaged(r) => write!(f, "customer managed policy {r}"),
        }
    }
}

/// An inline policy as far as it is known from where it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InlinePolicyText {
    /// The document text.
    Text(String),
    /// CloudTrail redacted the value.
    Redacted,
    /// Logged with so many bytes that it has more than [`InlinePolicyText::MAX_CHARACTERS`]
    /// whatever its escapes: not kept (holding and analysing it would cost many times its size).
    Oversized {
        /// Its length as logged (JSON text), in bytes.
        logged_bytes: usize,
    },
}

impl InlinePolicyText {
    /// The longest inline policy Identity Center accepts, in characters (sso-admin's
    /// `PermissionSetPolicyDocument`: `max` 32768; botocore
    /// `data/sso-admin/2020-07-20/service-2.json`).
    pub const MAX_CHARACTERS: usize = 32_768;

    /// Logged JSON longer than this (in bytes) holds more than [`Self::MAX_CHARACTERS`]
    /// characters: no character takes more than 12 bytes as JSON (`\uD83D\uDE00`), and the
    /// quotes add 2.
    pub const MAX_LOGGED_BYTES: usize = 12 * Self::MAX_CHARACTERS + 2;
}

/// One attribute for access control: a session tag key and its IdP source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct AbacAttribute {
    /// The session tag key, e.g. `team`.
    pub key: String,
    /// The source, e.g. `${path:enterprise.department}`.
    pub source: String,
}

/// A key/value tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tag {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// What happened to a permission set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PermissionSetOp {
    /// CreatePermissionSet.
    Created {
        /// The name (immutable).
        name: String,
        /// Description.
        description: Option<String>,
        /// Session duration as created (Identity Center defaults to PT1H when omitted).
        session_duration: SessionDuration,
        /// Relay state.
        relay_state: Option<String>,
        /// Tags given at creation.
        tags: Vec<Tag>,
    },
    /// UpdatePermissionSet: only the values given in the request.
    Updated {
        /// New description.
        description: Option<String>,
        /// New session duration, when changed.
        session_duration: Option<SessionDuration>,
        /// New relay state.
        relay_state: Option<String>,
    },
    /// DeletePermissionSet.
    Deleted,
    /// PutInlinePolicyToPermissionSet.
    InlinePolicyPut {
        /// The document, unless redacted.
        policy: InlinePolicyText,
    },
    /// DeleteInlinePolicyFromPermissionSet.
    InlinePolicyDeleted,
    /// AttachManagedPolicyToPermissionSet.
    ManagedPolicyAttached {
        /// The AWS managed policy ARN.
        policy_arn: String,
    },
    /// DetachManagedPolicyFromPermissionSet.
    ManagedPolicyDetached {
        /// The AWS managed policy ARN.
        policy_arn: String,
    },
    /// AttachCustomerManagedPolicyReferenceToPermissionSet.
    CustomerManagedPolicyAttached {
        /// The reference.
        reference: CustomerManagedPolicyRef,
    },
    /// DetachCustomerManagedPolicyReferenceFromPermissionSet.
    CustomerManagedPolicyDetached {
        /// The reference.
        reference: CustomerManagedPolicyRef,
    },
    /// PutPermissionsBoundaryToPermissionSet.
    BoundaryPut {
        /// The new boundary.
        boundary: Boundary,
    },
    /// DeletePermissionsBoundaryFromPermissionSet.
    BoundaryDeleted,
    /// ProvisionPermissionSet.
    Provisioned {
        /// The target account, or `None` for all provisioned accounts.
        account_id: Option<AccountId>,
    },
    /// An edit whose parameters did not decode (only the guard sees it, and judges the set live).
    Unreadable {
        /// What did not decode.
        problem: String,
    },
}

/// What happened to the instance's attribute-based access control configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AbacOp {
    /// Create… or Update…InstanceAccessControlAttributeConfiguration: the whole new list.
    Configured {
        /// Whether this was the Create call (else Update).
        created: bool,
        /// The attributes now configured.
        attributes: Vec<AbacAttribute>,
    },
    /// DeleteInstanceAccessControlAttributeConfiguration: ABAC disabled, every mapping gone.
    Deleted,
    /// A change whose parameters did not decode (only the guard sees it, and reads the
    /// configuration live).
    Unreadable {
        /// What did not decode.
        problem: String,
    },
}

/// What happened in the identity store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum IdentityOp {
    /// A user was created.
    UserCreated {
        /// The new user's id, when the response carries it.
        user_id: Option<String>,
    },
    /// A user's attributes changed (UpdateUser, SCIM PatchUser/PutUser).
    UserUpdated {
        /// The user id, when known.
        user_id: Option<String>,
    },
    /// A user was deleted.
    UserDeleted {
        /// The user id, when known.
        user_id: Option<String>,
    },
    /// A user was disabled or enabled from the console.
    UserStatusChanged {
        /// The user id.
        user_id: Option<String>,
        /// `true` for EnableUser, `false` for DisableUser.
        enabled: bool,
    },
    /// A group was created.
    GroupCreated {
        /// The new group's id, when the response carries it.
        group_id: Option<String>,
    },
    /// A group's attributes changed (UpdateGroup; SCIM PatchGroup without member operations).
    GroupUpdated {
        /// The group id, when known.
        group_id: Option<String>,
    },
    /// A group was deleted.
    GroupDeleted {
        /// The group id, when known.
        group_id: Option<String>,
    },
    /// A member was added to a group.
    MemberAdded {
        /// The group, when the event names it.
        group_id: Option<String>,
        /// The user, when the event names it.
        member_id: Option<String>,
        /// The membership id, when the response carries it.
        membership_id: Option<String>,
    },
    /// A member was removed from a group.
    MemberRemoved {
        /// The group, when the event names it.
        group_id: Option<String>,
        /// The user, when the event names it.
        member_id: Option<String>,
        /// The membership id, when the request carries it.
        membership_id: Option<String>,
    },
    /// SCIM PatchGroup: memberships and/or attributes changed.
    GroupPatched {
        /// The group id.
        group_id: Option<String>,
        /// The members its `remove` operations name (track C: `scim-mass-removal`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        removed: Vec<String>,
    },
}

/// What changed, source-agnostic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeKind {
    /// CreateAccountAssignment.
    AssignmentCreated(Assignment),
    /// DeleteAccountAssignment.
    AssignmentDeleted(Assignment),
    /// A change to one permission set.
    PermissionSet {
        /// The instance.
        instance_arn: InstanceArn,
        /// The permission set.
        permission_set_arn: PermissionSetArn,
        /// What happened.
        #[serde(flatten)]
        op: PermissionSetOp,
    },
    /// A change to the instance's ABAC configuration.
    AccessControlAttributes {
        /// The instance.
        instance_arn: InstanceArn,
        /// What happened.
        #[serde(flatten)]
        op: AbacOp,
    },
    /// TagResource or UntagResource on an Identity Center resource.
    Tags {
        /// The instance.
        instance_arn: InstanceArn,
        /// The tagged resource.
        resource_arn: String,
        /// Tags added (TagResource).
        added: Vec<Tag>,
        /// Keys removed (UntagResource).
        removed: Vec<String>,
    },
    /// A write to the identity store (public API, console, or SCIM).
    Identity {
        /// The identity store, when the event names it (SCIM events carry a tenant id instead).
        identity_store_id: Option<IdentityStoreId>,
        /// What happened.
        #[serde(flatten)]
        op: IdentityOp,
    },
    /// A signal about SCIM provisioning's health (an AWS Health notice, a SCIM call refused for
    /// its credentials, the reconciler's check): not a write (track C).
    Scim(super::scim::ScimSignal),
    /// CreateEntitlement (account access manager, issue #19).
    EntitlementCreated(super::entitlement::Entitlement),
    /// DeleteEntitlement.
    EntitlementDeleted {
        /// The application that held it.
        application_arn: super::ids::AccessApplicationArn,
        /// The entitlement.
        entitlement_id: super::ids::EntitlementId,
    },
    /// PutApplicationAccessScope or DeleteApplicationAccessScope (issue #19).
    AccessScope {
        /// The customer managed application.
        application_arn: super::ids::ApplicationArn,
        /// The scope, e.g. `sso:account:access`.
        scope: String,
        /// What happened.
        #[serde(flatten)]
        op: super::entitlement::AccessScopeOp,
    },
}

impl ChangeKind {
    /// The Identity Center instance the change belongs to, when it names one.
    pub fn instance_arn(&self) -> Option<&InstanceArn> {
        match self {
            Self::AssignmentCreated(a) | Self::AssignmentDeleted(a) => Some(&a.instance_arn),
            Self::PermissionSet { instance_arn, .. }
            | Self::AccessControlAttributes { instance_arn, .. }
            | Self::Tags { instance_arn, .. } => Some(instance_arn),
            // Account access manager's applications name no instance; an access scope's
            // application names its instance by id only (`engine` compares it).
            Self::Identity { .. }
            | Self::Scim(_)
            | Self::EntitlementCreated(_)
            | Self::EntitlementDeleted { .. }
            | Self::AccessScope { .. } => None,
        }
    }

    /// The resource the change touched, as findings name it.
    pub fn resource(&self) -> Resource {
        match self {
            Self::AssignmentCreated(a) | Self::AssignmentDeleted(a) => {
                let mut r = Resource::new(ResourceKind::AccountAssignment, a.resource_id());
                r.permission_set_arn = Some(a.permission_set_arn.to_string());
                r.account_id = Some(a.account_id.to_string());
                r.principal_id = Some(a.principal_id.clone());
                r
            }
            Self::PermissionSet { permission_set_arn, .. } => {
                let mut r = Resource::new(ResourceKind::PermissionSet, permission_set_arn.as_str());
                r.permission_set_arn = Some(permission_set_arn.to_string());
                r
            }
            Self::AccessControlAttributes { instance_arn, .. } => {
                Resource::new(ResourceKind::Instance, instance_arn.as_str())
            }
            Self::Tags { resource_arn, .. } => Resource::new(ResourceKind::PermissionSet, resource_arn.as_str()),
            Self::Identity { identity_store_id, .. } => Resource::new(
                ResourceKind::IdentityStore,
                identity_store_id
                    .as_ref()
                    .map_or_else(|| "unknown".to_owned(), ToString::to_string),
            ),
            Self::Scim(_) => Resource::new(ResourceKind::IdentityStore, "scim-provisioning"),
            Self::EntitlementCreated(e) => e.resource(),
            Self::EntitlementDeleted {
                application_arn,
                entitlement_id,
            } => Resource::new(
                ResourceKind::Entitlement,
                format!("{application_arn}/entitlement/{entitlement_id}"),
            ),
            Self::AccessScope {
                application_arn, scope, ..
            } => Resource::new(ResourceKind::Application, format!("{application_arn}#{scope}")),
        }
    }

    /// The id of what the change wrote, as idc-guard's own-call journal names it: an
    /// assignment's resource id, a permission set's ARN, the instance's ARN (ABAC), a removed
    /// membership's id. `None` for what idc-guard never writes.
    pub fn written_id(&self) -> Option<String> {
        match self {
            Self::AssignmentCreated(a) | Self::AssignmentDeleted(a) => Some(a.resource_id()),
            Self::PermissionSet { permission_set_arn, .. } => Some(permission_set_arn.to_string()),
            Self::AccessControlAttributes { instance_arn, .. } => Some(instance_arn.to_string()),
            Self::Identity {
                op:
                    IdentityOp::MemberRemoved {
                        membership_id: Some(id),
                        ..
                    },
                ..
            } => Some(id.clone()),
            Self::EntitlementCreated(e) => Some(e.resource_id()),
            Self::EntitlementDeleted {
                application_arn,
                entitlement_id,
            } => Some(format!("{application_arn}/entitlement/{entitlement_id}")),
            Self::AccessScope {
                application_arn, scope, ..
            } => Some(format!("{application_arn}#{scope}")),
            Self::Identity { .. } | Self::Tags { .. } | Self::Scim(_) => None,
        }
    }

    /// The permission set the change is about, if any.
    pub fn permission_set_arn(&self) -> Option<&PermissionSetArn> {
        match self {
            Self::AssignmentCreated(a) | Self::AssignmentDeleted(a) => Some(&a.permission_set_arn),
            Self::PermissionSet { permission_set_arn, .. } => Some(permission_set_arn),
            _ => None,
        }
    }
}

/// A decoded, actionable change: the record's metadata, its actor, and what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Record metadata.
    pub meta: EventMeta,
    /// Who made the change.
    pub actor: Actor,
    /// What changed.
    pub kind: ChangeKind,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The sso-admin model's `Duration` pattern, whole (regex has no lookahead: it is the
    /// second condition).
    fn model_accepts(text: &str) -> bool {
        let pattern = regex::Regex::new(
            r"^(-?)P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)([DW]))?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$",
        )
        .unwrap();
        let after_p = text.trim_start_matches('-').strip_prefix('P').unwrap_or_default();
        let lookahead = after_p.starts_with(|c: char| c.is_ascii_digit())
            || after_p
                .strip_prefix('T')
                .is_some_and(|t| t.starts_with(|c: char| c.is_ascii_digit()));
        text.len() <= 100 && pattern.is_match(text) && lookahead
    }

    proptest! {
        // Any text over the pattern's alphabet: parsed exactly when the model accepts it.
        #[test]
        fn durations_parse_exactly_when_the_model_accepts_them(text in "-?P?[0-9YMWDTHS.]{0,12}") {
            prop_assert_eq!(SessionDuration::parse(&text).is_some(), model_accepts(&text), "{}", text);
        }

        // Every form built from components parses to its length, never under it.
        #[test]
        fn built_durations_parse_to_their_seconds(
            days in proptest::option::of(0u64..30),
            hours in proptest::option::of(0u64..48),
            minutes in proptest::option::of(0u64..120),
            seconds in proptest::option::of((0u64..100_000, proptest::option::of(0u64..1000))),
            zeros in 0usize..3,
        ) {
            let pad = "0".repeat(zeros);
            let mut text = String::from("P");
            let mut expected = 0u64;
            if let Some(d) = days { text.push_str(&format!("{pad}{d}D")); expected += d * 86_400; }
            let time = hours.is_some() || minutes.is_some() || seconds.is_some();
            if time { text.push('T'); }
            if let Some(h) = hours { text.push_str(&format!("{pad}{h}H")); expected += h * 3600; }
            if let Some(m) = minutes { text.push_str(&format!("{m}M")); expected += m * 60; }
            if let Some((s, fraction)) = seconds {
                match fraction {
                    Some(f) => { text.push_str(&format!("{s}.{f:03}S")); expected += s + u64::from(f > 0); }
                    None => { text.push_str(&format!("{s}S")); expected += s; }
                }
            }
            prop_assume!(model_accepts(&text));
            prop_assert_eq!(SessionDuration::parse(&text).map(|d| d.seconds()), Some(expected), "{}", text);
        }
    }

    #[test]
    fn session_durations_parse_to_seconds() {
        let cases = [
            ("PT1H", Some(3600)),
            ("PT12H", Some(43_200)),
            ("PT90M", Some(5400)),
            ("PT1H30M", Some(5400)),
            ("PT3600S", Some(3600)),
            ("P1D", Some(86_400)),
            ("P1DT1H", Some(90_000)),
            // The model's other forms: leading zeros, fractions, weeks, an empty time part.
            ("PT01H", Some(3600)),
            ("PT0001H", Some(3600)),
            ("PT3599.5S", Some(3600)),
            ("PT3600.0S", Some(3600)),
            ("P0DT1H", Some(3600)),
            ("P1W", Some(604_800)),
            ("P1DT", Some(86_400)),
            ("P0Y0M0DT8H", Some(28_800)),
            ("P1M", Some(28 * 86_400)),
            ("P1Y", Some(365 * 86_400)),
            ("-PT1H", Some(u64::MAX)),
            ("PT99999999999H", Some(359_999_999_996_400)),
            ("PT99999999999999999999H", Some(u64::MAX)),
            ("PT", None),
            ("P", None),
            ("PT1", None),
            ("PT1X", None),
            ("1H", None),
            ("PT30M1H", None),
            ("PT1H1H", None),
            ("PT1.5H", None),
            ("P1DW", None),
            ("P1W1D", None),
            ("PT1.S", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(SessionDuration::parse(text).map(|d| d.seconds()), expected, "{text}");
        }
        assert!(SessionDuration::parse(&format!("PT{}H", "0".repeat(98))).is_none());
        assert_eq!(
            SessionDuration::parse("P0DT8H30M").and_then(|d| d.normalised()),
            Some("PT8H30M".to_owned())
        );
    }
}
