//! Slack Block Kit for a finding document (the `lambda` form of an SNS notification): a header,
//! fields, the finding's message and a context line, within Slack's limits.

use serde_json::{Value, json};

/// Slack's limit for a header's text.
pub const MAX_HEADER: usize = 150;
/// Slack's limit for a field's text.
pub const MAX_FIELD: usize = 2000;
/// Slack's limit for a section's text.
pub const MAX_SECTION: usize = 3000;

/// The emoji a message starts with, by outcome id.
pub fn emoji(outcome: &str) -> &'static str {
    match outcome {
        "remediated" => ":white_check_mark:",
        "detected" => ":mag:",
        "withheld" => ":pause_button:",
        "quarantined" => ":lock:",
        "breaker-opened" => ":rotating_light:",
        "not-verified" => ":warning:",
        "cannot-remediate" => ":no_entry:",
        "failed" => ":x:",
        _ => ":grey_question:",
    }
}

/// `text` cut to at most `max` characters (an ellipsis marks the cut).
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn str_of<'a>(doc: &'a Value, pointer: &str) -> &'a str {
    doc.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn label(outcome: &str) -> &'static str {
    match outcome {
        "remediated" => "REVERTED",
        "detected" => "DETECTED",
        "withheld" => "WITHHELD",
        "quarantined" => "QUARANTINED",
        "breaker-opened" => "BREAKER OPENED",
        "not-verified" => "NOT VERIFIED",
        "cannot-remediate" => "CANNOT REMEDIATE",
        "failed" => "FAILED",
        _ => "FINDING",
    }
}

/// The webhook payload for one finding document.
pub fn payload(doc: &Value) -> Value {
    let outcome = str_of(doc, "/outcome");
    let rule = str_of(doc, "/finding/rule");
    let set = str_of(doc, "/finding/resource/permission_set_name");
    let account = doc
        .pointer("/finding/resource/account_id")
        .and_then(Value::as_str)
        .unwrap_or_else(|| str_of(doc, "/account"));
    let target = if set.is_empty() { account } else { set };
    let title = format!("{} {} {rule} on {target}", emoji(outcome), label(outcome));
    let mut fields = Vec::new();
    for (name, value) in [
        ("Rule", rule),
        ("Severity", str_of(doc, "/finding/severity")),
        ("Outcome", outcome),
        ("Mode", str_of(doc, "/finding/mode")),
        ("Owner", str_of(doc, "/owner")),
        ("Account", account),
        ("Permission set", set),
        ("Actor", str_of(doc, "/actor")),
    ] {
        if !value.is_empty() {
            fields.push(json!({"type": "mrkdwn", "text": truncate(&format!("*{name}*\n{value}"), MAX_FIELD)}));
        }
    }
    let mut text = str_of(doc, "/finding/message").to_owned();
    if let Some(detail) = doc.get("detail").and_then(Value::as_str) {
        text.push_str("\n*What idc-guard did:* ");
        text.push_str(detail);
    }
    let context = format!(
        "CloudTrail eventID {} · {} · {}",
        str_of(doc, "/event_id"),
        str_of(doc, "/event_name"),
        str_of(doc, "/event_time")
    );
    json!({
        "text": truncate(&title, MAX_SECTION),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": truncate(&title, MAX_HEADER), "emoji": true}},
            {"type": "section", "fields": fields},
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(&text, MAX_SECTION)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(&context, MAX_FIELD)}]},
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_within_the_limits() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        let doc = json!({
            "outcome": "failed",
            "detail": "x".repeat(10_000),
            "finding": {"rule": "inline-policy-forbidden-actions", "message": "y".repeat(10_000),
                        "resource": {"permission_set_name": "Z".repeat(500)}},
        });
        let p = payload(&doc);
        let header = p["blocks"][0]["text"]["text"].as_str().unwrap_or_default();
        assert_eq!(header.chars().count(), MAX_HEADER);
        assert!(header.starts_with(":x: FAILED inline-policy-forbidden-actions on ZZZ"));
        let section = p["blocks"][2]["text"]["text"].as_str().unwrap_or_default();
        assert_eq!(section.chars().count(), MAX_SECTION);
        for field in p["blocks"][1]["fields"].as_array().into_iter().flatten() {
            assert!(field["text"].as_str().unwrap_or_default().chars().count() <= MAX_FIELD);
        }
    }
}
