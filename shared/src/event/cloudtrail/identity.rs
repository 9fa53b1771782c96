//! Identity store events: the public API (`identitystore.amazonaws.com`), the console's
//! (`sso-directory.amazonaws.com`) and SCIM provisioning (`identitystore-scim.amazonaws.com`).

use serde::Deserialize;

use super::{IDENTITY_STORE_EVENTS, Params, REDACTED, SCIM_EVENTS, SSO_DIRECTORY_EVENTS};
use crate::domain::scim::AUTH_ERROR_CODES;
use crate::domain::{ChangeKind, EventSource, IdentityOp, IdentityStoreId, ScimSignal};
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
    /// Read leniently: a body whose shape is not a `PatchOp` only counts no removals, it never
    /// makes the change disappear.
    #[serde(rename = "httpBody")]
    http_body: Option<serde_json::Value>,
}

/// The members a `PatchGroup`'s operations (RFC 7644 §3.5.2) remove: `remove` on `members`
/// with a list of `{"value": id}` (what Okta and Entra ID send), or on `members[value eq "id"]`
/// (RFC 7644's filter form). Operation names are case-insensitive. A redacted id still counts
/// as one member. A `remove` of `members` without a value (all of them) or a `replace` names no
/// count; they are not counted.
fn removed_members(body: Option<&serde_json::Value>) -> Vec<String> {
    let operations = body
        .and_then(|b| b.get("Operations"))
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut removed = Vec::new();
    for op in operations {
        let name = op.get("op").and_then(serde_json::Value::as_str).unwrap_or_default();
        let Some(path) = op.get("path").and_then(serde_json::Value::as_str).map(str::trim) else {
            continue;
        };
        if !name.eq_ignore_ascii_case("remove") {
            continue;
        }
        if path.eq_ignore_ascii_case("members") {
            if let Some(values) = op.get("value").and_then(serde_json::Value::as_array) {
                removed.extend(
                    values
                        .iter()
                        .filter_map(|v| v.get("value")?.as_str().map(str::to_owned)),
                );
            }
        } else if path.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("members["))
            && let Some(filter) = path.get(8..).and_then(|rest| rest.strip_suffix(']'))
        {
            // `members[value eq "id"]`: the id is the quoted part (a string slice by `get`, so
            // that text which is not ASCII cannot split a character).
            removed.push(filter.split('"').nth(1).unwrap_or(filter).to_owned());
        }
    }
    removed
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
    let removed = removed_members(request.http_body.as_ref());
    let id = visible(request.id.or(response.id));
    let op = match name {
        "CreateUser" => IdentityOp::UserCreated { user_id: id },
        "PatchUser" | "PutUser" => IdentityOp::UserUpdated { user_id: id },
        "DeleteUser" => IdentityOp::UserDeleted { user_id: id },
        "CreateGroup" => IdentityOp::GroupCreated { group_id: id },
        "PatchGroup" => IdentityOp::GroupPatched { group_id: id, removed },
        _ => IdentityOp::GroupDeleted { group_id: id },
    };
    // SCIM events name the tenant, not the identity store.
    Ok(Some(ChangeKind::Identity {
        identity_store_id: None,
        op,
    }))
}

/// A SCIM call refused for its credentials ([`AUTH_ERROR_CODES`]) is a signal that the sync is
/// broken (`scim-sync-failing`), whatever the operation; any other failed call is `None`, and
/// ignored like every failed call (nothing changed).
pub(super) fn scim_failure(source: Option<&EventSource>, error_code: &str) -> Option<ChangeKind> {
    (source == Some(&EventSource::Scim) && AUTH_ERROR_CODES.contains(&error_code)).then(|| {
        ChangeKind::Scim(ScimSignal::CallFailed {
            error_code: error_code.to_owned(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Body, decode};

    const UNAUTHORIZED: &str =
        include_str!("../../../../events/identitystore-scim.PatchUser-unauthorized-undetermined.json");
    const REMOVAL: &str =
        include_str!("../../../../events/identitystore-scim.PatchGroup-mass-removal-undetermined.json");

    fn with(json: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
        edit(&mut v);
        v.to_string()
    }

    #[test]
    fn scim_calls_refused_for_their_token_are_signals_and_other_failures_stay_failed() {
        let body = decode(UNAUTHORIZED).unwrap().body;
        assert_eq!(
            body,
            Body::Change(ChangeKind::Scim(ScimSignal::CallFailed {
                error_code: "UnauthorizedException".into()
            }))
        );
        let denied = with(UNAUTHORIZED, |v| {
            v["detail"]["errorCode"] = "AccessDeniedException".into()
        });
        assert!(matches!(
            decode(&denied).unwrap().body,
            Body::Change(ChangeKind::Scim(_))
        ));
        // A read refused for its token counts too.
        let read = with(UNAUTHORIZED, |v| {
            v["detail"]["eventName"] = "ListUsers".into();
            v["detail"]["readOnly"] = true.into();
        });
        assert!(matches!(decode(&read).unwrap().body, Body::Change(ChangeKind::Scim(_))));
        let invalid = with(UNAUTHORIZED, |v| {
            v["detail"]["errorCode"] = "ValidationException".into()
        });
        assert_eq!(
            decode(&invalid).unwrap().body,
            Body::Failed {
                error_code: "ValidationException".into()
            }
        );
        // The same code from the public identity store API is an ordinary failed call.
        let public = with(UNAUTHORIZED, |v| {
            v["detail"]["eventSource"] = "identitystore.amazonaws.com".into();
            v["detail"]["errorCode"] = "AccessDeniedException".into();
        });
        assert!(matches!(decode(&public).unwrap().body, Body::Failed { .. }));
    }

    #[test]
    fn a_malformed_scim_failure_is_an_error_naming_the_field() {
        let bad = with(UNAUTHORIZED, |v| {
            v["detail"].as_object_mut().unwrap().remove("eventID");
        });
        let e = decode(&bad).unwrap_err();
        assert_eq!(e.path, "detail");
        assert!(e.message.contains("eventID"), "{e}");
        let bad = with(UNAUTHORIZED, |v| v["detail"]["errorCode"] = 401.into());
        assert_eq!(decode(&bad).unwrap_err().path, "detail.errorCode");
    }

    fn removed(operations: serde_json::Value) -> Vec<String> {
        let json = with(REMOVAL, |v| {
            v["detail"]["requestParameters"]["httpBody"]["Operations"] = operations
        });
        match decode(&json).unwrap().body {
            Body::Change(ChangeKind::Identity {
                op: IdentityOp::GroupPatched { removed, .. },
                ..
            }) => removed,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn patch_group_removals_are_read_in_both_forms_and_anything_else_counts_none() {
        assert_eq!(
            removed(
                serde_json::json!([{"op": "Remove", "path": "members", "value": [{"value": "a"}, {"value": REDACTED}]}])
            ),
            ["a", REDACTED]
        );
        assert_eq!(
            removed(serde_json::json!([{"op": "remove", "path": "members[value eq \"b\"]"}])),
            ["b"]
        );
        assert!(removed(serde_json::json!([{"op": "add", "path": "members", "value": [{"value": "a"}]}])).is_empty());
        assert!(removed(serde_json::json!([{"op": "remove", "path": "members"}])).is_empty());
        assert!(removed(serde_json::json!([{"op": "remove", "path": "membé["}])).is_empty());
        assert!(removed(serde_json::json!([{"op": 3}, "x", {"path": "members"}])).is_empty());
        assert!(removed(serde_json::json!("HIDDEN_DUE_TO_SECURITY_REASONS")).is_empty());
        // The fixture: three members removed.
        assert_eq!(
            removed(
                serde_json::from_str::<serde_json::Value>(REMOVAL).unwrap()["detail"]["requestParameters"]["httpBody"]
                    ["Operations"]
                    .clone()
            )
            .len(),
            3
        );
    }
}
