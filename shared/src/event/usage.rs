//! Uses of access (issue #17): the CloudTrail records that show a person taking a permission
//! set's role in an account, decoded into [`Use`]s.
//!
//! Two records do, both written by Identity Center in its own account:
//! - `GetRoleCredentials` (role credentials for the CLI, an SDK, an application): eventSource
//!   `sso.amazonaws.com`, eventType `AwsServiceEvent`, `readOnly` true, `requestParameters` null,
//!   `userIdentity.type` `IdentityCenterUser` with `onBehalfOf.userId` and
//!   `onBehalfOf.identityStoreArn`, and the target in
//!   `serviceEventDetails: {"role_name": "<permission set name>", "account_id": "<account>"}`
//!   (a real 2026-07 record, quoted in `../shared/reference/peers-2026.md` §3.3).
//! - `Federate` (a console session through the access portal), with the same `userIdentity` and
//!   `serviceEventDetails`. Its eventSource is not confirmed: AWS's Identity Center user guide
//!   lists the portal's events under `sso.amazonaws.com`, a third-party fixture shows
//!   `signin.amazonaws.com`; both are accepted ([`USAGE_EVENT_SOURCES`]).
//!
//! A record with `errorCode` is a failed call, not a use. Such records reach EventBridge as
//! "AWS Service Event via CloudTrail" ([`SERVICE_EVENT_DETAIL_TYPE`]; read-only management events
//! reach a rule only when its State is `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`: EventBridge
//! user guide, "Receiving read-only management events from AWS services"); "AWS API Call via
//! CloudTrail" envelopes, raw records and the records of S3 log files (split by
//! [`super::stream`]) are read the same way.
//!
//! This path is separate from [`super::decode`], which judges changes: it reads only the fields
//! a use needs, borrowing strings from the input, so that a million log records are read in
//! seconds ([`may_be_use`] first skips, without parsing, every record that cannot be one).

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use super::{API_CALL_DETAIL_TYPE, DecodeError, parse};
use crate::domain::time::parse_utc;
use crate::domain::{AccountId, Channel, IdentityStoreId, Use, UseKey};

/// The EventBridge detail-type of CloudTrail's service events (eventType `AwsServiceEvent`),
/// `GetRoleCredentials` and `Federate` among them.
pub const SERVICE_EVENT_DETAIL_TYPE: &str = "AWS Service Event via CloudTrail";

/// The event names that are uses, in [`Channel`] order (`Credentials`, `Console`).
pub const USAGE_EVENT_NAMES: &[&str] = &["GetRoleCredentials", "Federate"];

/// The event sources a use may come from: `sso.amazonaws.com` (documented for the access
/// portal's events), and `signin.amazonaws.com` (seen for `Federate` in a third-party fixture).
pub const USAGE_EVENT_SOURCES: &[&str] = &["sso.amazonaws.com", "signin.amazonaws.com"];

/// The event names as they stand in JSON text, quotes included (so that `FederatedUser` is not
/// taken for `Federate`).
const QUOTED_NAMES: [&str; 2] = ["\"GetRoleCredentials\"", "\"Federate\""];

/// A cheap pre-filter, without parsing: `false` means the record is certainly not a use (neither
/// event name appears in it as a JSON string), so [`decode_use`] need not be called. `true`
/// means it may be one. It assumes the event name is written without JSON escapes, as
/// CloudTrail and EventBridge write it.
pub fn may_be_use(json: &str) -> bool {
    QUOTED_NAMES.iter().any(|name| json.contains(name))
}

/// The members of an EventBridge envelope and of a CloudTrail record that a use needs, in one
/// struct: an envelope has `detail-type` and `detail`, a record the rest. Only the strings that
/// decide whether the record is a use at all are typed here; the others stay raw until it is.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(rename = "detail-type", borrow)]
    detail_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    detail: Option<&'a RawValue>,
    #[serde(rename = "eventSource", borrow)]
    event_source: Option<Cow<'a, str>>,
    #[serde(rename = "eventName", borrow)]
    event_name: Option<Cow<'a, str>>,
    #[serde(rename = "errorCode")]
    error_code: Option<IgnoredAny>,
    #[serde(rename = "eventTime", borrow)]
    event_time: Option<&'a RawValue>,
    #[serde(rename = "eventID", borrow)]
    event_id: Option<&'a RawValue>,
    #[serde(rename = "userIdentity", borrow)]
    user_identity: Option<&'a RawValue>,
    #[serde(rename = "serviceEventDetails", borrow)]
    service_event_details: Option<&'a RawValue>,
}

/// A JSON string, borrowed when it has no escapes.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Deserialize)]
struct Identity<'a> {
    #[serde(rename = "onBehalfOf", borrow)]
    on_behalf_of: Option<OnBehalfOf<'a>>,
}

#[derive(Deserialize)]
struct OnBehalfOf<'a> {
    #[serde(rename = "userId", borrow)]
    user_id: Option<Cow<'a, str>>,
    #[serde(rename = "identityStoreArn", borrow)]
    identity_store_arn: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Details<'a> {
    #[serde(borrow)]
    role_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    account_id: Option<Cow<'a, str>>,
}

/// Decodes one EventBridge event (detail-type [`SERVICE_EVENT_DETAIL_TYPE`] or "AWS API Call via
/// CloudTrail", the record under `detail`) or one raw CloudTrail record.
///
/// `Ok(None)`: not a use (another detail-type, event source or event name, or a failed call).
/// `Err`: a use whose fields are missing or malformed, the error's path naming the field (e.g.
/// `detail.serviceEventDetails.account_id`): `eventTime`, `eventID`,
/// `userIdentity.onBehalfOf.userId` (and `identityStoreArn` when given),
/// `serviceEventDetails.role_name` and `.account_id`. `serviceEventDetails` may be an object or
/// a JSON string holding one (as some CloudTrail consumers deliver it).
pub fn decode_use(json: &str) -> Result<Option<Use>, DecodeError> {
    let outer: Probe<'_> = parse(json, "")?;
    match (&outer.detail_type, &outer.event_source) {
        (Some(detail_type), _) => {
            if detail_type != SERVICE_EVENT_DETAIL_TYPE && detail_type != API_CALL_DETAIL_TYPE {
                return Ok(None);
            }
            let detail = outer.detail.ok_or_else(|| {
                DecodeError::new(
                    "detail",
                    "missing: an EventBridge CloudTrail event carries the record in `detail`",
                )
            })?;
            let record: Probe<'_> = parse(detail.get(), "detail.")?;
            decode_record(&record, "detail.")
        }
        (None, Some(_)) => decode_record(&outer, ""),
        (None, None) => Err(DecodeError::new(
            "",
            "neither an EventBridge event (no `detail-type`) nor a CloudTrail record (no `eventSource`)",
        )),
    }
}

/// The use a record shows; `prefix` is the record's path in the input (`detail.` or empty).
fn decode_record(record: &Probe<'_>, prefix: &str) -> Result<Option<Use>, DecodeError> {
    let at = |field: &str| format!("{prefix}{field}");
    let source = record
        .event_source
        .as_deref()
        .ok_or_else(|| DecodeError::new(at("eventSource"), "missing"))?;
    let Some(channel) = record.event_name.as_deref().and_then(Channel::of_event_name) else {
        return Ok(None);
    };
    if !USAGE_EVENT_SOURCES.contains(&source) || record.error_code.is_some() {
        return Ok(None);
    }
    let event_time = required_text(record.event_time, &at("eventTime"))?;
    let at_secs = parse_utc(&event_time).ok_or_else(|| {
        DecodeError::new(
            at("eventTime"),
            format!("{event_time:?} is not a UTC time (RFC 3339, e.g. 2026-07-01T00:08:20Z)"),
        )
    })?;
    let event_id = required_text(record.event_id, &at("eventID"))?;
    if event_id.is_empty() {
        return Err(DecodeError::new(at("eventID"), "empty"));
    }
    let (user_id, identity_store_id) = on_behalf_of(record.user_identity, &at("userIdentity"))?;
    let (permission_set, account) = target(record.service_event_details, &at("serviceEventDetails"))?;
    Ok(Some(Use {
        key: UseKey {
            user_id,
            permission_set,
            account,
        },
        at: at_secs,
        event_id: event_id.into_owned(),
        channel,
        identity_store_id,
    }))
}

/// A string member that must be present (`path` names it).
fn required_text<'a>(raw: Option<&'a RawValue>, path: &str) -> Result<Cow<'a, str>, DecodeError> {
    match raw {
        Some(raw) if raw.get() != "null" => parse::<Text<'a>>(raw.get(), path).map(|t| t.0),
        _ => Err(DecodeError::new(path, "missing")),
    }
}

/// The user (`onBehalfOf.userId`) and their identity store (from `onBehalfOf.identityStoreArn`,
/// when given); `path` is `userIdentity`'s.
fn on_behalf_of(raw: Option<&RawValue>, path: &str) -> Result<(String, Option<String>), DecodeError> {
    let user_path = format!("{path}.onBehalfOf.userId");
    let identity: Identity<'_> = match raw {
        Some(raw) if raw.get() != "null" => parse(raw.get(), path)?,
        _ => return Err(DecodeError::new(user_path, "missing: a use names its user here")),
    };
    let on_behalf_of = identity.on_behalf_of;
    let (user_id, store_arn) = on_behalf_of.map_or((None, None), |o| (o.user_id, o.identity_store_arn));
    let user_id = user_id.ok_or_else(|| DecodeError::new(&*user_path, "missing: a use names its user here"))?;
    // The identity store's user id pattern: 1 to 47 characters.
    if user_id.is_empty() || user_id.len() > 47 {
        return Err(DecodeError::new(user_path, format!("{user_id:?} is not a user id")));
    }
    let store = match store_arn {
        None => None,
        Some(arn) => Some(
            IdentityStoreId::from_arn(&arn)
                .ok_or_else(|| {
                    DecodeError::new(
                        format!("{path}.onBehalfOf.identityStoreArn"),
                        format!(
                            "{arn:?} is not an identity store ARN (arn:aws:identitystore::<account>:identitystore/d-…)"
                        ),
                    )
                })?
                .as_str()
                .to_owned(),
        ),
    };
    Ok((user_id.into_owned(), store))
}

/// The permission set's name and the account (`serviceEventDetails`, an object or a JSON string
/// holding one); `path` is `serviceEventDetails`'.
fn target(raw: Option<&RawValue>, path: &str) -> Result<(String, AccountId), DecodeError> {
    let text = match raw {
        Some(raw) if raw.get() != "null" => raw.get(),
        _ => {
            return Err(DecodeError::new(
                path,
                "missing: a use names the permission set and the account here",
            ));
        }
    };
    if text.starts_with('"') {
        // A JSON string holding the object: its text is the object's.
        let inner: Text<'_> = parse(text, path)?;
        target_of(&inner.0, path)
    } else {
        target_of(text, path)
    }
}

fn target_of(object: &str, path: &str) -> Result<(String, AccountId), DecodeError> {
    let details: Details<'_> = parse(object, path)?;
    let role_path = format!("{path}.role_name");
    let name = details
        .role_name
        .ok_or_else(|| DecodeError::new(&*role_path, "missing: a use names the permission set here"))?;
    if name.is_empty() {
        return Err(DecodeError::new(
            role_path,
            "empty: a use names the permission set here",
        ));
    }
    let account_path = format!("{path}.account_id");
    let account = details
        .account_id
        .ok_or_else(|| DecodeError::new(&*account_path, "missing: a use names the account here"))?;
    let account = AccountId::parse(&account).map_err(|e| DecodeError::new(account_path, e.to_string()))?;
    Ok((name.into_owned(), account))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::event::{Body, decode};

    const CREDENTIALS: &str = include_str!("../../../events/sso.GetRoleCredentials-service-event-ignored.json");
    const FAILED: &str = include_str!("../../../events/sso.GetRoleCredentials-failed-ignored.json");
    const CONSOLE_SSO: &str = include_str!("../../../events/sso.Federate-service-event-ignored.json");
    const CONSOLE_SIGNIN: &str = include_str!("../../../events/signin.Federate-service-event-ignored.json");

    fn value(json: &str) -> Value {
        serde_json::from_str(json).unwrap()
    }

    /// The record of an envelope, as a raw record.
    fn raw(json: &str) -> String {
        value(json)["detail"].to_string()
    }

    /// The envelope with `edit` applied to its record.
    fn edited(json: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut v = value(json);
        edit(&mut v["detail"]);
        v.to_string()
    }

    fn error(json: &str) -> DecodeError {
        match decode_use(json) {
            Err(e) => e,
            Ok(u) => panic!("decoded {u:?}"),
        }
    }

    fn the_use(json: &str) -> Use {
        decode_use(json).unwrap().unwrap()
    }

    #[test]
    fn get_role_credentials_decodes_from_the_envelope_and_from_the_raw_record() {
        let expected = Use {
            key: UseKey {
                user_id: "9067a1b2c3-6d321996-eab8-4d2e-9f41-0db53b051a5b".to_owned(),
                permission_set: "PlatformEngineer".to_owned(),
                account: AccountId::parse("333333333333").unwrap(),
            },
            at: parse_utc("2026-03-04T09:12:41Z").unwrap(),
            event_id: value(CREDENTIALS)["detail"]["eventID"].as_str().unwrap().to_owned(),
            channel: Channel::Credentials,
            identity_store_id: Some("d-9067a1b2c3".to_owned()),
        };
        assert_eq!(the_use(CREDENTIALS), expected);
        assert_eq!(the_use(&raw(CREDENTIALS)), expected);
        // The same record delivered as an API call is read the same way.
        let mut v = value(CREDENTIALS);
        v["detail-type"] = json!(API_CALL_DETAIL_TYPE);
        assert_eq!(the_use(&v.to_string()), expected);
    }

    #[test]
    fn federate_is_a_console_use_from_either_source() {
        for (json, user, set, account) in [
            (
                CONSOLE_SSO,
                "9067a1b2c3-6d321996-eab8-4d2e-9f41-0db53b051a5b",
                "ReadOnly",
                "555555555555",
            ),
            (
                CONSOLE_SIGNIN,
                "9067a1b2c3-1f0e8a47-3c5d-4b6a-8e29-7d41c0b5f3a2",
                "PlatformEngineer",
                "444444444444",
            ),
        ] {
            for input in [json.to_owned(), raw(json)] {
                let u = the_use(&input);
                assert_eq!(u.channel, Channel::Console);
                assert_eq!(u.key.user_id, user);
                assert_eq!(u.key.permission_set, set);
                assert_eq!(u.key.account.as_str(), account);
                assert_eq!(
                    u.at,
                    parse_utc(value(json)["detail"]["eventTime"].as_str().unwrap()).unwrap()
                );
            }
        }
    }

    #[test]
    fn failed_calls_other_names_sources_and_detail_types_are_not_uses() {
        assert_eq!(decode_use(FAILED).unwrap(), None);
        assert_eq!(decode_use(&raw(FAILED)).unwrap(), None);
        // errorCode decides, whatever the rest says.
        let failed = edited(CREDENTIALS, |d| d["errorCode"] = json!("TooManyRequestsException"));
        assert_eq!(decode_use(&failed).unwrap(), None);
        let null_error = edited(CREDENTIALS, |d| d["errorCode"] = Value::Null);
        assert!(
            decode_use(&null_error).unwrap().is_some(),
            "a null errorCode is no error"
        );
        // ListAccountRoles carries serviceEventDetails.account_id too, but is no use.
        let list = edited(CREDENTIALS, |d| d["eventName"] = json!("ListAccountRoles"));
        assert_eq!(decode_use(&list).unwrap(), None);
        let other_source = edited(CREDENTIALS, |d| d["eventSource"] = json!("portal.example.com"));
        assert_eq!(decode_use(&other_source).unwrap(), None);
        let mut other_type = value(CREDENTIALS);
        other_type["detail-type"] = json!("User Created");
        assert_eq!(decode_use(&other_type.to_string()).unwrap(), None);
        // A use's own fields are not even read for a record that is no use.
        let broken_list = edited(CREDENTIALS, |d| {
            d["eventName"] = json!("ListAccounts");
            d["serviceEventDetails"] = json!(42);
            d["eventTime"] = json!(1);
        });
        assert_eq!(decode_use(&broken_list).unwrap(), None);
    }

    #[test]
    fn service_event_details_may_be_a_json_string_holding_the_object() {
        let details = value(CREDENTIALS)["detail"]["serviceEventDetails"].to_string();
        let stringly = edited(CREDENTIALS, |d| d["serviceEventDetails"] = json!(details));
        assert_eq!(the_use(&stringly), the_use(CREDENTIALS));
        let bad = edited(CREDENTIALS, |d| {
            d["serviceEventDetails"] = json!(r#"{"role_name":"PlatformEngineer","account_id":"3333"}"#);
        });
        let e = error(&bad);
        assert_eq!(e.path, "detail.serviceEventDetails.account_id", "{e}");
        assert!(e.message.contains("12-digit"), "{e}");
        let not_json = edited(CREDENTIALS, |d| {
            d["serviceEventDetails"] = json!("role PlatformEngineer")
        });
        assert_eq!(error(&not_json).path, "detail.serviceEventDetails");
    }

    #[test]
    fn malformed_fields_of_a_use_are_errors_naming_the_field() {
        type Edit = fn(&mut Value);
        let cases: Vec<(Edit, &str, &str)> = vec![
            (
                |d| drop(d.as_object_mut().unwrap().remove("eventTime")),
                "eventTime",
                "missing",
            ),
            (
                |d| d["eventTime"] = json!("2026-03-04 09:12:41"),
                "eventTime",
                "not a UTC time",
            ),
            (
                |d| d["eventTime"] = json!("2026-03-04T10:12:41+01:00"),
                "eventTime",
                "not a UTC time",
            ),
            (|d| d["eventTime"] = json!(1_772_615_561), "eventTime", "invalid type"),
            (
                |d| drop(d.as_object_mut().unwrap().remove("eventID")),
                "eventID",
                "missing",
            ),
            (|d| d["eventID"] = json!(""), "eventID", "empty"),
            (
                |d| d["userIdentity"] = Value::Null,
                "userIdentity.onBehalfOf.userId",
                "missing",
            ),
            (
                |d| drop(d["userIdentity"].as_object_mut().unwrap().remove("onBehalfOf")),
                "userIdentity.onBehalfOf.userId",
                "missing",
            ),
            (
                |d| d["userIdentity"]["onBehalfOf"]["userId"] = json!(7),
                "userIdentity.onBehalfOf.userId",
                "invalid type",
            ),
            (
                |d| d["userIdentity"]["onBehalfOf"]["userId"] = json!(""),
                "userIdentity.onBehalfOf.userId",
                "not a user id",
            ),
            (
                |d| d["userIdentity"]["onBehalfOf"]["identityStoreArn"] = json!("arn:aws:iam::111111111111:root"),
                "userIdentity.onBehalfOf.identityStoreArn",
                "not an identity store ARN",
            ),
            (
                |d| drop(d.as_object_mut().unwrap().remove("serviceEventDetails")),
                "serviceEventDetails",
                "missing",
            ),
            (
                |d| d["serviceEventDetails"] = json!([]),
                "serviceEventDetails",
                "expected a JSON object",
            ),
            (
                |d| drop(d["serviceEventDetails"].as_object_mut().unwrap().remove("role_name")),
                "serviceEventDetails.role_name",
                "missing",
            ),
            (
                |d| d["serviceEventDetails"]["role_name"] = json!(""),
                "serviceEventDetails.role_name",
                "empty",
            ),
            (
                |d| drop(d["serviceEventDetails"].as_object_mut().unwrap().remove("account_id")),
                "serviceEventDetails.account_id",
                "missing",
            ),
            (
                |d| d["serviceEventDetails"]["account_id"] = json!("33333333333x"),
                "serviceEventDetails.account_id",
                "12-digit",
            ),
            (
                |d| d["serviceEventDetails"]["account_id"] = json!(333_333_333_333_u64),
                "serviceEventDetails.account_id",
                "invalid type",
            ),
        ];
        for (edit, field, says) in cases {
            let envelope = edited(CREDENTIALS, edit);
            let e = error(&envelope);
            assert_eq!(e.path, format!("detail.{field}"), "{e}");
            assert!(e.message.contains(says), "{field}: {e}");
            // The raw record names the same field without the envelope's prefix.
            let e = error(&raw(&envelope));
            assert_eq!(e.path, field, "{e}");
        }
    }

    #[test]
    fn what_is_neither_an_event_nor_a_record_is_an_error() {
        assert_eq!(error(r#"{"eventName":"Federate"}"#).path, "");
        assert!(decode_use("[1,2]").is_err());
        assert!(decode_use("\"GetRoleCredentials\"").is_err());
        assert!(error("{").message.contains("EOF"), "{}", error("{"));
        let no_detail = r#"{"detail-type":"AWS Service Event via CloudTrail","source":"aws.sso"}"#;
        assert_eq!(error(no_detail).path, "detail");
        let no_source = edited(CREDENTIALS, |d| drop(d.as_object_mut().unwrap().remove("eventSource")));
        assert_eq!(error(&no_source).path, "detail.eventSource");
    }

    #[test]
    fn identity_store_is_optional() {
        let without = edited(CREDENTIALS, |d| {
            drop(
                d["userIdentity"]["onBehalfOf"]
                    .as_object_mut()
                    .unwrap()
                    .remove("identityStoreArn"),
            );
        });
        assert_eq!(the_use(&without).identity_store_id, None);
    }

    #[test]
    fn the_names_are_the_channels_names() {
        assert_eq!(
            USAGE_EVENT_NAMES,
            [Channel::Credentials.event_name(), Channel::Console.event_name()]
        );
    }

    /// Every fixture in events/, as an envelope and as a raw record: the pre-filter lets every
    /// use through, and stops every record of another event name.
    #[test]
    fn the_pre_filter_never_drops_a_use_and_drops_the_other_fixtures() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
        let mut uses = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let usage_name = USAGE_EVENT_NAMES.iter().any(|n| name.contains(&format!(".{n}-")));
            for input in [text.clone(), raw(&text)] {
                let decoded = decode_use(&input);
                assert_eq!(may_be_use(&input), usage_name, "{name}");
                if !may_be_use(&input) {
                    assert!(!matches!(decoded, Ok(Some(_))), "{name}: {decoded:?}");
                }
                uses += usize::from(matches!(decoded, Ok(Some(_))));
            }
        }
        assert_eq!(uses, 6, "three usage fixtures, each as an envelope and a raw record");
        assert!(!may_be_use(
            r#"{"userIdentity":{"type":"FederatedUser"},"eventName":"GetFederationToken"}"#
        ));
    }

    /// `event::decode`, which judges changes, sees these records as nothing to judge.
    #[test]
    fn the_change_decoder_ignores_usage_records() {
        for json in [CREDENTIALS, CONSOLE_SSO, CONSOLE_SIGNIN, FAILED] {
            let decoded = decode(json).unwrap();
            assert_eq!(
                decoded.body,
                Body::NotApiCall {
                    detail_type: SERVICE_EVENT_DETAIL_TYPE.to_owned()
                }
            );
        }
        assert_eq!(decode(&raw(CREDENTIALS)).unwrap().body, Body::ReadOnly);
        assert_eq!(decode(&raw(CONSOLE_SSO)).unwrap().body, Body::ReadOnly);
        assert_eq!(decode(&raw(CONSOLE_SIGNIN)).unwrap().body, Body::ReadOnly);
        assert_eq!(
            decode(&raw(FAILED)).unwrap().body,
            Body::Failed {
                error_code: "UnauthorizedException".to_owned()
            }
        );
    }
}
