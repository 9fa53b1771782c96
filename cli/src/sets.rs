//! `sets`: the permission-set hygiene of the live instance (`idc_guard::hygiene`): orphaned sets,
//! sets provisioned where nobody is assigned them, and near-duplicate clusters with their
//! differences, as a table, JSON or CSV.

use std::fmt::Write as _;

use clap::{Args, ValueEnum};
use idc_guard::hygiene::{self, Report};
use idc_guard::inventory::Options;
use idc_guard::reconcile;
use idc_guard::report::printable;

use crate::live::{self, LiveArgs, Progress};
use crate::{CliError, Outcome, runtime};

/// `idc-guard sets`.
#[derive(Args)]
pub(crate) struct SetsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = SetsFormat::Table)]
    format: SetsFormat,
    /// The similarity (Jaccard index of two sets' normalised content, above 0 and at most 1) at
    /// which two sets are near-duplicates (default: the policy's
    /// `[rules.permission-set-near-duplicate] threshold`, shipped as 0.9).
    #[arg(long, value_parser = parse_threshold)]
    threshold: Option<f64>,
    #[command(flatten)]
    live: LiveArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum SetsFormat {
    /// Sections for people.
    Table,
    /// The report as one JSON document.
    Json,
    /// One row per finding, with a header.
    Csv,
}

fn parse_threshold(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(t) if t > 0.0 && t <= 1.0 => Ok(t),
        _ => Err(format!("{s:?} is not a similarity above 0 and at most 1 (e.g. 0.9)")),
    }
}

/// Reads the instance (definitions, provisioning, assignments), and reports its hygiene.
pub(crate) fn sets(args: &SetsArgs) -> Result<Outcome, CliError> {
    runtime()?.block_on(async {
        let s = live::session(&args.live).await?;
        let instance = live::instance(&s, &args.live).await?;
        let progress = Progress::start(s.calls.clone(), "sets");
        let options = Options {
            memberships: false,
            organization: false,
            ..live::inventory_options(&args.live, true)
        };
        let survey = reconcile::survey(&s.guard, &s.directory, &s.organization, &instance, None, &options).await;
        drop(progress);
        let (inv, _) = survey.map_err(|e| e.0)?;
        let mut settings = hygiene::settings(s.guard.policy());
        if let Some(t) = args.threshold {
            settings.threshold = t;
        }
        let report = hygiene::analyse(&inv, &settings);
        let text = match args.format {
            SetsFormat::Table => table(&report, inv.instance.as_str()),
            SetsFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
            SetsFormat::Csv => csv(&report),
        };
        crate::write_out(&text)?;
        if report.has_findings() {
            Ok(Outcome::Findings)
        } else if report.unknown.is_empty() {
            Ok(Outcome::Clean)
        } else {
            Err(CliError::Reported(format!(
                "{} check(s) could not be made (listed under unknown): the report is incomplete",
                report.unknown.len()
            )))
        }
    })
}

/// The report in sections, for people; names are escaped for the terminal.
fn table(r: &Report, instance: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "instance {instance}: {} permission sets, {} compared, near-duplicate threshold {:.2}",
        r.permission_sets, r.compared, r.threshold
    );
    let _ = writeln!(out, "\norphaned (no assignment anywhere): {}", r.orphaned.len());
    for s in &r.orphaned {
        let _ = writeln!(out, "  {:<32} {}", printable(s.label()), s.arn);
    }
    let _ = writeln!(
        out,
        "\nprovisioned without assignment: {}",
        r.provisioned_unassigned.len()
    );
    for p in &r.provisioned_unassigned {
        let _ = writeln!(out, "  {:<32} {}", printable(p.set.label()), p.accounts.join(", "));
    }
    let _ = writeln!(out, "\nnear-duplicate clusters: {}", r.clusters.len());
    for c in &r.clusters {
        let _ = writeln!(out, "  cluster {}: {} sets", c.number, c.members.len());
        let _ = writeln!(
            out,
            "    common to all ({}): {}",
            c.common.len(),
            printable(&c.common.join("; "))
        );
        for m in &c.members {
            let _ = writeln!(
                out,
                "    {:<30} nearest {} ({:.3})",
                printable(m.set.label()),
                printable(&m.nearest),
                m.similarity
            );
            if !m.adds.is_empty() {
                let _ = writeln!(out, "      adds:  {}", printable(&m.adds.join("; ")));
            }
            if !m.lacks.is_empty() {
                let _ = writeln!(out, "      lacks: {}", printable(&m.lacks.join("; ")));
            }
        }
        if let Some(h) = &c.hint {
            let _ = writeln!(out, "    hint: {}", printable(h));
        }
    }
    if !r.unknown.is_empty() {
        let _ = writeln!(out, "\nunknown (not judged): {}", r.unknown.len());
        for u in &r.unknown {
            let _ = writeln!(
                out,
                "  {:<32} {}: {}",
                printable(u.set.label()),
                u.check,
                printable(&u.reason)
            );
        }
    }
    out
}

/// One CSV field, quoted when it must be.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// One row per orphaned set, per (set, account) provisioned without assignment, per cluster
/// member, and per check that could not be made.
fn csv(r: &Report) -> String {
    const HEADER: &str =
        "section,permission_set_name,permission_set_arn,account_id,cluster,nearest,similarity,adds,lacks,hint,reason";
    let mut out = format!("{HEADER}\n");
    let mut row = |cells: [&str; 11]| {
        let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    };
    let name = |s: &hygiene::SetRef| s.name.clone().unwrap_or_default();
    for s in &r.orphaned {
        row(["orphaned", &name(s), &s.arn, "", "", "", "", "", "", "", ""]);
    }
    for p in &r.provisioned_unassigned {
        for a in &p.accounts {
            row([
                "provisioned-unassigned",
                &name(&p.set),
                &p.set.arn,
                a,
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ]);
        }
    }
    for c in &r.clusters {
        let number = c.number.to_string();
        let hint = c.hint.clone().unwrap_or_default();
        for m in &c.members {
            row([
                "near-duplicate",
                &name(&m.set),
                &m.set.arn,
                "",
                &number,
                &m.nearest,
                &format!("{:.3}", m.similarity),
                &m.adds.join(" | "),
                &m.lacks.join(" | "),
                &hint,
                "",
            ]);
        }
    }
    for u in &r.unknown {
        row([
            "unknown",
            &name(&u.set),
            &u.set.arn,
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            &format!("{}: {}", u.check, u.reason),
        ]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_validated() {
        assert_eq!(parse_threshold("0.9"), Ok(0.9));
        assert_eq!(parse_threshold("1"), Ok(1.0));
        for bad in ["0", "1.01", "-1", "high", "NaN"] {
            assert!(parse_threshold(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(field("a"), "a");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"x\""), "\"say \"\"x\"\"\"");
    }
}
