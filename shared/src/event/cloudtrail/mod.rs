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
use crate::domain::{EventMeta, EventSource};
use crate::domain::{IdError, InstanceArn, PermissionSetArn};

mod account_access;
mod identity;
mod sso_admin;

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
    "PutApplicationAccessScope",
    "DeleteApplicationAccessScope",
];
/// Account access manager (issue #19): entitlements. Applications (CreateApplication, …) are
/// the frame, not a grant: not handled.
pub(super) const ACCOUNT_ACCESS_EVENTS: &[&str] = &["CreateEntitlement", "DeleteEntitlement"];
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
    let mut meta = EventMeta {
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
        operation: None,
    };
    let body = if let Some(error_code) = record.error_code {
        // A SCIM call refused for its credentials is a signal (the sync is broken), not nothing.
        match identity::scim_failure(source.as_ref(), &error_code) {
            Some(kind) => Body::Change(kind),
            None => Body::Failed { error_code },
        }
    } else if read_only {
        Body::ReadOnly
    } else {
        let params = Params {
            request: record.request_parameters,
            response: record.response_elements,
            prefix,
        };
        if source == Some(EventSource::SsoAdmin) {
            meta.operation = sso_admin::started_operation(&meta.event_name, &params);
        }
        let kind = match source {
            Some(EventSource::SsoAdmin) => sso_admin::sso_admin(&meta.event_name, &params),
            Some(EventSource::IdentityStore) => identity::identity_store(&meta.event_name, &params),
            Some(EventSource::SsoDirectory) => identity::sso_directory(&meta.event_name, &params),
            Some(EventSource::Scim) => identity::scim(&meta.event_name, &params),
            Some(EventSource::AccountAccess) => account_access::account_access(&meta.event_name, &params),
            None => Ok(None),
        };
        match kind {
            Ok(Some(kind)) => Body::Change(kind),
            Ok(None) => Body::Unhandled,
            Err(mut e) => {
                // A value that does not decode must not make the change disappear: if the
                // resource can still be identified, the guard judges it live.
                let resource = match source {
                    Some(EventSource::SsoAdmin) => sso_admin::identify(&meta.event_name, &params, &e),
                    _ => None,
                };
                e.partial = resource.map(|kind| {
                    Box::new(Decoded {
                        meta,
                        actor,
                        body: Body::Change(kind),
                    })
                });
                return Err(e);
            }
        }
    };
    Ok(Decoded { meta, actor, body })
}

pub(super) struct Params<'a> {
    request: Option<&'a RawValue>,
    response: Option<&'a RawValue>,
    prefix: &'a str,
}

impl<'a> Params<'a> {
    pub(super) fn path(&self, part: &str, field: &str) -> String {
        format!("{}{part}.{field}", self.prefix)
    }

    pub(super) fn request<T: Deserialize<'a>>(&self) -> Result<T, DecodeError> {
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
    pub(super) fn response<T: DeserializeOwned + Default>(&self) -> Result<T, DecodeError> {
        match self.response {
            Some(raw) if raw.get() != "null" => parse(raw.get(), &format!("{}responseElements", self.prefix)),
            _ => Ok(T::default()),
        }
    }

    pub(super) fn id<T>(
        &self,
        field: &str,
        value: &str,
        parse_id: fn(&str) -> Result<T, IdError>,
    ) -> Result<T, DecodeError> {
        parse_id(value).map_err(|e| DecodeError::new(self.path("requestParameters", field), e.to_string()))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PsTarget {
    instance_arn: String,
    permission_set_arn: String,
}

impl PsTarget {
    pub(super) fn of(instance_arn: String, permission_set_arn: String) -> Self {
        Self {
            instance_arn,
            permission_set_arn,
        }
    }

    pub(super) fn ids(&self, p: &Params<'_>) -> Result<(InstanceArn, PermissionSetArn), DecodeError> {
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
