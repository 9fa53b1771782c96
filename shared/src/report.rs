//! Rendering evaluations: one JSON object per line for machines, one text line for people.

use serde::Serialize;
use std::fmt::Write as _;

use crate::domain::{Actor, Evaluation, EventVerdict, Excepted, Finding, Mode, Undetermined};

#[derive(Serialize)]
struct JsonLine<'a> {
    event_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    envelope_id: Option<&'a str>,
    event_name: &'a str,
    event_source: &'a str,
    event_time: &'a str,
    account: &'a str,
    actor: &'a Actor,
    verdict: EventVerdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    findings: &'a [Finding],
    undetermined: &'a [Undetermined],
    #[serde(skip_serializing_if = "<[Excepted]>::is_empty")]
    excepted: &'a [Excepted],
}

/// One JSON object (no trailing newline).
pub fn json_line(e: &Evaluation) -> String {
    let line = JsonLine {
        event_id: &e.meta.event_id,
        envelope_id: e.meta.envelope_id.as_deref(),
        event_name: &e.meta.event_name,
        event_source: &e.meta.event_source,
        event_time: &e.meta.event_time,
        account: &e.meta.account,
        actor: &e.actor,
        verdict: e.verdict,
        reason: e.reason.as_ref().map(ToString::to_string),
        findings: &e.findings,
        undetermined: &e.undetermined,
        excepted: &e.excepted,
    };
    // Serialising plain data with string keys cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

/// ANSI styling, used only when writing to a terminal and `NO_COLOR` is unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Whether to emit colour.
    pub colour: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// One line for people: verdict, event, and what was found.
pub fn text_line(e: &Evaluation, style: Style) -> String {
    let (label, code) = match e.verdict {
        EventVerdict::Violation => ("VIOLATION", "1;31"),
        EventVerdict::Undetermined => ("UNDETERMINED", "33"),
        EventVerdict::Compliant => ("COMPLIANT", "32"),
        EventVerdict::Ignored => ("IGNORED", "2"),
    };
    let mut out = format!(
        "{} {} {} by {} [{}]",
        style.paint(code, &format!("{label:<12}")),
        short_source(&e.meta.event_source),
        if e.meta.event_name.is_empty() {
            "-"
        } else {
            &e.meta.event_name
        },
        e.actor,
        e.meta.event_id
    );
    if let Some(reason) = &e.reason {
        let _ = write!(out, ": {reason}");
    }
    for f in &e.findings {
        let plan = if f.remediation.is_empty() {
            "report only".to_owned()
        } else if f.mode == Mode::Enforce {
            format!("revert: {}", action_names(f))
        } else {
            format!("would revert ({}): {}", f.mode, action_names(f))
        };
        let _ = write!(
            out,
            "\n    {} ({}, {}): {} [{plan}]",
            style.paint("1", f.rule.as_str()),
            f.severity,
            f.mode,
            f.message
        );
        if let Some(x) = &f.expired_exception {
            let _ = write!(out, " (exception by {} expired {})", x.owner, x.expired);
        }
    }
    for u in &e.undetermined {
        let _ = write!(out, "\n    {}: needs {:?}: {}", u.rule, u.fact, u.detail);
    }
    for x in &e.excepted {
        let _ = write!(
            out,
            "\n    {}: excepted until {} (owner {}: {})",
            x.rule, x.expires, x.owner, x.reason
        );
    }
    out
}

fn action_names(f: &Finding) -> String {
    let names: Vec<String> = f
        .remediation
        .iter()
        .map(|a| {
            serde_json::to_value(a)
                .ok()
                .and_then(|v| v.get("action").and_then(|n| n.as_str()).map(str::to_owned))
                .unwrap_or_default()
        })
        .collect();
    names.join(", ")
}

fn short_source(source: &str) -> &str {
    source.strip_suffix(".amazonaws.com").unwrap_or(source)
}
