//! The inbound boundary: the only module that reads CloudTrail and EventBridge JSON.
//!
//! [`decode`] takes one EventBridge "AWS API Call via CloudTrail" event, or one raw CloudTrail
//! record without the envelope, and produces a [`Decoded`]: the record's metadata, the classified
//! actor, and either a typed [`ChangeKind`] or the reason the record is not a change to act on
//! (a failed call, a read, an event name idc-guard does not handle). [`stream`] splits files
//! (single events, JSON Lines, arrays, CloudTrail log files as delivered to S3, gzipped or not)
//! into records without loading them whole.
//!
//! AWS Health events (`health.rs`) decode too: the SCIM bearer token's expiry notice is a change
//! to judge (issue #16); any other Health event is [`Body::Unhandled`]. So do the identity
//! store's own notifications (`notification.rs`, issue #19: "User Created", …), into the same
//! identity changes as their CloudTrail records, with the actor unknown.
//!
//! Malformed input is a [`DecodeError`] naming the path to the bad field; decoding never panics.

mod actor;
mod cloudtrail;
mod health;
pub mod notification;
pub mod stream;
pub mod usage;

use std::fmt;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::domain::{Actor, ChangeKind, EventMeta, EventSource};

pub use health::{HEALTH_DETAIL_TYPE, HEALTH_EVENT_TYPES, HEALTH_SOURCE};
pub use stream::{Input, RecordReader, StreamError};

/// The EventBridge detail-type of CloudTrail API calls.
pub const API_CALL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// The event names idc-guard decodes into changes, per source. Every other name of these
/// sources is [`Body::Unhandled`]; the deployment's EventBridge patterns list the same names.
pub fn handled_event_names(source: &EventSource) -> &'static [&'static str] {
    match source {
        EventSource::SsoAdmin => cloudtrail::SSO_ADMIN_EVENTS,
        EventSource::IdentityStore => cloudtrail::IDENTITY_STORE_EVENTS,
        EventSource::SsoDirectory => cloudtrail::SSO_DIRECTORY_EVENTS,
        EventSource::Scim => cloudtrail::SCIM_EVENTS,
        EventSource::AccountAccess => cloudtrail::ACCOUNT_ACCESS_EVENTS,
    }
}

/// Malformed input: what is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DecodeError {
    /// When a field of a change does not decode but the resource it touches can still be
    /// identified: the record with that resource and an unreadable operation. The guard judges
    /// that resource live rather than drop the event; offline checks report the error.
    pub partial: Option<Box<Decoded>>,
    /// Path to the bad field, e.g. `detail.requestParameters.principalType` (empty: the whole input).
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl DecodeError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
            partial: None,
        }
    }
}

/// What a decoded record is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A change idc-guard judges.
    Change(ChangeKind),
    /// The call failed (`errorCode` present): nothing changed.
    Failed {
        /// CloudTrail `errorCode`.
        error_code: String,
    },
    /// A read-only call.
    ReadOnly,
    /// An event name (or source) idc-guard does not handle.
    Unhandled,
    /// An EventBridge event that is not a CloudTrail API call (e.g. a native Identity Store
    /// notification).
    NotApiCall {
        /// Its detail-type.
        detail_type: String,
    },
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Record metadata.
    pub meta: EventMeta,
    /// The actor, classified (idc-guard's own roles are recognised later, against the policy).
    pub actor: Actor,
    /// What it is.
    pub body: Body,
}

#[derive(Deserialize)]
struct Outer<'a> {
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
    source: Option<String>,
    id: Option<String>,
    #[serde(borrow)]
    detail: Option<&'a RawValue>,
    #[serde(rename = "eventSource")]
    event_source: Option<serde::de::IgnoredAny>,
}

/// Decodes one EventBridge event or raw CloudTrail record from JSON text.
pub fn decode(json: &str) -> Result<Decoded, DecodeError> {
    let outer: Outer<'_> = parse(json, "")?;
    match (outer.detail_type, outer.event_source) {
        (Some(detail_type), _) => {
            // AWS Health's notices (the SCIM token's expiry): their own schema (`health.rs`).
            if health::is_health(outer.source.as_deref(), &detail_type) {
                return health::decode(json);
            }
            // The identity store's own notifications (issue #19): their own envelope.
            if notification::is_notification(outer.source.as_deref(), &detail_type) {
                return notification::decode(json);
            }
            if detail_type != API_CALL_DETAIL_TYPE {
                let event_id = outer.id.unwrap_or_default();
                return Ok(Decoded {
                    meta: EventMeta {
                        event_id: event_id.clone(),
                        shared_event_id: None,
                        envelope_id: Some(event_id),
                        event_name: String::new(),
                        event_source: String::new(),
                        source: None,
                        event_time: String::new(),
                        region: String::new(),
                        account: String::new(),
                        request_id: None,
                        console: false,
                        operation: None,
                    },
                    actor: Actor::Unknown {
                        identity_type: String::new(),
                    },
                    body: Body::NotApiCall { detail_type },
                });
            }
            let detail = outer.detail.ok_or_else(|| {
                DecodeError::new(
                    "detail",
                    "missing: an EventBridge CloudTrail event carries the record in `detail`",
                )
            })?;
            let mut decoded = cloudtrail::decode_record(detail.get(), "detail.")?;
            decoded.meta.envelope_id = outer.id;
            Ok(decoded)
        }
        (None, Some(_)) => cloudtrail::decode_record(json, ""),
        (None, None) => Err(DecodeError::new(
            "",
            "neither an EventBridge event (no `detail-type`) nor a CloudTrail record (no `eventSource`)",
        )),
    }
}

/// Deserialises `json` as `T`, reporting errors with the path below `prefix`.
pub(crate) fn parse<'a, T: Deserialize<'a>>(json: &'a str, prefix: &str) -> Result<T, DecodeError> {
    // Tracking the path costs an allocation per field; only a failure needs it, so well-formed
    // input (nearly all of it) takes the plain parse and a failure is parsed again for its path.
    if let Ok(value) = serde_json::from_str(json) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(json);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.path().to_string();
        let path = match (prefix.trim_end_matches('.'), inner.as_str()) {
            (p, ".") => p.to_owned(),
            ("", i) => i.to_owned(),
            (p, i) if i.starts_with('[') => format!("{p}{i}"),
            (p, i) => format!("{p}.{i}"),
        };
        let message = e.into_inner().to_string();
        // At the top level the line and column are the only location there is: keep them.
        let message = if path.is_empty() && !message.contains("expected struct") {
            message
        } else {
            clean_message(&message)
        };
        DecodeError::new(path, message)
    })?;
    de.end()
        .map_err(|e| DecodeError::new(prefix.trim_end_matches('.'), e.to_string()))?;
    Ok(value)
}

/// serde_json appends " at line L column C" to its messages (the path already says where) and
/// names our private structs ("expected struct Outer"), which mean nothing to the reader.
fn clean_message(message: &str) -> String {
    let message = match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => &message[..i],
        _ => message,
    };
    match message.find("expected struct ") {
        Some(i) => format!("{}expected a JSON object", &message[..i]),
        None => message.to_owned(),
    }
}
