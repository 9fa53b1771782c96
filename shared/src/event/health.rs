//! AWS Health events as EventBridge delivers them (`source: aws.health`, `detail-type: AWS Health
//! Event`), for the one event type idc-guard acts upon: the SCIM bearer token's expiry notice
//! (`AWS_IAMIDENTITYCENTER_SCIM_BEARER_TOKEN_EXPIRY_NOTIFICATION`, issue #16).
//!
//! The shape is AWS Health's documented EventBridge schema ("Reference: AWS Health events Amazon
//! EventBridge schema", AWS Health User Guide): the envelope's `id`, `account`, `time`, `region`,
//! and in `detail` the required `eventArn`, `service`, `eventTypeCode`, `eventTypeCategory`
//! (`issue`, `accountNotification`, `scheduledChange`, `investigation`), `startTime`, and the
//! optional `endTime`, `statusCode`, `eventRegion`, `eventDescription[{language,
//! latestDescription}]`, `affectedEntities[{entityValue, …}]`, `affectedAccount`. Health writes its
//! times as RFC 2822 (`Wed, 31 Jan 2023 21:00:00 GMT`) in the schema's samples; RFC 3339 is
//! accepted too.
//!
//! **Where the expiry date is.** AWS documents the schema, not this event type's contents. The
//! notice's text is what AWS e-mails: "The SCIM access token … expires in 89 days on
//! `<date>`" (quoted by sharing-experience.com, "SCIM Access Token Approaching Expiration"), the
//! date in Java's `Date.toString` form (`Tue Mar 10 14:30:00 UTC 2026`). idc-guard takes the
//! date the text states when it has one (it is about this very token), else `startTime`, which
//! for a scheduled change is when the change happens (the schema's `startTime`); the finding
//! says which it used. This is the most defensible reading, not a documented one: a notice whose
//! text names no date and whose `startTime` is the notice's own time would read as expiring
//! today, which errs towards rotating early.

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::macros::format_description;

use super::{Body, DecodeError, Decoded, parse};
use crate::domain::scim::TOKEN_EXPIRY_EVENT_TYPE;
use crate::domain::{Actor, ChangeKind, EventMeta, ScimSignal};

/// The EventBridge detail-type of AWS Health events.
pub const HEALTH_DETAIL_TYPE: &str = "AWS Health Event";
/// The EventBridge source of AWS Health events.
pub const HEALTH_SOURCE: &str = "aws.health";
/// The Health event types idc-guard decodes into changes; every other one is [`Body::Unhandled`].
pub const HEALTH_EVENT_TYPES: &[&str] = &[TOKEN_EXPIRY_EVENT_TYPE];

#[derive(Deserialize)]
struct Envelope {
    id: String,
    account: Option<String>,
    time: Option<String>,
    region: Option<String>,
    detail: Detail,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    event_arn: String,
    event_type_code: String,
    start_time: Option<String>,
    status_code: Option<String>,
    event_region: Option<String>,
    affected_account: Option<String>,
    #[serde(default)]
    event_description: Vec<Description>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Description {
    latest_description: Option<String>,
}

/// Whether an envelope's source and detail-type are AWS Health's.
pub(super) fn is_health(source: Option<&str>, detail_type: &str) -> bool {
    detail_type == HEALTH_DETAIL_TYPE && source == Some(HEALTH_SOURCE)
}

/// Decodes one AWS Health event (the whole envelope, as JSON text).
pub(super) fn decode(json: &str) -> Result<Decoded, DecodeError> {
    let envelope: Envelope = parse(json, "")?;
    let d = &envelope.detail;
    let start = match d.start_time.as_deref() {
        Some(text) => Some(
            health_time(text)
                .ok_or_else(|| DecodeError::new("detail.startTime", format!("not an AWS Health time: {text:?}")))?,
        ),
        None => None,
    };
    let body = if d.event_type_code == TOKEN_EXPIRY_EVENT_TYPE {
        let stated = d
            .event_description
            .iter()
            .filter_map(|x| x.latest_description.as_deref())
            .find_map(date_in_text);
        Body::Change(ChangeKind::Scim(ScimSignal::TokenExpiry {
            expires: stated.or(start),
            expiry_from: match (stated, start) {
                (Some(_), _) => Some("the notice's text".to_owned()),
                (None, Some(_)) => Some("the event's startTime".to_owned()),
                (None, None) => None,
            },
            event_arn: d.event_arn.clone(),
            status: d.status_code.clone(),
        }))
    } else {
        Body::Unhandled
    };
    Ok(Decoded {
        meta: EventMeta {
            event_id: envelope.id.clone(),
            shared_event_id: None,
            envelope_id: Some(envelope.id),
            event_name: d.event_type_code.clone(),
            event_source: HEALTH_SOURCE.to_owned(),
            source: None,
            event_time: envelope.time.unwrap_or_default(),
            region: d.event_region.clone().or(envelope.region).unwrap_or_default(),
            account: d.affected_account.clone().or(envelope.account).unwrap_or_default(),
            request_id: None,
            console: false,
            operation: None,
        },
        actor: Actor::AwsService {
            service: "health.amazonaws.com".to_owned(),
        },
        body,
    })
}

/// An AWS Health time: RFC 2822 as the schema's samples write it, or RFC 3339.
fn health_time(text: &str) -> Option<u64> {
    let t = OffsetDateTime::parse(text.trim(), &Rfc2822)
        .or_else(|_| OffsetDateTime::parse(text.trim(), &Rfc3339))
        .ok()?;
    u64::try_from(t.unix_timestamp()).ok()
}

/// The first date in Java's `Date.toString` form (`Tue Mar 10 14:30:00 UTC 2026`) in a text.
fn date_in_text(text: &str) -> Option<u64> {
    let format =
        format_description!("[weekday repr:short] [month repr:short] [day] [hour]:[minute]:[second] UTC [year]");
    text.match_indices(" UTC ").find_map(|(i, _)| {
        let candidate = text.get(i.checked_sub(19)?..i.checked_add(9)?)?;
        let t = time::PrimitiveDateTime::parse(candidate, format).ok()?.assume_utc();
        u64::try_from(t.unix_timestamp()).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!(
        "../../../events/health.AWS_IAMIDENTITYCENTER_SCIM_BEARER_TOKEN_EXPIRY_NOTIFICATION-violation.json"
    );

    #[test]
    fn the_fixture_decodes_to_a_token_expiry_with_the_date_its_text_states() {
        let decoded = super::super::decode(FIXTURE).unwrap();
        assert_eq!(decoded.meta.event_name, TOKEN_EXPIRY_EVENT_TYPE);
        assert_eq!(decoded.meta.account, "111111111111");
        let Body::Change(ChangeKind::Scim(ScimSignal::TokenExpiry {
            expires: Some(expires),
            expiry_from: Some(from),
            ..
        })) = decoded.body
        else {
            panic!("{:?}", decoded.body)
        };
        assert_eq!(crate::domain::time::utc(expires), "2026-12-28T09:15:00Z");
        assert_eq!(from, "the notice's text");
    }

    #[test]
    fn without_a_date_in_the_text_the_start_time_is_the_expiry() {
        let mut v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        v["detail"]["eventDescription"] = serde_json::json!([{"language": "en_US", "latestDescription": "Rotate it."}]);
        let decoded = super::super::decode(&v.to_string()).unwrap();
        let Body::Change(ChangeKind::Scim(ScimSignal::TokenExpiry {
            expires: Some(expires),
            expiry_from: Some(from),
            ..
        })) = decoded.body
        else {
            panic!("{:?}", decoded.body)
        };
        assert_eq!(crate::domain::time::utc(expires), "2026-12-28T09:15:00Z");
        assert_eq!(from, "the event's startTime");
    }

    #[test]
    fn times_in_both_forms_parse() {
        assert_eq!(health_time("Thu, 01 Jan 1970 00:01:00 GMT"), Some(60));
        assert_eq!(health_time("1970-01-01T00:01:00Z"), Some(60));
        assert_eq!(health_time("next tuesday"), None);
        assert_eq!(
            date_in_text("expires in 89 days on Thu Jan 01 00:01:00 UTC 1970."),
            Some(60)
        );
        assert_eq!(date_in_text("on Thu Jan 01 00:01:00 UTC"), None);
        assert_eq!(date_in_text("é UTC 2026"), None);
    }

    #[test]
    fn other_health_events_are_unhandled_and_bad_input_is_an_error_naming_the_field() {
        let mut v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        v["detail"]["eventTypeCode"] = "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED".into();
        assert_eq!(super::super::decode(&v.to_string()).unwrap().body, Body::Unhandled);

        let mut v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        v["detail"]["startTime"] = "soon".into();
        let e = super::super::decode(&v.to_string()).unwrap_err();
        assert_eq!(e.path, "detail.startTime");

        let mut v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        v["detail"].as_object_mut().unwrap().remove("eventArn");
        let e = super::super::decode(&v.to_string()).unwrap_err();
        assert_eq!(e.path, "detail");
        assert!(e.message.contains("eventArn"), "{e}");

        let mut v: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        v["detail"]["eventDescription"] = "text".into();
        let e = super::super::decode(&v.to_string()).unwrap_err();
        assert_eq!(e.path, "detail.eventDescription");
    }
}
