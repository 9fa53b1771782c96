//! The CloudTrail record and the request/response shapes of each handled event name.
//!
//! Keys are lowerCamelCase as CloudTrail writes them. Only the fields idc-guard uses are read;
//! unknown fields are ignored, since AWS adds fields over time. Identifiers are validated here,
//! so a malformed id is reported with its path instead of travelling on.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use super::actor::UserIdentity;
use super::{Body, DecodeError, Decoded, parse};
use crate::domain::{
    AbacAttribute, AbacOp, Assignment, Boundary, ChangeKind, CustomerManagedPolicyRef, EventMeta, EventSource,
    IdentityOp, InlinePolicyText, PermissionSetOp, PrincipalType, SessionDuration, Tag,
};
use crate::domain::{AccountId, IdError, IdentityStoreId, InstanceArn, PermissionSetArn};

pub(super) const SSO_ADMIN_EVENTS: &[&str] = &[
    "CreateAccountAssignment",
    "DeleteAccountAssignment",
    "CreatePermissionSet",
    "UpdatePermissionSet",
    "DeletePermissionSet",
    "PutInlinePolicyToPermissionSet",
    "DeleteInlinePolicyFromPermissionSet",
    "AttachManagedPolicyToPermissionSet",
    "DetachManagedPolicyFromPermissionSet",
    "AttachCustomerManagedPolicyReferenceToPermissionSet",
    "DetachCustomerManagedPolicyReferenceFromPermissionSet",
    "PutPermissionsBoundaryToPermissionSet",
    "DeletePermissionsBoundaryFromPermissionSet",
    "ProvisionPermissionSet",
    "CreateInstanceAccessControlAttributeConfiguration",
    "UpdateInstanceAccessControlAttributeConfiguration",
    "DeleteInstanceAccessControlAttributeConfiguration",
    "TagResource",
    "UntagResource",
];
pub(super) const IDENTITY_STORE_EVENTS: &[&str] = &[
    "CreateUser",
    "UpdateUser",
    "DeleteUser",
    "CreateGroup",
    "UpdateGroup",
    "DeleteGroup",
    "CreateGroupMembership",
    "DeleteGroupMembership",
];
pub(super) const SSO_DIRECTORY_EVENTS: &[&str] = &[
    "AddMemberToGroup",
    "RemoveMemberFromGroup",
    "CreateUser",
    "UpdateUser",
    "DeleteUser",
    "DisableUser",
    "EnableUser",
    "CreateGroup",
    "UpdateGroup",
    "DeleteGroup",
];
pub(super) const SCIM_EVENTS: &[&str] = &[
    "CreateUser",
    "PatchUser",
    "PutUser",
    "DeleteUser",
    "CreateGroup",
    "PatchGroup",
    "DeleteGroup",
];

/// CloudTrail writes this instead of sensitive values.
pub(crate) const REDACTED: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    event_version: Option<String>,
    #[serde(borrow)]
    user_identity: Option<&'a RawValue>,
    event_time: Option<String>,
    event_source: String,
    event_name: String,
    aws_region: Option<String>,
    user_agent: Option<String>,
    error_code: Option<String>,
    #[serde(borrow)]
    request_parameters: Option<&'a RawValue>,
    #[serde(borrow)]
    response_elements: Option<&'a RawValue>,
    #[serde(rename = "requestID")]
    request_id: Option<String>,
    #[serde(rename = "eventID")]
    event_id: String,
    #[serde(rename = "sharedEventID")]
    shared_event_id: Option<String>,
    read_only: Option<Value>,
    recipient_account_id: Option<String>,
    session_credential_from_console: Option<Value>,
}

/// Decodes a CloudTrail record; `prefix` is its path in the input (`detail.` or empty).
pub(super) fn decode_record(json: &str, prefix: &str) -> Result<Decoded, DecodeError> {
    let record: Record<'_> = parse(json, prefix)?;
    let at = |field: &str| format!("{prefix}{field}");
    if let Some(version) = &record.event_version
        && version.split('.').next() != Some("1")
    {
        return Err(DecodeError::new(
            at("eventVersion"),
            format!("unsupported CloudTrail record version {version:?} (idc-guard reads 1.x)"),
        ));
    }
    let source = EventSource::from_event_source(&record.event_source);
    let user_identity: UserIdentity = match record.user_identity {
        Some(raw) => parse(raw.get(), &at("userIdentity"))?,
        None => return Err(DecodeError::new(at("userIdentity"), "missing")),
    };
    let actor = user_identity.classify(source.as_ref());
    let console = record.user_agent.as_deref() == Some("AWS Internal")
        || matches!(&record.session_credential_from_console, Some(Value::String(s)) if s == "true")
        || matches!(record.session_credential_from_console, Some(Value::Bool(true)));
    let read_only = match &record.read_only {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    } || ["List", "Get", "Describe"]
        .iter()
        .any(|p| record.event_name.starts_with(p));
    let meta = EventMeta {
        event_id: record.event_id,
        shared_event_id: record.shared_event_id,
        envelope_id: None,
        event_name: record.event_name,
        event_source: record.event_source,
        source: source.clone(),
        event_time: record.event_time.unwrap_or_default(),
        region: record.aws_region.unwrap_or_default(),
        account: record.recipient_account_id.unwrap_or_default(),
        request_id: record.request_id,
        console,
    };
    let body = if let Some(error_code) = record.error_code {
        Body::Failed { error_code }
    } else if read_only {
        Body::ReadOnly
    } else {
        let params = Params {
            request: record.request_parameters,
            response: record.response_elements,
            prefix,
        };
        let kind = match source {
            Some(EventSource::SsoAdmin) => sso_admin(&meta.event_name, &params)?,
            Some(EventSource::IdentityStore) => identity_store(&meta.event_name, &params)?,
            Some(EventSource::SsoDirectory) => sso_directory(&meta.event_name, &params)?,
            Some(EventSource::Scim) => scim(&meta.event_name, &params)?,
            None => None,
        };
        match kind {
            Some(kind) => Body::Change(kind),
            None => Body::Unhandled,
        }
    };
    Ok(Decoded { meta, actor, body })
}

struct Params<'a> {
    request: Option<&'a RawValue>,
    response: Option<&'a RawValue>,
    prefix: &'a str,
}

impl Params<'_> {
    fn path(&self, part: &str, field: &str) -> String {
        format!("{}{part}.{field}", self.prefix)
    }

    fn request<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        let path = format!("{}requestParameters", self.prefix);
        match self.request {
            Some(raw) if raw.get() != "null" => parse(raw.get(), &path),
            _ => Err(DecodeError::new(
                path,
                "missing: this event carries its parameters here",
            )),
        }
    }

    /// The response, or `T::default()` when the call returned nothing.
    fn response<T: DeserializeOwned + Default>(&self) -> Result<T, DecodeError> {
        match self.response {
            Some(raw) if raw.get() != "null" => parse(raw.get(), &format!("{}responseElements", self.prefix)),
            _ => Ok(T::default()),
        }
    }

    fn id<T>(&self, field: &str, value: &str, parse_id: fn(&str) -> Result<T, IdError>) -> Result<T, DecodeError> {
        parse_id(value).map_err(|e| DecodeError::new(self.path("requestParameters", field), e.to_string()))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PsTarget {
    instance_arn: String,
    permission_set_arn: String,
}

impl PsTarget {
    fn of(instance_arn: String, permission_set_arn: String) -> Self {
        Self {
            instance_arn,
            permission_set_arn,
        }
    }

    fn ids(&self, p: &Params<'_>) -> Result<(InstanceArn, PermissionSetArn), DecodeError> {
        let instance = p.id("instanceArn", &self.instance_arn, InstanceArn::parse)?;
        let ps = p.id("permissionSetArn", &self.permission_set_arn, PermissionSetArn::parse)?;
        if !ps.belongs_to(&instance) {
            return Err(DecodeError::new(
                p.path("requestParameters", "permissionSetArn"),
                format!("{ps} does not belong to instance {instance}"),
            ));
        }
        Ok((instance, ps))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssignmentParams {
    instance_arn: String,
    target_id: String,
    target_type: String,
    permission_set_arn: String,
    principal_type: String,
    principal_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatePsParams {
    instance_arn: String,
    name: String,
    description: Option<String>,
    session_duration: Option<String>,
    relay_state: Option<String>,
    #[serde(default)]
    tags: Vec<TagParam>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreatePsResponse {
    permission_set: Option<CreatedPs>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatedPs {
    permission_set_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdatePsParams {
    // Not `#[serde(flatten)]`: flattening loses the field path in type errors.
    instance_arn: String,
    permission_set_arn: String,
    description: Option<String>,
    session_duration: Option<String>,
    relay_state: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InlineParams {
    // Not `#[serde(flatten)]`: flattening loses the field path in type errors.
    instance_arn: String,
    permission_set_arn: String,
    inline_policy: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManagedParams {
    // Not `#[serde(flatten)]`: flattening loses the field path in type errors.
    instance_arn: String,
    permission_set_arn: String,
    managed_policy_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CmpParams {
    // Not `#[serde(flatten)]`: flattening loses the field path in type errors.
    instance_arn: String,
    permission_set_arn: String,
    customer_managed_policy_reference: CmpRef,
}

#[derive(Deserialize)]
struct CmpRef {
    name: String,
    path: Option<String>,
}

impl From<CmpRef> for CustomerManagedPolicyRef {
    fn from(r: CmpRef) -> Self {
        Self {
            name: r.name,
            path: r.path.unwrap_or_else(|| "/".to_owned()),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BoundaryParams {
    // Not `#[serde(flatten)]`: flattening loses the field path in type errors.
    instance_arn: String,
    permission_set_arn: String,
    permissions_boundary: BoundaryParam,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BoundaryParam {
    managed_policy_arn: Option<String>,
    customer_managed_policy_reference: Option<CmpRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProvisionParams {
    // Not `#[serde(flatten)]`: flattening loses the field path in type errors.
    instance_arn: String,
    permission_set_arn: String,
    target_type: String,
    target_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstanceParams {
    instance_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AbacParams {
    instance_arn: String,
    instance_access_control_attribute_configuration: AbacConfig,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AbacConfig {
    access_control_attributes: Vec<AbacAttr>,
}

#[derive(Deserialize)]
struct AbacAttr {
    key: String,
    value: AbacValue,
}

#[derive(Deserialize)]
struct AbacValue {
    source: Vec<String>,
}

#[derive(Deserialize)]
struct TagParam {
    key: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagParams {
    instance_arn: String,
    resource_arn: String,
    #[serde(default)]
    tags: Vec<TagParam>,
    #[serde(default)]
    tag_keys: Vec<String>,
}

fn duration(p: &Params<'_>, field: &str, text: &str) -> Result<SessionDuration, DecodeError> {
    SessionDuration::parse(text).ok_or_else(|| {
        DecodeError::new(
            p.path("requestParameters", field),
            format!("{text:?} is not an ISO 8601 duration"),
        )
    })
}

fn tags(list: Vec<TagParam>) -> Vec<Tag> {
    list.into_iter()
        .map(|t| Tag {
            key: t.key,
            value: t.value,
        })
        .collect()
}

fn sso_admin(name: &str, p: &Params<'_>) -> Result<Option<ChangeKind>, DecodeError> {
    let ps_change = |target: PsTarget, op: PermissionSetOp| -> Result<ChangeKind, DecodeError> {
        let (instance_arn, permission_set_arn) = target.ids(p)?;
        Ok(ChangeKind::PermissionSet {
            instance_arn,
            permission_set_arn,
            op,
        })
    };
    let kind = match name {
        "CreateAccountAssignment" | "DeleteAccountAssignment" => {
            let a: AssignmentParams = p.request()?;
            if a.target_type != "AWS_ACCOUNT" {
                return Err(DecodeError::new(
                    p.path("requestParameters", "targetType"),
                    format!("expected \"AWS_ACCOUNT\", found {:?}", a.target_type),
                ));
            }
            let principal_type = match a.principal_type.as_str() {
                "USER" => PrincipalType::User,
                "GROUP" => PrincipalType::Group,
                other => {
                    return Err(DecodeError::new(
                        p.path("requestParameters", "principalType"),
                        format!("expected \"USER\" or \"GROUP\", found {other:?}"),
                    ));
                }
            };
            let (instance_arn, permission_set_arn) = PsTarget {
                instance_arn: a.instance_arn,
                permission_set_arn: a.permission_set_arn,
            }
            .ids(p)?;
            if a.principal_id.is_empty() || a.principal_id.len() > 47 {
                return Err(DecodeError::new(
                    p.path("requestParameters", "principalId"),
                    format!("{:?} is not a user or group id", a.principal_id),
                ));
            }
            let assignment = Assignment {
                instance_arn,
                account_id: p.id("targetId", &a.target_id, AccountId::parse)?,
                permission_set_arn,
                principal_type,
                principal_id: a.principal_id,
            };
            if name == "CreateAccountAssignment" {
                ChangeKind::AssignmentCreated(assignment)
            } else {
                ChangeKind::AssignmentDeleted(assignment)
            }
        }
        "CreatePermissionSet" => {
            let r: CreatePsParams = p.request()?;
            let response: CreatePsResponse = p.response()?;
            let arn = response.permission_set.map(|c| c.permission_set_arn).ok_or_else(|| {
                DecodeError::new(
                    p.path("responseElements", "permissionSet.permissionSetArn"),
                    "missing: the new permission set's ARN is only in the response",
                )
            })?;
            let instance_arn = p.id("instanceArn", &r.instance_arn, InstanceArn::parse)?;
            let permission_set_arn = PermissionSetArn::parse(&arn).map_err(|e| {
                DecodeError::new(
                    p.path("responseElements", "permissionSet.permissionSetArn"),
                    e.to_string(),
                )
            })?;
            let session_duration = match &r.session_duration {
                Some(d) => duration(p, "sessionDuration", d)?,
                None => SessionDuration::default_for_new_permission_set(),
            };
            ChangeKind::PermissionSet {
                instance_arn,
                permission_set_arn,
                op: PermissionSetOp::Created {
                    name: r.name,
                    description: r.description,
                    session_duration,
                    relay_state: r.relay_state,
                    tags: tags(r.tags),
                },
            }
        }
        "UpdatePermissionSet" => {
            let r: UpdatePsParams = p.request()?;
            let session_duration = r
                .session_duration
                .as_deref()
                .map(|d| duration(p, "sessionDuration", d))
                .transpose()?;
            ps_change(
                PsTarget::of(r.instance_arn, r.permission_set_arn),
                PermissionSetOp::Updated {
                    description: r.description,
                    session_duration,
                    relay_state: r.relay_state,
                },
            )?
        }
        "DeletePermissionSet" => ps_change(p.request()?, PermissionSetOp::Deleted)?,
        "PutInlinePolicyToPermissionSet" => {
            let r: InlineParams = p.request()?;
            let policy = match r.inline_policy {
                Some(Value::String(s)) if s == REDACTED => InlinePolicyText::Redacted,
                Some(Value::String(s)) => InlinePolicyText::Text(s),
                Some(Value::Null) | None => InlinePolicyText::Redacted,
                // Logged as a JSON document rather than a string: analyse the same text.
                Some(other) => InlinePolicyText::Text(other.to_string()),
            };
            ps_change(
                PsTarget::of(r.instance_arn, r.permission_set_arn),
                PermissionSetOp::InlinePolicyPut { policy },
            )?
        }
        "DeleteInlinePolicyFromPermissionSet" => ps_change(p.request()?, PermissionSetOp::InlinePolicyDeleted)?,
        "AttachManagedPolicyToPermissionSet" | "DetachManagedPolicyFromPermissionSet" => {
            let r: ManagedParams = p.request()?;
            let policy_arn = r.managed_policy_arn;
            let op = if name.starts_with("Attach") {
                PermissionSetOp::ManagedPolicyAttached { policy_arn }
            } else {
                PermissionSetOp::ManagedPolicyDetached { policy_arn }
            };
            ps_change(PsTarget::of(r.instance_arn, r.permission_set_arn), op)?
        }
        "AttachCustomerManagedPolicyReferenceToPermissionSet"
        | "DetachCustomerManagedPolicyReferenceFromPermissionSet" => {
            let r: CmpParams = p.request()?;
            let reference = r.customer_managed_policy_reference.into();
            let op = if name.starts_with("Attach") {
                PermissionSetOp::CustomerManagedPolicyAttached { reference }
            } else {
                PermissionSetOp::CustomerManagedPolicyDetached { reference }
            };
            ps_change(PsTarget::of(r.instance_arn, r.permission_set_arn), op)?
        }
        "PutPermissionsBoundaryToPermissionSet" => {
            let r: BoundaryParams = p.request()?;
            let boundary = match (
                r.permissions_boundary.managed_policy_arn,
                r.permissions_boundary.customer_managed_policy_reference,
            ) {
                (Some(arn), None) => Boundary::ManagedPolicy(arn),
                (None, Some(reference)) => Boundary::CustomerManaged(reference.into()),
                _ => {
                    return Err(DecodeError::new(
                        p.path("requestParameters", "permissionsBoundary"),
                        "expected exactly one of managedPolicyArn and customerManagedPolicyReference",
                    ));
                }
            };
            ps_change(
                PsTarget::of(r.instance_arn, r.permission_set_arn),
                PermissionSetOp::BoundaryPut { boundary },
            )?
        }
        "DeletePermissionsBoundaryFromPermissionSet" => ps_change(p.request()?, PermissionSetOp::BoundaryDeleted)?,
        "ProvisionPermissionSet" => {
            let r: ProvisionParams = p.request()?;
            let account_id = match (r.target_type.as_str(), r.target_id) {
                ("ALL_PROVISIONED_ACCOUNTS", _) => None,
                ("AWS_ACCOUNT", Some(id)) => Some(p.id("targetId", &id, AccountId::parse)?),
                ("AWS_ACCOUNT", None) => {
                    return Err(DecodeError::new(
                        p.path("requestParameters", "targetId"),
                        "missing for targetType AWS_ACCOUNT",
                    ));
                }
                (other, _) => {
                    return Err(DecodeError::new(
                        p.path("requestParameters", "targetType"),
                        format!("expected \"AWS_ACCOUNT\" or \"ALL_PROVISIONED_ACCOUNTS\", found {other:?}"),
                    ));
                }
            };
            ps_change(
                PsTarget::of(r.instance_arn, r.permission_set_arn),
                PermissionSetOp::Provisioned { account_id },
            )?
        }
        "CreateInstanceAccessControlAttributeConfiguration" | "UpdateInstanceAccessControlAttributeConfiguration" => {
            let r: AbacParams = p.request()?;
            let instance_arn = p.id("instanceArn", &r.instance_arn, InstanceArn::parse)?;
            let mut attributes = Vec::new();
            for (i, a) in r
                .instance_access_control_attribute_configuration
                .access_control_attributes
                .into_iter()
                .enumerate()
            {
                let [source] = <[String; 1]>::try_from(a.value.source).map_err(|s| {
                    DecodeError::new(
                        p.path(
                            "requestParameters",
                            &format!(
                                "instanceAccessControlAttributeConfiguration.accessControlAttributes[{i}].value.source"
                            ),
                        ),
                        format!("expected exactly one source, found {}", s.len()),
                    )
                })?;
                attributes.push(AbacAttribute { key: a.key, source });
            }
            ChangeKind::AccessControlAttributes {
                instance_arn,
                op: AbacOp::Configured {
                    created: name.starts_with("Create"),
                    attributes,
                },
            }
        }
        "DeleteInstanceAccessControlAttributeConfiguration" => {
            let r: InstanceParams = p.request()?;
            ChangeKind::AccessControlAttributes {
                instance_arn: p.id("instanceArn", &r.instance_arn, InstanceArn::parse)?,
                op: AbacOp::Deleted,
            }
        }
        "TagResource" | "UntagResource" => {
            let r: TagParams = p.request()?;
            ChangeKind::Tags {
                instance_arn: p.id("instanceArn", &r.instance_arn, InstanceArn::parse)?,
                resource_arn: r.resource_arn,
                added: tags(r.tags),
                removed: r.tag_keys,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(kind))
}

/// Identity store requests: the store id and whichever ids the event names.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct IdentityParams {
    identity_store_id: Option<String>,
    user_id: Option<String>,
    group_id: Option<String>,
    membership_id: Option<String>,
    member_id: Option<MemberId>,
    member: Option<Member>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MemberId {
    user_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Member {
    member_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct IdentityResponse {
    user_id: Option<String>,
    group_id: Option<String>,
    membership_id: Option<String>,
    user: Option<IdentityResponseInner>,
    group: Option<IdentityResponseInner>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct IdentityResponseInner {
    user_id: Option<String>,
    group_id: Option<String>,
}

/// Hides redacted ids: a redacted value is an unknown one.
fn visible(id: Option<String>) -> Option<String> {
    id.filter(|s| s != REDACTED && !s.is_empty())
}

fn identity_change(p: &Params<'_>, r: &IdentityParams, op: IdentityOp) -> Result<ChangeKind, DecodeError> {
    let identity_store_id = match r.identity_store_id.as_deref() {
        Some(id) => Some(p.id("identityStoreId", id, IdentityStoreId::parse)?),
        None => None,
    };
    Ok(ChangeKind::Identity { identity_store_id, op })
}

fn identity_store(name: &str, p: &Params<'_>) -> Result<Option<ChangeKind>, DecodeError> {
    if !IDENTITY_STORE_EVENTS.contains(&name) {
        return Ok(None);
    }
    let r: IdentityParams = p.request()?;
    let resp: IdentityResponse = p.response()?;
    let op = match name {
        "CreateUser" => IdentityOp::UserCreated {
            user_id: visible(resp.user_id),
        },
        "UpdateUser" => IdentityOp::UserUpdated {
            user_id: visible(r.user_id.clone()),
        },
        "DeleteUser" => IdentityOp::UserDeleted {
            user_id: visible(r.user_id.clone()),
        },
        "CreateGroup" => IdentityOp::GroupCreated {
            group_id: visible(resp.group_id),
        },
        "UpdateGroup" => IdentityOp::GroupUpdated {
            group_id: visible(r.group_id.clone()),
        },
        "DeleteGroup" => IdentityOp::GroupDeleted {
            group_id: visible(r.group_id.clone()),
        },
        "CreateGroupMembership" => IdentityOp::MemberAdded {
            group_id: visible(r.group_id.clone()),
            member_id: visible(r.member_id.as_ref().and_then(|m| m.user_id.clone())),
            membership_id: visible(resp.membership_id),
        },
        _ => IdentityOp::MemberRemoved {
            group_id: None,
            member_id: None,
            membership_id: visible(r.membership_id.clone()),
        },
    };
    identity_change(p, &r, op).map(Some)
}

fn sso_directory(name: &str, p: &Params<'_>) -> Result<Option<ChangeKind>, DecodeError> {
    if !SSO_DIRECTORY_EVENTS.contains(&name) {
        return Ok(None);
    }
    let r: IdentityParams = p.request()?;
    let resp: IdentityResponse = p.response()?;
    let member = || visible(r.member.as_ref().and_then(|m| m.member_id.clone()));
    let op = match name {
        "AddMemberToGroup" => IdentityOp::MemberAdded {
            group_id: visible(r.group_id.clone()),
            member_id: member(),
            membership_id: None,
        },
        "RemoveMemberFromGroup" => IdentityOp::MemberRemoved {
            group_id: visible(r.group_id.clone()),
            member_id: member(),
            membership_id: None,
        },
        "CreateUser" => IdentityOp::UserCreated {
            user_id: visible(resp.user_id.or_else(|| resp.user.and_then(|u| u.user_id))),
        },
        "UpdateUser" => IdentityOp::UserUpdated {
            user_id: visible(r.user_id.clone()),
        },
        "DeleteUser" => IdentityOp::UserDeleted {
            user_id: visible(r.user_id.clone()),
        },
        "DisableUser" | "EnableUser" => IdentityOp::UserStatusChanged {
            user_id: visible(r.user_id.clone()),
            enabled: name == "EnableUser",
        },
        "CreateGroup" => IdentityOp::GroupCreated {
            group_id: visible(resp.group_id.or_else(|| resp.group.and_then(|g| g.group_id))),
        },
        "UpdateGroup" => IdentityOp::GroupUpdated {
            group_id: visible(r.group_id.clone()),
        },
        _ => IdentityOp::GroupDeleted {
            group_id: visible(r.group_id.clone()),
        },
    };
    identity_change(p, &r, op).map(Some)
}

#[derive(Deserialize, Default)]
struct ScimRequest {
    id: Option<String>,
}

#[derive(Deserialize, Default)]
struct ScimResponse {
    id: Option<String>,
}

fn scim(name: &str, p: &Params<'_>) -> Result<Option<ChangeKind>, DecodeError> {
    if !SCIM_EVENTS.contains(&name) {
        return Ok(None);
    }
    let request: ScimRequest = p.request()?;
    let response: ScimResponse = p.response()?;
    let id = visible(request.id.or(response.id));
    let op = match name {
        "CreateUser" => IdentityOp::UserCreated { user_id: id },
        "PatchUser" | "PutUser" => IdentityOp::UserUpdated { user_id: id },
        "DeleteUser" => IdentityOp::UserDeleted { user_id: id },
        "CreateGroup" => IdentityOp::GroupCreated { group_id: id },
        "PatchGroup" => IdentityOp::GroupPatched { group_id: id },
        _ => IdentityOp::GroupDeleted { group_id: id },
    };
    // SCIM events name the tenant, not the identity store.
    Ok(Some(ChangeKind::Identity {
        identity_store_id: None,
        op,
    }))
}
