//! The identity store's own notifications (issue #19): EventBridge events with `source`
//! `aws.identitystore` that are not CloudTrail's, decoded into the same
//! [`ChangeKind::Identity`] changes as the CloudTrail path.
//!
//! **What is documented** (IAM Identity Center user guide, "EventBridge event message
//! structure" and "Set up event notifications"; docs/reference/access-paths.md §4): the envelope
//! (`id`, `detail-type`, `source` `aws.identitystore`, `account` = the account that owns the
//! identity store, `time`, `region` = the Region the event was *sent* in, a replica's own name
//! for a replica, `resources` = the ARNs of the resources involved, `detail` with an
//! `event-version`), and six detail-types ([`NOTIFICATION_DETAIL_TYPES`]). Memberships are not
//! among them as far as the stored documentation shows: CloudTrail stays the membership signal.
//!
//! **What is not**: the members of `detail` beyond `event-version`. The decoder therefore reads a
//! tolerant view: the object's id from `resources` (`arn:<partition>:identitystore:::user/<id>`,
//! `…:group/<id>`, the resource ARN formats of the Service Authorization Reference) or from
//! `detail` under the API's spellings (`userId`, `UserId`, `user-id`; the same for groups and
//! `identityStoreId`); the two must agree when both are present. A notification that names no
//! object, or names it malformed, is a [`DecodeError`] saying what is missing.
//!
//! **Who made the change** is in none of these fields: the change carries
//! [`Actor::Unknown`] (identity type [`NOTIFICATION_ACTOR`]) and no CloudTrail source
//! (`meta.source` is `None`), which the rules take as "actor unknown", never as SCIM
//! (`identity-store-scim-only` says undetermined). When the same change also arrives through
//! CloudTrail, the guard judges that record (it names the actor) and drops the notification
//! ([`change_key`] is what both deliveries have in common).
//!
//! Any other detail-type from this source is [`Body::NotApiCall`] (ignored with its
//! detail-type as the reason) and logged with the keys of its `detail`, so that a new type AWS
//! adds is seen in the logs before it is decoded.

use serde::Deserialize;
use serde_json::Value;

use super::{API_CALL_DETAIL_TYPE, Body, DecodeError, Decoded, parse};
use crate::domain::{Actor, ChangeKind, EventMeta, IdentityOp, IdentityStoreId};
use crate::event::usage::SERVICE_EVENT_DETAIL_TYPE;

/// The EventBridge `source` of the identity store's notifications (shared with CloudTrail's
/// deliveries of the identity store API, told apart by their detail-types).
pub const NOTIFICATION_SOURCE: &str = "aws.identitystore";

/// The detail-types the IAM Identity Center user guide lists ("Set up event notifications").
pub const NOTIFICATION_DETAIL_TYPES: &[&str] = &[
    "User Created",
    "User Updated",
    "User Deleted",
    "Group Created",
    "Group Updated",
    "Group Deleted",
];

/// CloudTrail's detail-types, which share [`NOTIFICATION_SOURCE`]: everything else from that
/// source is a notification (the deployment's rule matches `anything-but` these).
pub const CLOUDTRAIL_DETAIL_TYPES: &[&str] = &[API_CALL_DETAIL_TYPE, SERVICE_EVENT_DETAIL_TYPE];

/// The `identity_type` of a notification's [`Actor::Unknown`]: a notification does not say
/// who made the change.
pub const NOTIFICATION_ACTOR: &str = "IdentityStoreNotification";

/// Whether an envelope's source and detail-type are a notification's.
pub(super) fn is_notification(source: Option<&str>, detail_type: &str) -> bool {
    source == Some(NOTIFICATION_SOURCE) && !CLOUDTRAIL_DETAIL_TYPES.contains(&detail_type)
}

/// Whether a change came from a notification (not from a CloudTrail record).
pub fn is_notification_change(meta: &EventMeta) -> bool {
    meta.source.is_none() && meta.event_source == NOTIFICATION_SOURCE
}

#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    account: Option<String>,
    time: Option<String>,
    region: Option<String>,
    #[serde(default)]
    resources: Vec<String>,
    detail: Option<Value>,
}

/// What a notification is about: a user or a group.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Object {
    User,
    Group,
}

impl Object {
    /// The ARN resource type and the `detail` spellings of its id.
    fn names(self) -> (&'static str, [&'static str; 3]) {
        match self {
            Self::User => ("user", ["userId", "UserId", "user-id"]),
            Self::Group => ("group", ["groupId", "GroupId", "group-id"]),
        }
    }
}

/// What happened to the object, given its id.
type MakeOp = fn(Option<String>) -> IdentityOp;

/// The object and what happened to it, by detail-type.
fn kind_of(detail_type: &str) -> Option<(Object, MakeOp)> {
    Some(match detail_type {
        "User Created" => (Object::User, |user_id| IdentityOp::UserCreated { user_id }),
        "User Updated" => (Object::User, |user_id| IdentityOp::UserUpdated { user_id }),
        "User Deleted" => (Object::User, |user_id| IdentityOp::UserDeleted { user_id }),
        "Group Created" => (Object::Group, |group_id| IdentityOp::GroupCreated { group_id }),
        "Group Updated" => (Object::Group, |group_id| IdentityOp::GroupUpdated { group_id }),
        "Group Deleted" => (Object::Group, |group_id| IdentityOp::GroupDeleted { group_id }),
        _ => return None,
    })
}

/// Decodes one notification (the whole envelope, as JSON text).
pub(super) fn decode(json: &str) -> Result<Decoded, DecodeError> {
    let envelope: Envelope = parse(json, "")?;
    let detail = match envelope.detail {
        Some(Value::Object(detail)) => detail,
        Some(other) => {
            return Err(DecodeError::new(
                "detail",
                format!("expected a JSON object, found {}", kind_name(&other)),
            ));
        }
        None => return Err(DecodeError::new("detail", "missing: a notification carries `detail`")),
    };
    let meta = EventMeta {
        event_id: envelope.id.clone(),
        shared_event_id: None,
        envelope_id: Some(envelope.id),
        event_name: envelope.detail_type.clone(),
        event_source: NOTIFICATION_SOURCE.to_owned(),
        source: None,
        event_time: envelope.time.unwrap_or_default(),
        region: envelope.region.unwrap_or_default(),
        account: envelope.account.unwrap_or_default(),
        request_id: None,
        console: false,
        operation: None,
    };
    let actor = Actor::Unknown {
        identity_type: NOTIFICATION_ACTOR.to_owned(),
    };
    let Some((object, op)) = kind_of(&envelope.detail_type) else {
        let keys: Vec<&str> = detail.keys().map(String::as_str).collect();
        tracing::info!(
            detail_type = %envelope.detail_type,
            detail_keys = ?keys,
            "an identity store notification of a type idc-guard does not decode: ignored"
        );
        return Ok(Decoded {
            meta,
            actor,
            body: Body::NotApiCall {
                detail_type: envelope.detail_type,
            },
        });
    };
    let (arn_type, spellings) = object.names();
    let from_detail = detail_id(&detail, &spellings)?;
    let from_resources = resource_id(&envelope.resources, &format!(":identitystore:::{arn_type}/"))?;
    let id = match (from_detail, from_resources) {
        (Some((at, a)), Some(b)) if a != b => {
            return Err(DecodeError::new(
                format!("detail.{at}"),
                format!("{a:?} disagrees with the {arn_type} {b:?} in `resources`"),
            ));
        }
        (Some((_, id)), _) | (None, Some(id)) => id,
        (None, None) => {
            return Err(DecodeError::new(
                "resources",
                format!(
                    "names no {arn_type}: a {:?} notification must name it in `resources` \
                     (arn:<partition>:identitystore:::{arn_type}/<id>) or in `detail.{}`",
                    meta.event_name, spellings[0]
                ),
            ));
        }
    };
    let identity_store_id = identity_store(&detail, &envelope.resources)?;
    Ok(Decoded {
        meta,
        actor,
        body: Body::Change(ChangeKind::Identity {
            identity_store_id,
            op: op(Some(id)),
        }),
    })
}

/// The id `detail` gives under one of `spellings`, with the spelling found; an error when it is
/// there but not a non-empty string.
fn detail_id(
    detail: &serde_json::Map<String, Value>,
    spellings: &[&'static str],
) -> Result<Option<(&'static str, String)>, DecodeError> {
    for at in spellings {
        match detail.get(*at) {
            None | Some(Value::Null) => {}
            Some(Value::String(id)) if !id.trim().is_empty() => return Ok(Some((at, id.clone()))),
            Some(other) => {
                return Err(DecodeError::new(
                    format!("detail.{at}"),
                    format!("expected a non-empty string, found {}", kind_name(other)),
                ));
            }
        }
    }
    Ok(None)
}

/// The id of the one resource in `resources` whose ARN contains `marker`
/// (`:identitystore:::user/`); an error when two different ones do.
fn resource_id(resources: &[String], marker: &str) -> Result<Option<String>, DecodeError> {
    let mut found: Option<String> = None;
    for (i, arn) in resources.iter().enumerate() {
        let Some(id) = arn
            .split_once(marker)
            .map(|(_, id)| id)
            .filter(|_| arn.starts_with("arn:"))
        else {
            continue;
        };
        if id.is_empty() || id.contains('/') {
            return Err(DecodeError::new(
                format!("resources[{i}]"),
                format!("not a user or group ARN: {arn:?}"),
            ));
        }
        match &found {
            Some(first) if first != id => {
                return Err(DecodeError::new(
                    format!("resources[{i}]"),
                    format!("a second object ({id:?}, after {first:?}): a notification is about one"),
                ));
            }
            _ => found = Some(id.to_owned()),
        }
    }
    Ok(found)
}

/// The identity store, from `detail` or from an identity store ARN in `resources`; `None` when
/// neither names it (the policy's store scopes the guard anyway).
fn identity_store(
    detail: &serde_json::Map<String, Value>,
    resources: &[String],
) -> Result<Option<IdentityStoreId>, DecodeError> {
    if let Some((at, id)) = detail_id(detail, &["identityStoreId", "IdentityStoreId", "identity-store-id"])? {
        return IdentityStoreId::parse(&id)
            .map(Some)
            .map_err(|e| DecodeError::new(format!("detail.{at}"), e.to_string()));
    }
    for (i, arn) in resources.iter().enumerate() {
        if arn.contains(":identitystore/") {
            return IdentityStoreId::from_arn(arn).map(Some).ok_or_else(|| {
                DecodeError::new(format!("resources[{i}]"), format!("not an identity store ARN: {arn:?}"))
            });
        }
    }
    Ok(None)
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What both deliveries of one identity store change have in common, whichever arrives first:
/// the object (user or group, and its id) and what happened to it (created, updated, deleted),
/// as `user/<id>#created`. `None` for a change no notification reports (memberships, SCIM
/// health signals) or whose object is not known.
///
/// A console status change (DisableUser, EnableUser) counts as an update of the user, and SCIM's
/// PatchGroup as an update of the group: the notification for either, if any, can only be
/// "User Updated" or "Group Updated". The identity store is not part of it: a guard judges one
/// store (the policy's), and SCIM's records do not name it.
pub fn change_key(kind: &ChangeKind) -> Option<String> {
    let ChangeKind::Identity { op, .. } = kind else {
        return None;
    };
    let (object, id, what) = match op {
        IdentityOp::UserCreated { user_id } => ("user", user_id, "created"),
        IdentityOp::UserUpdated { user_id } | IdentityOp::UserStatusChanged { user_id, .. } => {
            ("user", user_id, "updated")
        }
        IdentityOp::UserDeleted { user_id } => ("user", user_id, "deleted"),
        IdentityOp::GroupCreated { group_id } => ("group", group_id, "created"),
        IdentityOp::GroupUpdated { group_id } | IdentityOp::GroupPatched { group_id, .. } => {
            ("group", group_id, "updated")
        }
        IdentityOp::GroupDeleted { group_id } => ("group", group_id, "deleted"),
        IdentityOp::MemberAdded { .. } | IdentityOp::MemberRemoved { .. } => return None,
    };
    id.as_ref().map(|id| format!("{object}/{id}#{what}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode;

    const CREATED: &str = include_str!("../../../events/identitystore.notification.UserCreated-undetermined.json");

    fn with(json: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut v: Value = serde_json::from_str(json).unwrap();
        edit(&mut v);
        v.to_string()
    }

    fn op_of(json: &str) -> (Option<IdentityStoreId>, IdentityOp) {
        match decode(json).unwrap().body {
            Body::Change(ChangeKind::Identity { identity_store_id, op }) => (identity_store_id, op),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_documented_type_decodes_into_the_change_the_cloudtrail_path_makes() {
        let decoded = decode(CREATED).unwrap();
        assert_eq!(decoded.meta.source, None);
        assert!(is_notification_change(&decoded.meta));
        assert_eq!(decoded.meta.event_name, "User Created");
        assert_eq!(decoded.meta.region, "eu-west-1");
        assert_eq!(decoded.meta.account, "111111111111");
        assert_eq!(
            decoded.actor,
            Actor::Unknown {
                identity_type: NOTIFICATION_ACTOR.into()
            }
        );
        let user = "0f9e8d7c-6051-70b4-a3c2-d1e0f9a8b7c6";
        let group = "a4b8c1d0-2031-70e9-5f6a-7b8c9d0e1f2a";
        for (detail_type, arn, want) in [
            (
                "User Created",
                "user",
                IdentityOp::UserCreated {
                    user_id: Some(user.into()),
                },
            ),
            (
                "User Updated",
                "user",
                IdentityOp::UserUpdated {
                    user_id: Some(user.into()),
                },
            ),
            (
                "User Deleted",
                "user",
                IdentityOp::UserDeleted {
                    user_id: Some(user.into()),
                },
            ),
            (
                "Group Created",
                "group",
                IdentityOp::GroupCreated {
                    group_id: Some(group.into()),
                },
            ),
            (
                "Group Updated",
                "group",
                IdentityOp::GroupUpdated {
                    group_id: Some(group.into()),
                },
            ),
            (
                "Group Deleted",
                "group",
                IdentityOp::GroupDeleted {
                    group_id: Some(group.into()),
                },
            ),
        ] {
            let id = if arn == "user" { user } else { group };
            let json = with(CREATED, |v| {
                v["detail-type"] = detail_type.into();
                v["resources"] = serde_json::json!([
                    "arn:aws:identitystore::111111111111:identitystore/d-9067a1b2c3",
                    format!("arn:aws:identitystore:::{arn}/{id}")
                ]);
                v["detail"] = serde_json::json!({"event-version": "1.0"});
            });
            let (store, op) = op_of(&json);
            assert_eq!(op, want, "{detail_type}");
            assert_eq!(store.unwrap().as_str(), "d-9067a1b2c3");
        }
    }

    #[test]
    fn the_ids_may_come_from_detail_under_the_apis_spellings() {
        let json = with(CREATED, |v| {
            v["resources"] = serde_json::json!([]);
            v["detail"] = serde_json::json!({"UserId": "u-1", "IdentityStoreId": "d-9067a1b2c3"});
        });
        let (store, op) = op_of(&json);
        assert_eq!(
            op,
            IdentityOp::UserCreated {
                user_id: Some("u-1".into())
            }
        );
        assert_eq!(store.unwrap().as_str(), "d-9067a1b2c3");
        // Without any store named, the change has none (the policy scopes the guard).
        let json = with(CREATED, |v| {
            v["resources"] = serde_json::json!([]);
            v["detail"] = serde_json::json!({"user-id": "u-1"});
        });
        assert_eq!(op_of(&json).0, None);
    }

    #[test]
    fn a_malformed_notification_is_an_error_naming_what_is_wrong() {
        type Edit = fn(&mut Value);
        let cases: [(Edit, &str, &str); 8] = [
            (
                |v| v["detail"] = "text".into(),
                "detail",
                "expected a JSON object, found a string",
            ),
            (
                |v| {
                    v.as_object_mut().unwrap().remove("detail");
                },
                "detail",
                "missing",
            ),
            (
                |v| {
                    v["resources"] = serde_json::json!([]);
                    v["detail"] = serde_json::json!({"event-version": "1.0"});
                },
                "resources",
                "names no user",
            ),
            (
                |v| v["detail"]["userId"] = 7.into(),
                "detail.userId",
                "expected a non-empty string, found a number",
            ),
            (
                |v| v["detail"]["userId"] = "someone-else".into(),
                "detail.userId",
                "disagrees",
            ),
            (
                |v| v["resources"][1] = "arn:aws:identitystore:::user/".into(),
                "resources[1]",
                "not a user or group ARN",
            ),
            (
                |v| v["detail"]["identityStoreId"] = "store".into(),
                "detail.identityStoreId",
                "identity store id",
            ),
            (
                |v| {
                    v.as_object_mut().unwrap().remove("id");
                },
                "",
                "id",
            ),
        ];
        for (edit, path, message) in cases {
            let json = with(CREATED, edit);
            let e = decode(&json).unwrap_err();
            assert_eq!(e.path, path, "{e}");
            assert!(e.message.contains(message), "{e}");
        }
    }

    #[test]
    fn an_unknown_type_is_ignored_with_its_detail_type_and_cloudtrail_types_are_not_notifications() {
        let json = with(CREATED, |v| v["detail-type"] = "Group Membership Created".into());
        let decoded = decode(&json).unwrap();
        assert_eq!(
            decoded.body,
            Body::NotApiCall {
                detail_type: "Group Membership Created".into()
            }
        );
        assert!(is_notification_change(&decoded.meta));
        assert!(!is_notification(Some(NOTIFICATION_SOURCE), API_CALL_DETAIL_TYPE));
        assert!(!is_notification(Some("aws.sso"), "User Created"));
        assert!(is_notification(Some(NOTIFICATION_SOURCE), "User Created"));
    }

    #[test]
    fn both_deliveries_of_a_change_have_the_same_key() {
        let notification = op_of(CREATED);
        let cloudtrail = decode(include_str!("../../../events/identitystore.CreateUser-violation.json")).unwrap();
        let Body::Change(cloudtrail) = cloudtrail.body else {
            panic!()
        };
        let key = change_key(&ChangeKind::Identity {
            identity_store_id: notification.0,
            op: notification.1,
        });
        assert!(
            key.as_deref()
                .is_some_and(|k| k.ends_with("#created") && k.starts_with("user/"))
        );
        assert_eq!(key, change_key(&cloudtrail));
        let status = ChangeKind::Identity {
            identity_store_id: None,
            op: IdentityOp::UserStatusChanged {
                user_id: Some("u".into()),
                enabled: false,
            },
        };
        assert_eq!(change_key(&status).as_deref(), Some("user/u#updated"));
        let patched = ChangeKind::Identity {
            identity_store_id: None,
            op: IdentityOp::GroupPatched {
                group_id: Some("g".into()),
                removed: vec!["u".into()],
            },
        };
        assert_eq!(change_key(&patched).as_deref(), Some("group/g#updated"));
        let membership = ChangeKind::Identity {
            identity_store_id: None,
            op: IdentityOp::MemberAdded {
                group_id: Some("g".into()),
                member_id: Some("u".into()),
                membership_id: None,
            },
        };
        assert_eq!(change_key(&membership), None);
        let unknown = ChangeKind::Identity {
            identity_store_id: None,
            op: IdentityOp::UserDeleted { user_id: None },
        };
        assert_eq!(change_key(&unknown), None);
    }
}
