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

/// `text` with every character that could rewrite a terminal or reorder what is shown (control
/// characters, ANSI escapes, Unicode bidirectional overrides) written as a `\u{…}` escape. Event
/// data (user agents, names, messages quoting them) is written through this in text output.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// One line for people: verdict, event, and what was found. Everything that comes from the
/// event or the policy is written through [`printable`].
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
        printable(short_source(&e.meta.event_source)),
        if e.meta.event_name.is_empty() {
            "-".into()
        } else {
            printable(&e.meta.event_name)
        },
        printable(&e.actor.to_string()),
        printable(&e.meta.event_id)
    );
    if let Some(reason) = &e.reason {
        let _ = write!(out, ": {}", printable(&reason.to_string()));
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
            printable(&f.message)
        );
        if let Some(x) = &f.expired_exception {
            let _ = write!(out, " (exception by {} expired {})", printable(&x.owner), x.expired);
        }
    }
    for u in &e.undetermined {
        let _ = write!(out, "\n    {}: needs {:?}: {}", u.rule, u.fact, printable(&u.detail));
    }
    for x in &e.excepted {
        let _ = write!(
            out,
            "\n    {}: excepted until {} (owner {}: {})",
            x.rule,
            x.expires,
            printable(&x.owner),
            printable(&x.reason)
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn control_characters_and_bidi_overrides_are_escaped() {
        assert_eq!(printable("alice"), "alice");
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(printable("x\ny\rz\u{7}"), "x\\u{a}y\\u{d}z\\u{7}");
        assert_eq!(printable("evil\u{202E}txt.exe"), "evil\\u{202e}txt.exe");
    }

    proptest! {
        // Whatever the input, the output holds no control character and no bidi override, and
        // text without them is unchanged.
        #[test]
        fn nothing_unsafe_survives(text in "\\PC*|[\\x00-\\x1f\\x7f-\\u{9f}\\u{202a}-\\u{202e}a-z]*") {
            let unsafe_char = |c: char| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            let out = printable(&text);
            let clean = !out.chars().any(unsafe_char);
            prop_assert!(clean);
            if !text.chars().any(unsafe_char) {
                prop_assert_eq!(out.as_ref(), text.as_str());
            }
        }
    }
}
