//! Metrics as log lines (issue #18): what idc-guard publishes to CloudWatch, declared once
//! ([`METRICS`]), derived from what the functions already report (a guard's [`GuardReport`]s,
//! the reconciler's [`RunReport`], the adapters' count of throttling answers), and written in
//! CloudWatch's embedded metric format (EMF): one JSON object per line, which CloudWatch Logs
//! turns into metrics. No `PutMetricData` call, no permission beyond writing logs.
//!
//! The format is the one in the CloudWatch user guide, "Specification: Embedded metric format"
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>):
//! the root object holds `_aws` (the metadata: `Timestamp` in milliseconds since the epoch and
//! `CloudWatchMetrics`, a list of metric directives, each with its `Namespace`, `Dimensions` as
//! a list of dimension sets and `Metrics` as a list of `{Name, Unit}`), and every dimension and
//! metric a directive names is a top-level member holding its value (a number, or an array of
//! numbers). A directive names at most 100 metrics and a dimension set at most 30 dimensions; a
//! metric's array at most 100 values. An empty dimension set publishes the metric without
//! dimensions. A line must be the JSON object alone, nothing before or after it.
//!
//! Each line here carries one metric (one directive, one dimension set), which keeps every line
//! far inside those limits, and makes "which metric is this" one look.
//!
//! In Lambda, whatever a function writes to standard output reaches its log group ("When using
//! Lambda, no agent is required [...] Anything logged to STDOUT is sent to CloudWatch Logs",
//! CloudWatch user guide, "Creating logs in embedded metric format using the client
//! libraries"). The template sets `LogFormat: JSON`; for a runtime without built-in JSON
//! application logging (an OS-only runtime, as ours) that format applies to the system logs, and
//! Lambda does not encode again application log lines that are JSON already (Lambda developer
//! guide, "Configuring JSON and plain text log formats"), so an EMF line reaches CloudWatch Logs
//! as the object it is and its metrics are extracted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::domain::time::parse_utc;
use crate::domain::{Outcome, OutcomeKind, RevocationStatus};
use crate::guard::GuardReport;
use crate::reconcile::RunReport;

/// The CloudWatch namespace of every idc-guard metric (the template's alarms use it).
pub const NAMESPACE: &str = "idc-guard";

/// At most this many metrics in one directive (EMF specification).
pub const MAX_METRICS_PER_DIRECTIVE: usize = 100;

/// At most this many dimensions in one dimension set (EMF specification).
pub const MAX_DIMENSIONS: usize = 30;

/// At most this many values in one metric's array (EMF specification).
pub const MAX_VALUES: usize = 100;

/// A metric's unit, as CloudWatch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    /// How many times.
    Count,
    /// A duration, in milliseconds.
    Milliseconds,
}

impl Unit {
    /// CloudWatch's name of the unit.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

/// One metric idc-guard publishes: its name, unit, dimensions (the only ones it is ever
/// published with, in this order) and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// The metric name.
    pub name: &'static str,
    /// Its unit.
    pub unit: Unit,
    /// Its dimensions (empty: published without dimensions).
    pub dimensions: &'static [&'static str],
    /// What one datapoint means.
    pub meaning: &'static str,
}

/// Findings judged, by rule and outcome.
pub const FINDINGS: Metric = Metric {
    name: "Findings",
    unit: Unit::Count,
    dimensions: &["Rule", "Outcome"],
    meaning: "findings reported by the guards and the reconciler, by rule and by what became of them \
              (`detected`, `remediated`, `withheld`, `quarantined`, `breaker-opened`, `not-verified`, \
              `cannot-remediate`, `failed`)",
};

/// Corrections made and verified by a read-back, by rule.
pub const REMEDIATIONS: Metric = Metric {
    name: "Remediations",
    unit: Unit::Count,
    dimensions: &["Rule"],
    meaning: "corrections made and verified by a read-back (outcome `remediated`), by rule",
};

/// Corrections withheld, by rule and by the class of the reason.
pub const WITHHELD: Metric = Metric {
    name: "Withheld",
    unit: Unit::Count,
    dimensions: &["Rule", "Reason"],
    meaning: "corrections (and session revocations) the safety rails withheld, by rule and reason: \
              `kill-switch`, `breaker`, `flap`, `mode`, `fail-closed` (the safety state unusable or absent), \
              `other-path` (the reconciler leaves a resource an event just corrected), `refused` (the \
              reconciler's plan), `other`",
};

/// Openings of the breaker.
pub const BREAKER_OPENED: Metric = Metric {
    name: "BreakerOpened",
    unit: Unit::Count,
    dimensions: &[],
    meaning: "the breaker opened (every correction on the event path is withheld until an operator \
              resets it); the `BreakerOpened` alarm watches it",
};

/// From a change to its verified correction.
pub const LATENCY: Metric = Metric {
    name: "Latency",
    unit: Unit::Milliseconds,
    dimensions: &["Function"],
    meaning: "from the CloudTrail record's `eventTime` to the end of the batch that corrected and \
              verified it, per verified correction, by guard function",
};

/// Throttling answers.
pub const THROTTLES: Metric = Metric {
    name: "Throttles",
    unit: Unit::Count,
    dimensions: &["Service"],
    meaning: "throttling answers AWS gave the functions' requests (each attempt, retried or not), by \
              service (`ssoadmin`, `identitystore`, `dynamodb`, ...)",
};

/// The reconciler's planned corrections.
pub const RECONCILER_DRIFT: Metric = Metric {
    name: "ReconcilerDrift",
    unit: Unit::Count,
    dimensions: &["Rule"],
    meaning: "corrections a drift reconciler run planned (drift it found), by rule",
};

/// What the reconciler could not read.
pub const RECONCILER_UNKNOWN: Metric = Metric {
    name: "ReconcilerUnknown",
    unit: Unit::Count,
    dimensions: &[],
    meaning: "scopes a drift reconciler run could not read, and so left alone (published every run, \
              0 included)",
};

/// Every metric idc-guard publishes: the one declared list (the README's table and the
/// template's dashboard are tested against it).
pub const METRICS: &[Metric] = &[
    FINDINGS,
    REMEDIATIONS,
    WITHHELD,
    BREAKER_OPENED,
    LATENCY,
    THROTTLES,
    RECONCILER_DRIFT,
    RECONCILER_UNKNOWN,
];

/// The class of a withholding reason, for the `Withheld` metric's `Reason` dimension. The
/// reasons are the safety rails' sentences (`safety`, `wiring::rails`, the reconciler's
/// refusal); a test holds each of them to its class.
pub fn reason_class(reason: &str) -> &'static str {
    if reason.starts_with("kill switch ") {
        "kill-switch"
    } else if reason.starts_with("breaker open") {
        "breaker"
    } else if reason.starts_with("quarantined since ") {
        "flap"
    } else if reason.starts_with("rule ") && reason.ends_with(" mode") {
        "mode"
    } else if reason.starts_with("fail closed") || reason.starts_with("no safety state table") {
        "fail-closed"
    } else if reason.ends_with("the reconciler leaves it to its next run") {
        "other-path"
    } else if reason.starts_with("reconciler refused its plan") {
        "refused"
    } else {
        "other"
    }
}

/// The `Reason` of a withheld outcome, or `None` for one that was not withheld.
pub fn withheld_reason(kind: &OutcomeKind) -> Option<&'static str> {
    match kind {
        OutcomeKind::Withheld { reason } => Some(reason_class(reason)),
        OutcomeKind::Quarantined { .. } => Some("flap"),
        OutcomeKind::BreakerOpened { .. } => Some("breaker"),
        _ => None,
    }
}

/// Whether this withholding reason is the one given by the decision that opened the breaker
/// (a revocation's decision keeps only the reason).
fn opened_the_breaker(reason: &str) -> bool {
    reason.starts_with("breaker opened at ")
}

/// A series: a metric's name and its dimension values.
type SeriesKey = (&'static str, Vec<String>);

/// Datapoints gathered, by metric and dimension values: counts are summed, durations kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Datapoints {
    series: BTreeMap<SeriesKey, (Metric, Vec<f64>)>,
}

impl Datapoints {
    /// Adds `value` to `metric` with these dimension values (in the order of
    /// [`Metric::dimensions`]). A value for a metric outside [`METRICS`] or with the wrong number
    /// of dimension values is a defect: it panics in debug builds and is dropped otherwise.
    pub fn add(&mut self, metric: Metric, dimensions: &[&str], value: f64) {
        let declared = METRICS.contains(&metric) && dimensions.len() == metric.dimensions.len();
        debug_assert!(declared, "{} with {dimensions:?} is not declared", metric.name);
        if !declared || !value.is_finite() {
            return;
        }
        let values = dimensions.iter().map(|d| dimension_value(d)).collect();
        let (_, series) = self
            .series
            .entry((metric.name, values))
            .or_insert_with(|| (metric, Vec::new()));
        match (metric.unit, series.first_mut()) {
            (Unit::Count, Some(sum)) => *sum += value,
            _ => series.push(value),
        }
    }

    /// Adds everything `other` holds.
    pub fn extend(&mut self, other: &Datapoints) {
        for ((_, dims), (metric, values)) in &other.series {
            let dims: Vec<&str> = dims.iter().map(String::as_str).collect();
            for v in values {
                self.add(*metric, &dims, *v);
            }
        }
    }

    /// Whether nothing was gathered.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The values of `metric` with these dimension values: a count's sum, or each duration.
    pub fn values(&self, metric: &str, dimensions: &[&str]) -> Option<&[f64]> {
        let key = (metric, dimensions.iter().map(|d| (*d).to_owned()).collect::<Vec<_>>());
        self.series
            .iter()
            .find(|((name, dims), _)| *name == key.0 && *dims == key.1)
            .map(|(_, (_, values))| values.as_slice())
    }

    /// The EMF lines, one per metric and dimension values (more for a duration with over
    /// [`MAX_VALUES`] values), stamped `timestamp_ms` (milliseconds since the epoch).
    pub fn lines(&self, timestamp_ms: u64) -> Vec<String> {
        let mut out = Vec::new();
        for ((_, dims), (metric, values)) in &self.series {
            for chunk in values.chunks(MAX_VALUES) {
                out.push(line(*metric, dims, chunk, timestamp_ms));
            }
        }
        out
    }

    /// Writes the EMF lines to `out` (standard output in Lambda), each followed by a newline.
    ///
    /// # Errors
    /// Writing failed.
    pub fn write_to(&self, out: &mut dyn Write, timestamp_ms: u64) -> io::Result<()> {
        for l in self.lines(timestamp_ms) {
            writeln!(out, "{l}")?;
        }
        out.flush()
    }
}

/// A dimension value CloudWatch accepts: ASCII, not blank (API reference, `Dimension`).
fn dimension_value(value: &str) -> String {
    let ascii: String = value
        .chars()
        .map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' })
        .collect();
    if ascii.trim().is_empty() {
        "unknown".to_owned()
    } else {
        ascii
    }
}

/// One EMF object: one directive naming `metric`, its dimension values and its value(s).
fn line(metric: Metric, dims: &[String], values: &[f64], timestamp_ms: u64) -> String {
    let mut root = Map::new();
    root.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [metric.dimensions],
                "Metrics": [{"Name": metric.name, "Unit": metric.unit.as_str()}],
            }],
        }),
    );
    for (name, value) in metric.dimensions.iter().zip(dims) {
        root.insert((*name).to_owned(), Value::String(value.clone()));
    }
    let number = |v: f64| {
        // Counts are whole: written as integers.
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            json!(v as i64)
        } else {
            json!(v)
        }
    };
    let value = match values {
        [one] => number(*one),
        many => Value::Array(many.iter().map(|v| number(*v)).collect()),
    };
    root.insert(metric.name.to_owned(), value);
    Value::Object(root).to_string()
}

/// What one outcome counts: its finding, a verified correction (and its latency, for a guard
/// `function`), a withholding, a breaker opening (its own, or its revocation's).
fn of_outcome(points: &mut Datapoints, outcome: &Outcome, function: Option<&str>, now_ms: u64) {
    let rule = outcome.finding.rule.as_str();
    of_kind(points, rule, &outcome.kind);
    if let (OutcomeKind::Remediated, Some(function)) = (&outcome.kind, function)
        && let Some(at) = parse_utc(&outcome.event.event_time)
    {
        let latency = now_ms.saturating_sub(at.saturating_mul(1000));
        points.add(LATENCY, &[function], latency as f64);
    }
    of_revocations(points, rule, &outcome.revocations);
}

/// The finding, correction, withholding and opening one outcome kind counts.
fn of_kind(points: &mut Datapoints, rule: &str, kind: &OutcomeKind) {
    count(points, rule, kind.as_str(), withheld_reason(kind));
}

/// What an outcome named `outcome` (`OutcomeKind::as_str`), withheld for `reason` (a class)
/// if it was, counts under `rule`.
fn count(points: &mut Datapoints, rule: &str, outcome: &str, reason: Option<&str>) {
    points.add(FINDINGS, &[rule, outcome], 1.0);
    if outcome == OutcomeKind::Remediated.as_str() {
        points.add(REMEDIATIONS, &[rule], 1.0);
    }
    if let Some(reason) = reason {
        points.add(WITHHELD, &[rule, reason], 1.0);
    }
    if outcome == "breaker-opened" {
        points.add(BREAKER_OPENED, &[], 1.0);
    }
}

/// An executed correction's outcome as the run report words it (`OutcomeKind`'s `Display`):
/// its name (`OutcomeKind::as_str`) and, when withheld, the reason's class. `None` for a
/// correction not executed (compliant when read again, left to another path). A test holds
/// this to every kind's `Display`.
fn of_reported(text: &str) -> Option<(&'static str, Option<&'static str>)> {
    let reason = |prefix: &str| text.strip_prefix(prefix).map(reason_class);
    if text.starts_with("withheld, resource quarantined: ") {
        Some(("quarantined", Some("flap")))
    } else if text.starts_with("withheld, breaker opened: ") {
        Some(("breaker-opened", Some("breaker")))
    } else if let Some(class) = reason("withheld: ") {
        Some(("withheld", Some(class)))
    } else if text == "detected" {
        Some(("detected", None))
    } else if text == "remediated and verified" {
        Some(("remediated", None))
    } else if text.starts_with("corrected but not verified: ") {
        Some(("not-verified", None))
    } else if text.starts_with("cannot remediate: ") {
        Some(("cannot-remediate", None))
    } else if text.starts_with("failed: ") {
        Some(("failed", None))
    } else {
        None
    }
}

/// Revocations withheld (under the rule of the removal they follow), and the breaker openings
/// their decisions made.
fn of_revocations(points: &mut Datapoints, rule: &str, revocations: &[crate::domain::RevocationReport]) {
    for r in revocations {
        if let RevocationStatus::Withheld { reason } = &r.status {
            points.add(WITHHELD, &[rule, reason_class(reason)], 1.0);
            if opened_the_breaker(reason) {
                points.add(BREAKER_OPENED, &[], 1.0);
            }
        }
    }
}

/// The datapoints of a guard's batch (or single event): every outcome of every report, and the
/// latency of each verified correction at `now_ms`, under `function` (the guard's name).
pub fn of_guard<'a>(function: &str, reports: impl IntoIterator<Item = &'a GuardReport>, now_ms: u64) -> Datapoints {
    let mut points = Datapoints::default();
    for report in reports {
        for outcome in &report.outcomes {
            of_outcome(&mut points, outcome, Some(function), now_ms);
        }
    }
    points
}

/// The datapoints of a drift reconciler run: the drift it planned, by rule, what it could not
/// read, and what became of each executed correction (as a guard's outcomes count), with the
/// revocations made after its removals.
pub fn of_run(report: &RunReport) -> Datapoints {
    let mut points = Datapoints::default();
    for action in &report.plan {
        let rule = action.rule.as_str();
        points.add(RECONCILER_DRIFT, &[rule], 1.0);
        if let Some((outcome, reason)) = action.outcome.as_deref().and_then(of_reported) {
            count(&mut points, rule, outcome, reason);
        }
    }
    points.add(RECONCILER_UNKNOWN, &[], report.unknown.len() as f64);
    // A revocation after the run's removals names no rule: only its breaker opening counts.
    for r in &report.revocations {
        if let RevocationStatus::Withheld { reason } = &r.status
            && opened_the_breaker(reason)
        {
            points.add(BREAKER_OPENED, &[], 1.0);
        }
    }
    points
}

/// The throttling answers seen between two readings of the adapters' count by service
/// (`crate::adapters::throttles`, read before and after an invocation).
pub fn of_throttles(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> Datapoints {
    let mut points = Datapoints::default();
    for (service, n) in after {
        let added = n.saturating_sub(before.get(service).copied().unwrap_or(0));
        if added > 0 {
            points.add(THROTTLES, &[service], added as f64);
        }
    }
    points
}

/// The README's table of [`METRICS`] (between its `metrics-table` markers; a test holds the two
/// equal).
pub fn table() -> String {
    let mut out = String::from("| metric | unit | dimensions | what one datapoint means |\n|---|---|---|---|\n");
    for m in METRICS {
        let dims = if m.dimensions.is_empty() {
            "(none)".to_owned()
        } else {
            m.dimensions
                .iter()
                .map(|d| format!("`{d}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let meaning = m.meaning.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = writeln!(out, "| `{}` | {} | {dims} | {meaning} |", m.name, m.unit.as_str());
    }
    out
}

#[cfg(test)]
mod tests;
