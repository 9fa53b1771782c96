//! sso-admin events (`sso.amazonaws.com`): assignments, permission sets, the ABAC
//! configuration and tags, each event name's request and response shape.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Params, PsTarget, REDACTED};
use crate::domain::{
    AbacAttribute, AbacOp, AccountId, Assignment, Boundary, ChangeKind, CustomerManagedPolicyRef, InlinePolicyText,
    InstanceArn, OperationKind, OperationState, PermissionSetArn, PermissionSetOp, PrincipalType, SessionDuration,
    StartedOperation, Tag,
};
use crate::event::DecodeError;

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
struct InlineParams<'a> {
    // Not `#[serde(flatten)]`: flattening loses the field path in type errors.
    instance_arn: String,
    permission_set_arn: String,
    /// Raw, not a parsed value: a document logged as a JSON object keeps every member as
    /// written (a parsed object would silently keep only the last of two `Statement` keys).
    #[serde(borrow)]
    inline_policy: Option<&'a RawValue>,
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

pub(super) fn sso_admin(name: &str, p: &Params<'_>) -> Result<Option<ChangeKind>, DecodeError> {
    let kind = match name {
        "CreateAccountAssignment" | "DeleteAccountAssignment" => assignment(name, p)?,
        "CreatePermissionSet" => created(p)?,
        "PutApplicationAccessScope" | "DeleteApplicationAccessScope" => super::account_access::access_scope(name, p)?,
        "CreateInstanceAccessControlAttributeConfiguration" | "UpdateInstanceAccessControlAttributeConfiguration" => {
            abac_configured(name, p)?
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
        _ => match permission_set_op(name, p)? {
            Some((target, op)) => {
                let (instance_arn, permission_set_arn) = target.ids(p)?;
                ChangeKind::PermissionSet {
                    instance_arn,
                    permission_set_arn,
                    op,
                }
            }
            None => return Ok(None),
        },
    };
    Ok(Some(kind))
}

fn assignment(name: &str, p: &Params<'_>) -> Result<ChangeKind, DecodeError> {
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
    Ok(if name == "CreateAccountAssignment" {
        ChangeKind::AssignmentCreated(assignment)
    } else {
        ChangeKind::AssignmentDeleted(assignment)
    })
}

fn created(p: &Params<'_>) -> Result<ChangeKind, DecodeError> {
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
    Ok(ChangeKind::PermissionSet {
        instance_arn,
        permission_set_arn,
        op: PermissionSetOp::Created {
            name: r.name,
            description: r.description,
            session_duration,
            relay_state: r.relay_state,
            tags: tags(r.tags),
        },
    })
}

fn abac_configured(name: &str, p: &Params<'_>) -> Result<ChangeKind, DecodeError> {
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
                    &format!("instanceAccessControlAttributeConfiguration.accessControlAttributes[{i}].value.source"),
                ),
                format!("expected exactly one source, found {}", s.len()),
            )
        })?;
        attributes.push(AbacAttribute { key: a.key, source });
    }
    Ok(ChangeKind::AccessControlAttributes {
        instance_arn,
        op: AbacOp::Configured {
            created: name.starts_with("Create"),
            attributes,
        },
    })
}

/// The edits of one permission set: its target and what happened, or `None` for another event.
fn permission_set_op(name: &str, p: &Params<'_>) -> Result<Option<(PsTarget, PermissionSetOp)>, DecodeError> {
    Ok(Some(match name {
        "UpdatePermissionSet" => {
            let r: UpdatePsParams = p.request()?;
            let session_duration = r
                .session_duration
                .as_deref()
                .map(|d| duration(p, "sessionDuration", d))
                .transpose()?;
            let op = PermissionSetOp::Updated {
                description: r.description,
                session_duration,
                relay_state: r.relay_state,
            };
            (PsTarget::of(r.instance_arn, r.permission_set_arn), op)
        }
        "DeletePermissionSet" => (p.request()?, PermissionSetOp::Deleted),
        "PutInlinePolicyToPermissionSet" => {
            let r: InlineParams<'_> = p.request()?;
            let policy = inline_policy(r.inline_policy);
            let op = PermissionSetOp::InlinePolicyPut { policy };
            (PsTarget::of(r.instance_arn, r.permission_set_arn), op)
        }
        "DeleteInlinePolicyFromPermissionSet" => (p.request()?, PermissionSetOp::InlinePolicyDeleted),
        "AttachManagedPolicyToPermissionSet" | "DetachManagedPolicyFromPermissionSet" => {
            let r: ManagedParams = p.request()?;
            let policy_arn = r.managed_policy_arn;
            let op = if name.starts_with("Attach") {
                PermissionSetOp::ManagedPolicyAttached { policy_arn }
            } else {
                PermissionSetOp::ManagedPolicyDetached { policy_arn }
            };
            (PsTarget::of(r.instance_arn, r.permission_set_arn), op)
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
            (PsTarget::of(r.instance_arn, r.permission_set_arn), op)
        }
        "PutPermissionsBoundaryToPermissionSet" => {
            let r: BoundaryParams = p.request()?;
            let boundary = boundary(p, r.permissions_boundary)?;
            let op = PermissionSetOp::BoundaryPut { boundary };
            (PsTarget::of(r.instance_arn, r.permission_set_arn), op)
        }
        "DeletePermissionsBoundaryFromPermissionSet" => (p.request()?, PermissionSetOp::BoundaryDeleted),
        "ProvisionPermissionSet" => {
            let r: ProvisionParams = p.request()?;
            let account_id = provision_target(p, &r.target_type, r.target_id)?;
            let op = PermissionSetOp::Provisioned { account_id };
            (PsTarget::of(r.instance_arn, r.permission_set_arn), op)
        }
        _ => return Ok(None),
    }))
}

/// The status object an asynchronous call's response holds (the same members in the three).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusElement {
    request_id: Option<String>,
    status: Option<String>,
    failure_reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct StartedResponse {
    account_assignment_creation_status: Option<StatusElement>,
    account_assignment_deletion_status: Option<StatusElement>,
    permission_set_provisioning_status: Option<StatusElement>,
}

/// The asynchronous operation a CreateAccountAssignment, DeleteAccountAssignment or
/// ProvisionPermissionSet call started: the request id and state from its response
/// (`responseElements.accountAssignmentCreationStatus` and so on; the record's own `requestID`
/// has been seen to equal it, which is not relied on). `None` for other calls, and when the
/// response does not say (the change itself is still judged; the reconciler's
/// `provisioning-current` is the backstop for an operation nobody could follow).
pub(super) fn started_operation(name: &str, p: &Params<'_>) -> Option<StartedOperation> {
    let kind = match name {
        "CreateAccountAssignment" => OperationKind::AssignmentCreation,
        "DeleteAccountAssignment" => OperationKind::AssignmentDeletion,
        "ProvisionPermissionSet" => OperationKind::Provisioning,
        _ => return None,
    };
    let response: StartedResponse = match p.response() {
        Ok(response) => response,
        Err(e) => {
            tracing::warn!(error = %e, "the response of an asynchronous call does not decode: its operation is not followed");
            return None;
        }
    };
    let element = match kind {
        OperationKind::AssignmentCreation => response.account_assignment_creation_status,
        OperationKind::AssignmentDeletion => response.account_assignment_deletion_status,
        OperationKind::Provisioning => response.permission_set_provisioning_status,
    }?;
    let request_id = element
        .request_id
        .filter(|id| !id.trim().is_empty() && id != REDACTED)?;
    let state = element
        .status
        .as_deref()
        .and_then(OperationState::parse)
        .unwrap_or(OperationState::InProgress);
    Some(StartedOperation {
        kind,
        request_id,
        state,
        failure_reason: element.failure_reason,
    })
}

/// The inline policy as the event logs it: a string (the document's text), redacted, or the
/// document itself as a JSON object, analysed as the exact text logged (so a duplicate key fails
/// to parse, as in the string form, instead of being silently dropped).
fn inline_policy(raw: Option<&RawValue>) -> InlinePolicyText {
    let Some(raw) = raw else {
        return InlinePolicyText::Redacted;
    };
    let text = raw.get();
    if text == "null" {
        return InlinePolicyText::Redacted;
    }
    // Certainly more than Identity Center accepts: neither copied nor unescaped.
    if text.len() > InlinePolicyText::MAX_LOGGED_BYTES {
        return InlinePolicyText::Oversized {
            logged_bytes: text.len(),
        };
    }
    // Only a string is decoded here; anything else is kept as the text logged, without building
    // a tree of it (a large document would cost many times its size).
    match serde_json::from_str::<String>(text) {
        Ok(s) if s == REDACTED => InlinePolicyText::Redacted,
        Ok(s) => InlinePolicyText::Text(s),
        // Logged as a JSON document rather than a string: analyse the same text.
        Err(_) => InlinePolicyText::Text(text.to_owned()),
    }
}

fn boundary(p: &Params<'_>, b: BoundaryParam) -> Result<Boundary, DecodeError> {
    match (b.managed_policy_arn, b.customer_managed_policy_reference) {
        (Some(arn), None) => Ok(Boundary::ManagedPolicy(arn)),
        (None, Some(reference)) => Ok(Boundary::CustomerManaged(reference.into())),
        _ => Err(DecodeError::new(
            p.path("requestParameters", "permissionsBoundary"),
            "expected exactly one of managedPolicyArn and customerManagedPolicyReference",
        )),
    }
}

fn provision_target(
    p: &Params<'_>,
    target_type: &str,
    target_id: Option<String>,
) -> Result<Option<AccountId>, DecodeError> {
    match (target_type, target_id) {
        ("ALL_PROVISIONED_ACCOUNTS", _) => Ok(None),
        ("AWS_ACCOUNT", Some(id)) => Ok(Some(p.id("targetId", &id, AccountId::parse)?)),
        ("AWS_ACCOUNT", None) => Err(DecodeError::new(
            p.path("requestParameters", "targetId"),
            "missing for targetType AWS_ACCOUNT",
        )),
        (other, _) => Err(DecodeError::new(
            p.path("requestParameters", "targetType"),
            format!("expected \"AWS_ACCOUNT\" or \"ALL_PROVISIONED_ACCOUNTS\", found {other:?}"),
        )),
    }
}

/// The resource an sso-admin event touches when its parameters do not all decode: the permission
/// set (instance and ARN valid, the set in the instance) or the instance's ABAC configuration, with
/// the operation unreadable. Assignments are not identified: a wrong principal type or id leaves
/// nothing to read.
pub(super) fn identify(name: &str, p: &Params<'_>, error: &DecodeError) -> Option<ChangeKind> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Target {
        instance_arn: String,
        permission_set_arn: Option<String>,
    }
    if name.contains("AccountAssignment") || name == "CreatePermissionSet" {
        return None;
    }
    let target: Target = p.request().ok()?;
    let problem = error.to_string();
    if name.contains("InstanceAccessControlAttributeConfiguration") {
        let instance_arn = InstanceArn::parse(&target.instance_arn).ok()?;
        return Some(ChangeKind::AccessControlAttributes {
            instance_arn,
            op: AbacOp::Unreadable { problem },
        });
    }
    let (instance_arn, permission_set_arn) = PsTarget::of(target.instance_arn, target.permission_set_arn?)
        .ids(p)
        .ok()?;
    Some(ChangeKind::PermissionSet {
        instance_arn,
        permission_set_arn,
        op: PermissionSetOp::Unreadable { problem },
    })
}

#[cfg(test)]
mod tests {
    use crate::domain::{Date, EventVerdict};
    use crate::policy::Policy;

    const HARMLESS: &str = r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#;
    const FORBIDDEN: &str = r#"{"Effect":"Allow","Action":"iam:*","Resource":"*"}"#;

    /// A PutInlinePolicyToPermissionSet event whose `inlinePolicy` is `logged` (JSON text).
    fn event(logged: &str) -> String {
        format!(
            r#"{{"eventVersion":"1.09","userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::111111111111:assumed-role/ops/x","sessionContext":{{"sessionIssuer":{{"type":"Role","arn":"arn:aws:iam::111111111111:role/ops","userName":"ops"}}}}}},
            "eventTime":"2026-11-27T10:00:00Z","eventSource":"sso.amazonaws.com","eventName":"PutInlinePolicyToPermissionSet","awsRegion":"eu-west-1",
            "requestParameters":{{"instanceArn":"arn:aws:sso:::instance/ssoins-7223b1c4d5e6f708","permissionSetArn":"arn:aws:sso:::permissionSet/ssoins-7223b1c4d5e6f708/ps-a73f05d19e2b6c48","inlinePolicy":{logged}}},
            "responseElements":null,"eventID":"e0","readOnly":false,"recipientAccountId":"111111111111"}}"#
        )
    }

    fn verdict(logged: &str) -> EventVerdict {
        let today = Date::new(2026, 11, 27).unwrap_or_else(|| unreachable!());
        crate::engine::check_json(&Policy::default(), &event(logged), today)
            .map(|e| e.verdict)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_document_logged_as_an_object_is_judged_like_its_string_form() {
        // Two `Statement` keys: a parsed object would keep only the harmless last one.
        let duplicate = format!(r#"{{"Version":"2012-10-17","Statement":[{FORBIDDEN}],"Statement":[{HARMLESS}]}}"#);
        let as_string = serde_json::to_string(&duplicate).unwrap_or_default();
        assert_eq!(verdict(&duplicate), verdict(&as_string));
        assert_eq!(verdict(&duplicate), EventVerdict::Violation);
        let single = format!(r#"{{"Version":"2012-10-17","Statement":[{HARMLESS}]}}"#);
        let single_string = serde_json::to_string(&single).unwrap_or_default();
        assert_eq!(verdict(&single), verdict(&single_string));
        assert_ne!(verdict(&single), EventVerdict::Violation);
    }

    /// The decoded inline policy of an event logging `logged`.
    fn decoded(logged: &str) -> crate::domain::InlinePolicyText {
        use crate::domain::{ChangeKind, PermissionSetOp};
        let text = event(logged);
        let change = crate::event::decode(&text).unwrap_or_else(|e| panic!("{e}"));
        match change.body {
            crate::event::Body::Change(ChangeKind::PermissionSet {
                op: PermissionSetOp::InlinePolicyPut { policy },
                ..
            }) => policy,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_document_logged_longer_than_any_accepted_one_is_not_kept() {
        use crate::domain::InlinePolicyText;
        // Exactly as long as the longest accepted document could be logged (every character
        // escaped as a surrogate pair would be): decoded. One byte more: oversized, not kept.
        let limit = InlinePolicyText::MAX_LOGGED_BYTES;
        let at = format!("\"{}\"", "x".repeat(limit - 2));
        assert!(matches!(decoded(&at), InlinePolicyText::Text(t) if t.len() == limit - 2));
        let over = format!("\"{}\"", "x".repeat(limit - 1));
        assert_eq!(
            decoded(&over),
            InlinePolicyText::Oversized {
                logged_bytes: limit + 1
            }
        );
        // The same for a document logged as an object; both are violations.
        let object = format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            vec![HARMLESS; limit / HARMLESS.len()].join(",")
        );
        assert!(matches!(decoded(&object), InlinePolicyText::Oversized { .. }));
        assert_eq!(verdict(&object), EventVerdict::Violation);
        assert_eq!(verdict(&over), EventVerdict::Violation);
    }
}
