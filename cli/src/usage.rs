//! `usage`: who last used which access, from CloudTrail logs (issue #17).
//!
//! Offline, one row per (user, permission set, account) with its last use. With `--live`, one
//! row per assignment of the live instance with its last use (for a GROUP, its members'), and its
//! dormancy over the `dormant-access` rule's window. Records are read like `check` reads them
//! (`idc_guard::event::stream`); each is first passed through `may_be_use`, a substring test,
//! so only the records that may be uses are parsed at all.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};

use clap::{Args, ValueEnum};
use idc_guard::domain::ChangeKind;
use idc_guard::domain::time::{parse_utc, utc};
use idc_guard::domain::{Date, IdentityStoreId};
use idc_guard::event::usage::{decode_use, may_be_use};
use idc_guard::event::{Body, Input, decode};
use idc_guard::inventory::Options;
use idc_guard::reconcile;
use idc_guard::report::printable;
use idc_guard::safety::{Clock, SystemClock};
use idc_guard::usage::{AssignmentRow, Observation, UsageIndex, assignment_key, per_assignment};

use crate::live::{self, LiveArgs, Progress};
use crate::{CliError, Outcome, runtime};

/// `idc-guard usage`.
#[derive(Args)]
pub(crate) struct UsageArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = UsageFormat::Table)]
    format: UsageFormat,
    /// Ignore uses before this date (YYYY-MM-DD, from its start in UTC). With --live it is also
    /// the start of the observation window (default: the earliest use in the files).
    #[arg(long, value_parser = crate::parse_date)]
    since: Option<Date>,
    /// Count only the uses of this identity store's users (uses whose record names no store are
    /// counted). With --live, the instance's identity store is used.
    #[arg(long, value_parser = crate::parse_store, conflicts_with = "live")]
    identity_store_id: Option<IdentityStoreId>,
    /// Join the uses onto every assignment of the live instance (read like `scan`, with the
    /// members of every assigned group): its last use, by whom, how many users used it, and its
    /// dormancy over the policy's `dormant-access` window. The files' own span is the observation:
    /// uses are seen from --since (or the earliest use in the files; for an assignment whose
    /// CreateAccountAssignment the files hold, from its creation), and dormancy is judged as of
    /// the latest use in the files.
    #[arg(long)]
    live: bool,
    /// With --live: the policy, the instance and how to read it, as for `scan`.
    #[command(flatten)]
    instance: LiveArgs,
    /// CloudTrail records: EventBridge events, raw records, JSON Lines, arrays, or CloudTrail
    /// log files as delivered to S3 (plain or gzipped); `-` is standard input.
    #[arg(required = true)]
    files: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum UsageFormat {
    /// Aligned columns, for people.
    Table,
    /// A JSON array of objects.
    Json,
    /// Comma-separated values with a header.
    Csv,
}

/// The uses the files hold, by identity store (`None`: the record named none).
#[derive(Default)]
struct Uses {
    by_store: BTreeMap<Option<String>, (UsageIndex, u64)>,
    /// With `--live`: when the files show each assignment created (the latest creation), by
    /// `idc_guard::usage::assignment_key`.
    created: BTreeMap<String, u64>,
    records: u64,
    before_since: u64,
    /// Records that could not be read or decoded.
    unreadable: u64,
    /// Files that could not be opened.
    unopened: u64,
}

impl Uses {
    /// Takes one record: a use (from `since` on), with `creations` an assignment's creation, or
    /// nothing. `Err`: what is wrong with it.
    fn take(&mut self, json: &str, since: Option<u64>, creations: bool) -> Result<(), String> {
        if may_be_use(json) {
            match decode_use(json).map_err(|e| e.to_string())? {
                Some(u) if since.is_some_and(|s| u.at < s) => self.before_since += 1,
                Some(u) => {
                    let entry = self.by_store.entry(u.identity_store_id.clone()).or_default();
                    entry.0.add(u);
                    entry.1 += 1;
                }
                None => {}
            }
        } else if creations && json.contains("\"CreateAccountAssignment\"") {
            let decoded = decode(json).map_err(|e| e.to_string())?;
            if let Body::Change(ChangeKind::AssignmentCreated(a)) = &decoded.body {
                let at = parse_utc(&decoded.meta.event_time)
                    .ok_or_else(|| format!("eventTime: {:?} is not a UTC time", decoded.meta.event_time))?;
                let seen = self.created.entry(assignment_key(a)).or_insert(at);
                *seen = (*seen).max(at);
            }
        }
        Ok(())
    }

    /// The uses of `store`'s users (and of records naming no store), or of every store's.
    fn of_store(&mut self, store: Option<&str>) -> Selected {
        let mut selected = Selected::default();
        for (key, (uses, count)) in std::mem::take(&mut self.by_store) {
            if store.is_some() && key.is_some() && key.as_deref() != store {
                selected.other += count;
                continue;
            }
            selected.counted += count;
            // The index keeps last uses only: the span of every use is each store's.
            selected.earliest = match (selected.earliest, uses.earliest()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            selected.latest = selected.latest.max(uses.latest());
            if selected.index.is_empty() {
                selected.index = uses;
            } else {
                for last in uses.iter() {
                    selected.index.add_last(last.clone());
                }
            }
        }
        selected
    }
}

/// The uses [`Uses::of_store`] selected.
#[derive(Default)]
struct Selected {
    /// Their last use per (user, permission set, account).
    index: UsageIndex,
    /// How many uses were counted.
    counted: u64,
    /// How many uses of other identity stores were left out.
    other: u64,
    /// The earliest and the latest of them.
    earliest: Option<u64>,
    latest: Option<u64>,
}

/// The start of a day, in Unix seconds.
fn start_of(date: Date) -> u64 {
    parse_utc(&format!("{date}T00:00:00Z")).unwrap_or(0)
}

/// Reads every file (with `creations`, the assignments' creations too); each bad record (and
/// each file that cannot be opened) is reported on stderr with its place, as `check` reports
/// them.
fn read(files: &[String], since: Option<u64>, creations: bool) -> Uses {
    let mut uses = Uses::default();
    for file in files {
        let input = Input::from_arg(file);
        let records = match input.open() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{}: {}", printable(&input.name()), printable(&e.to_string()));
                uses.unopened += 1;
                continue;
            }
        };
        for (index, record) in records.enumerate() {
            uses.records += 1;
            let taken = match record {
                Ok(json) => uses.take(&json, since, creations),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = taken {
                eprintln!("{}: record {}: {}", printable(&input.name()), index + 1, printable(&e));
                uses.unreadable += 1;
            }
        }
    }
    uses
}

/// Reads the files, and reports the last uses (offline) or each assignment's (`--live`).
pub(crate) fn usage(args: &UsageArgs) -> Result<Outcome, CliError> {
    let since = args.since.map(start_of);
    let mut uses = read(&args.files, since, args.live);
    let (records, before_since, unreadable, unopened) =
        (uses.records, uses.before_since, uses.unreadable, uses.unopened);
    let mut summary = format!("{records} records read");
    let incomplete = if args.live {
        live_report(args, uses, since, &mut summary)?
    } else {
        let store = args.identity_store_id.as_ref().map(IdentityStoreId::as_str);
        let Selected {
            index, counted, other, ..
        } = uses.of_store(store);
        write_rows(args.format, &offline_rows(&index))?;
        summary.push_str(&format!(
            ", {counted} uses ({} user/permission set/account)",
            index.len()
        ));
        if other > 0 {
            summary.push_str(&format!(", {other} of other identity stores left out"));
        }
        None
    };
    if before_since > 0 {
        summary.push_str(&format!(", {before_since} before --since left out"));
    }
    summary.push_str(&format!(", {unreadable} unreadable records"));
    if unopened > 0 {
        summary.push_str(&format!(", {unopened} files could not be read"));
    }
    eprintln!("idc-guard usage: {summary}");
    match incomplete {
        Some(why) => Err(CliError::Reported(why)),
        None if unreadable > 0 || unopened > 0 => Ok(Outcome::Unreadable),
        None => Ok(Outcome::Clean),
    }
}

/// Rows of output: each row's cells in the order of its columns.
struct Table {
    columns: &'static [&'static str],
    rows: Vec<Vec<String>>,
    /// Whether a cell is a number in JSON (else a string; an empty cell is null).
    numeric: &'static [bool],
}

fn offline_rows(index: &UsageIndex) -> Table {
    Table {
        columns: &[
            "user_id",
            "permission_set",
            "account_id",
            "last_used",
            "channel",
            "event_id",
        ],
        numeric: &[false; 6],
        rows: index
            .iter()
            .map(|l| {
                vec![
                    l.key.user_id.clone(),
                    l.key.permission_set.clone(),
                    l.key.account.as_str().to_owned(),
                    utc(l.at),
                    l.channel.to_string(),
                    l.event_id.clone(),
                ]
            })
            .collect(),
    }
}

/// Reads the instance, joins the uses onto its assignments and writes them. `Some(why)`: the
/// report is incomplete (something could not be read).
fn live_report(
    args: &UsageArgs,
    mut uses: Uses,
    since: Option<u64>,
    summary: &mut String,
) -> Result<Option<String>, CliError> {
    runtime()?.block_on(async {
        let s = live::session(&args.instance).await?;
        let instance = live::instance(&s, &args.instance).await?;
        let progress = Progress::start(s.calls.clone(), "usage");
        let options = Options {
            assigned_members: true,
            definitions: false,
            ..live::inventory_options(&args.instance, false)
        };
        let survey = reconcile::survey(&s.guard, &s.directory, &s.organization, &instance, None, &options).await;
        drop(progress);
        let (inv, _) = survey.map_err(|e| e.0)?;
        let Selected {
            index,
            counted,
            other,
            earliest,
            latest,
        } = uses.of_store(Some(inv.identity_store.as_str()));
        // The files' own span is the observation: from --since (or their earliest use) to their
        // latest use, as of which dormancy is judged (a later, unseen stretch proves nothing).
        let as_of = latest.unwrap_or_else(|| SystemClock.now());
        let creations = uses.created.len();
        let observation = Observation {
            since: since.or(earliest).unwrap_or(as_of),
            first_seen: std::mem::take(&mut uses.created),
            tracked: false,
        };
        let rows = per_assignment(s.guard.policy(), &inv, &index, &observation, as_of);
        write_rows(args.format, &live_rows(&rows))?;
        summary.push_str(&format!(
            ", {counted} uses of identity store {} ({} user/permission set/account)",
            inv.identity_store,
            index.len()
        ));
        if other > 0 {
            summary.push_str(&format!(", {other} of other identity stores left out"));
        }
        summary.push_str(&format!(
            ", {creations} assignment creations, {} assignments observed from {} to {}",
            rows.len(),
            utc(observation.since),
            utc(as_of)
        ));
        for u in &inv.unknown {
            eprintln!(
                "idc-guard: could not read: {}",
                serde_json::to_string(u).unwrap_or_default()
            );
        }
        let unknown = rows.iter().filter(|r| r.dormancy.is_none()).count();
        Ok((unknown > 0 || !inv.unknown.is_empty()).then(|| {
            format!("the use of {unknown} assignment(s) could not be determined (shown as unknown): the report is incomplete")
        }))
    })
}

fn live_rows(rows: &[AssignmentRow]) -> Table {
    const COLUMNS: &[&str] = &[
        "principal_type",
        "principal_id",
        "principal_name",
        "permission_set_arn",
        "permission_set_name",
        "account_id",
        "account_name",
        "last_used",
        "last_used_by_id",
        "last_used_by",
        "channel",
        "users",
        "dormancy",
        "window_days",
        "observed_since",
    ];
    const NUMERIC: &[bool] = &[
        false, false, false, false, false, false, false, false, false, false, false, true, false, true, false,
    ];
    let opt = |s: &Option<String>| s.clone().unwrap_or_default();
    let rows = rows
        .iter()
        .map(|r| {
            let a = &r.assignment;
            let usage = r.usage.known();
            let last = usage.and_then(|u| u.last.as_ref());
            vec![
                a.principal_type.as_str().to_owned(),
                a.principal_id.clone(),
                opt(&r.principal_name),
                a.permission_set_arn.as_str().to_owned(),
                opt(&r.permission_set_name),
                a.account_id.as_str().to_owned(),
                opt(&r.account_name),
                last.map(|l| utc(l.at)).unwrap_or_default(),
                last.map(|l| l.user_id.clone()).unwrap_or_default(),
                last.and_then(|l| l.user_name.clone()).unwrap_or_default(),
                last.map(|l| l.channel.to_string()).unwrap_or_default(),
                usage.map(|u| u.users.to_string()).unwrap_or_default(),
                r.dormancy.map_or("unknown", |d| d.as_str()).to_owned(),
                r.window_days.to_string(),
                usage.map(|u| utc(u.observed_since)).unwrap_or_default(),
            ]
        })
        .collect();
    Table {
        columns: COLUMNS,
        numeric: NUMERIC,
        rows,
    }
}

/// Writes the rows in `format` to standard output.
fn write_rows(format: UsageFormat, table: &Table) -> Result<(), CliError> {
    let mut out = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let written = match format {
        UsageFormat::Table => write_table(&mut out, table),
        UsageFormat::Json => write_json(&mut out, table),
        UsageFormat::Csv => write_csv(&mut out, table),
    };
    written.and_then(|()| out.flush()).map_err(CliError::Output)
}

/// Aligned columns, headed by the column names in capitals; every cell escaped for the terminal
/// and an empty one shown as `-`.
fn write_table(out: &mut impl Write, table: &Table) -> io::Result<()> {
    let header: Vec<String> = table
        .columns
        .iter()
        .map(|c| c.replace('_', " ").to_uppercase())
        .collect();
    let cells: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| {
                    if c.is_empty() {
                        "-".to_owned()
                    } else {
                        printable(c).into_owned()
                    }
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&cells) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// A JSON array of objects, their members in column order; an empty cell is null.
fn write_json(out: &mut impl Write, table: &Table) -> io::Result<()> {
    if table.rows.is_empty() {
        return writeln!(out, "[]");
    }
    writeln!(out, "[")?;
    for (i, row) in table.rows.iter().enumerate() {
        writeln!(out, "  {{")?;
        let members = table.columns.iter().zip(row).zip(table.numeric);
        for (j, ((column, cell), numeric)) in members.enumerate() {
            let value = match (cell.is_empty(), numeric) {
                (true, _) => "null".to_owned(),
                (false, true) if cell.parse::<u64>().is_ok() => cell.clone(),
                (false, _) => serde_json::Value::from(cell.as_str()).to_string(),
            };
            let comma = if j + 1 < row.len() { "," } else { "" };
            writeln!(out, "    \"{column}\": {value}{comma}")?;
        }
        writeln!(out, "  }}{}", if i + 1 < table.rows.len() { "," } else { "" })?;
    }
    writeln!(out, "]")
}

/// One CSV field, quoted when it must be (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A header, then one line per row.
fn write_csv(out: &mut impl Write, table: &Table) -> io::Result<()> {
    writeln!(out, "{}", table.columns.join(","))?;
    for row in &table.rows {
        let line: Vec<String> = row.iter().map(|c| field(c)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(format: UsageFormat, table: &Table) -> String {
        let mut out = Vec::new();
        match format {
            UsageFormat::Table => write_table(&mut out, table),
            UsageFormat::Json => write_json(&mut out, table),
            UsageFormat::Csv => write_csv(&mut out, table),
        }
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    fn sample() -> Table {
        Table {
            columns: &["name", "users"],
            numeric: &[false, true],
            rows: vec![
                vec!["a, \"b\"".to_owned(), "2".to_owned()],
                vec!["evil\u{1b}[2J".to_owned(), String::new()],
            ],
        }
    }

    #[test]
    fn csv_quotes_what_it_must() {
        assert_eq!(
            render(UsageFormat::Csv, &sample()),
            "name,users\n\"a, \"\"b\"\"\",2\nevil\u{1b}[2J,\n"
        );
    }

    #[test]
    fn the_table_escapes_terminal_controls_and_aligns() {
        let text = render(UsageFormat::Table, &sample());
        assert_eq!(text, "NAME           USERS\na, \"b\"         2\nevil\\u{1b}[2J  -\n");
    }

    #[test]
    fn json_keeps_the_column_order_with_numbers_and_nulls() {
        let text = render(UsageFormat::Json, &sample());
        assert!(
            text.starts_with("[\n  {\n    \"name\": \"a, \\\"b\\\"\",\n    \"users\": 2\n  },\n"),
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v[0]["users"], 2);
        assert_eq!(v[1]["users"], serde_json::Value::Null);
        assert_eq!(v[1]["name"], "evil\u{1b}[2J");
        let empty = Table {
            rows: Vec::new(),
            ..sample()
        };
        assert_eq!(render(UsageFormat::Json, &empty), "[]\n");
    }

    #[test]
    fn since_is_the_start_of_the_day_in_utc() {
        assert_eq!(utc(start_of(Date::new(2026, 3, 4).unwrap())), "2026-03-04T00:00:00Z");
    }
}
