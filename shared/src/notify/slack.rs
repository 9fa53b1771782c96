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
        "breaker-reset" => ":arrow_forward:",
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

/// Text for a `mrkdwn` element: Slack's three control characters escaped (its "Escaping text"
/// rule), so a name or message from an event cannot mention `<!channel>`, a user, or a link;
/// control characters written as escapes.
pub fn mrkdwn(text: &str) -> String {
    crate::report::printable(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
        "breaker-reset" => "BREAKER RESET",
        "breaker-opened" => "BREAKER OPENED",
        "not-verified" => "NOT VERIFIED",
        "cannot-remediate" => "CANNOT REMEDIATE",
        "failed" => "FAILED",
        _ => "FINDING",
    }
}

/// The webhook payload for one finding document (or operational notice).
pub fn payload(doc: &Value) -> Value {
    let outcome = str_of(doc, "/outcome");
    if doc.get("finding").is_none() {
        return notice_payload(doc, outcome);
    }
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
            fields
                .push(json!({"type": "mrkdwn", "text": truncate(&format!("*{name}*\n{}", mrkdwn(value)), MAX_FIELD)}));
        }
    }
    let mut text = mrkdwn(str_of(doc, "/finding/message"));
    if let Some(detail) = doc.get("detail").and_then(Value::as_str) {
        text.push_str("\n*What idc-guard did:* ");
        text.push_str(&mrkdwn(detail));
    }
    let context = mrkdwn(&format!(
        "CloudTrail eventID {} · {} · {}",
        str_of(doc, "/event_id"),
        str_of(doc, "/event_name"),
        str_of(doc, "/event_time")
    ));
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

/// An operational notice (no finding): the label, who and when, and the detail.
fn notice_payload(doc: &Value, outcome: &str) -> Value {
    let title = format!("{} {}", emoji(outcome), label(outcome));
    let context = mrkdwn(&format!("{} · {}", str_of(doc, "/actor"), str_of(doc, "/event_time")));
    json!({
        "text": truncate(&title, MAX_SECTION),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": truncate(&title, MAX_HEADER), "emoji": true}},
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(&mrkdwn(str_of(doc, "/detail")), MAX_SECTION)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(&context, MAX_FIELD)}]},
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_data_cannot_mention_link_or_rewrite_in_slack() {
        let doc = json!({
            "outcome": "detected",
            "actor": "role <!channel> & <https://evil|click>\u{1b}[2J",
            "finding": {"rule": "identity-store-scim-only", "message": "made by <@U123>",
                        "resource": {}},
        });
        let p = payload(&doc);
        let actor = p["blocks"][1]["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["text"].as_str())
            .find(|t| t.starts_with("*Actor*"))
            .unwrap_or_default();
        assert_eq!(
            actor,
            "*Actor*\nrole &lt;!channel&gt; &amp; &lt;https://evil|click&gt;\\u{1b}[2J"
        );
        let text = p.to_string();
        assert!(!text.contains("<!channel>") && !text.contains("<@U123>"), "{text}");
    }

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
