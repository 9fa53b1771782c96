//! Identity store events: the public API (`identitystore.amazonaws.com`), the console's
//! (`sso-directory.amazonaws.com`) and SCIM provisioning (`identitystore-scim.amazonaws.com`).

use serde::Deserialize;

use super::{IDENTITY_STORE_EVENTS, Params, REDACTED, SCIM_EVENTS, SSO_DIRECTORY_EVENTS};
use crate::domain::{ChangeKind, IdentityOp, IdentityStoreId};
use crate::event::DecodeError;

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

pub(super) fn identity_store(name: &str, p: &Params<'_>) -> Result<Option<ChangeKind>, DecodeError> {
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

pub(super) fn sso_directory(name: &str, p: &Params<'_>) -> Result<Option<ChangeKind>, DecodeError> {
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

pub(super) fn scim(name: &str, p: &Params<'_>) -> Result<Option<ChangeKind>, DecodeError> {
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
