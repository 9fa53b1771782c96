//! The domain model: what changed, who changed it, and the values involved.
//!
//! These types are the vocabulary shared by the event decoder, the rules and (later) the
//! adapters. They are not deserialised from AWS wire formats: that is the job of
//! [`crate::event`] (CloudTrail) and of the SDK adapters. They serialise for reports.

use serde::Serialize;
use std::fmt;

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
}

impl EventSource {
    /// Recognises a CloudTrail `eventSource`.
    pub fn from_event_source(value: &str) -> Option<Self> {
        Some(match value {
            "sso.amazonaws.com" => Self::SsoAdmin,
            "identitystore.amazonaws.com" => Self::IdentityStore,
            "sso-directory.amazonaws.com" => Self::SsoDirectory,
            "identitystore-scim.amazonaws.com" => Self::Scim,
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
        }
    }

    /// The EventBridge `source` value.
    pub fn eventbridge_source(&self) -> &'static str {
        match self {
            Self::SsoAdmin => "aws.sso",
            Self::IdentityStore => "aws.identitystore",
            Self::SsoDirectory => "aws.sso-directory",
            Self::Scim => "aws.identitystore-scim",
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

impl Assignment {
    /// The id findings and the safety state name it by: `account|permission set|TYPE|principal`.
    pub fn resource_id(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.account_id, self.permission_set_arn, self.principal_type, self.principal_id
        )
    }
}

/// An ISO 8601 session duration, e.g. `PT8H`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct SessionDuration {
    text: String,
    seconds: u64,
}

impl SessionDuration {
    /// Parses the subset of ISO 8601 durations Identity Center uses: `P[nD][T[nH][nM][nS]]`.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix('P')?;
        let (date, time) = match rest.split_once('T') {
            Some((d, t)) => (d, Some(t)),
            None => (rest, None),
        };
        let mut seconds: u64 = 0;
        let mut any = false;
        for (part, units) in [
            (date, &[('D', 86_400u64)][..]),
            (time.unwrap_or(""), &[('H', 3600), ('M', 60), ('S', 1)][..]),
        ] {
            let mut rest = part;
            let mut last_unit = 0usize;
            while !rest.is_empty() {
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                if digits == 0 || digits > 9 {
                    return None;
                }
                let value: u64 = rest[..digits].parse().ok()?;
                let unit = rest[digits..].chars().next()?;
                let position = units.iter().position(|(u, _)| *u == unit)?;
                if position < last_unit {
                    return None;
                }
                last_unit = position + 1;
                seconds = seconds.checked_add(value.checked_mul(units[position].1)?)?;
                any = true;
                rest = &rest[digits + 1..];
            }
        }
        if !any || time == Some("") {
            return None;
        }
        Some(Self {
            text: text.to_owned(),
            seconds,
        })
    }

    /// The duration as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The duration in seconds.
    pub fn seconds(&self) -> u64 {
        self.seconds
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
}

impl ChangeKind {
    /// The Identity Center instance the change belongs to, when it names one.
    pub fn instance_arn(&self) -> Option<&InstanceArn> {
        match self {
            Self::AssignmentCreated(a) | Self::AssignmentDeleted(a) => Some(&a.instance_arn),
            Self::PermissionSet { instance_arn, .. }
            | Self::AccessControlAttributes { instance_arn, .. }
            | Self::Tags { instance_arn, .. } => Some(instance_arn),
            Self::Identity { .. } => None,
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
            ("PT", None),
            ("P", None),
            ("PT1", None),
            ("PT1X", None),
            ("1H", None),
            ("PT30M1H", None),
            ("PT1H1H", None),
            ("", None),
            ("PT99999999999H", None),
        ];
        for (text, expected) in cases {
            assert_eq!(SessionDuration::parse(text).map(|d| d.seconds()), expected, "{text}");
        }
    }
}
