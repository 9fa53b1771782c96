//! `report`: the access review as one self-contained HTML page, or JSON, or the recertification
//! sheet (`idc_guard::review`).
//!
//! The instance is read as `scan` reads it, in a dry run (plus each permission set's owner tag,
//! so every assignment has an owner to recertify it); nothing is changed. A read that fails is
//! in the page as "unknown" and is also said on stderr; the page is still written.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use idc_guard::config;
use idc_guard::desired;
use idc_guard::inventory::Options;
use idc_guard::reconcile::{self, Desired, RunOptions};
use idc_guard::review::{self, Review, Sources};
use idc_guard::usage;

use crate::live::{self, LiveArgs, Progress};
use crate::{CliError, Outcome, runtime};

/// `idc-guard report`'s arguments.
#[derive(Args)]
pub(crate) struct ReportArgs {
    /// Write the review as one self-contained HTML page (no network requests; prints well).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Also (or instead) write the review as data: `json` (the model the page is drawn from) or
    /// `csv` (the recertification sheet of every owner, `decision` left blank).
    #[arg(long, value_enum)]
    format: Option<ReportFormat>,
    /// Where --format writes (default: standard output).
    #[arg(long, value_name = "FILE", requires = "format")]
    output: Option<PathBuf>,
    /// The desired-assignments file, for the drift section and the owners it names.
    #[arg(long, env = config::ASSIGNMENTS, conflicts_with = "from_json")]
    assignments: Option<PathBuf>,
    /// Render a review saved with `--format json` instead of reading the instance.
    #[arg(long, value_name = "FILE")]
    from_json: Option<PathBuf>,
    #[command(flatten)]
    live: LiveArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    /// The review's model as one JSON document.
    Json,
    /// The recertification sheet: one row per assignment, with its owner and a blank decision.
    Csv,
}

pub(crate) fn report(args: &ReportArgs) -> Result<Outcome, CliError> {
    if args.html.is_none() && args.format.is_none() {
        return Err(CliError::Usage(
            "report: say what to write: --html FILE (the page) and/or --format json|csv".to_owned(),
        ));
    }
    let review = match &args.from_json {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
            serde_json::from_str::<Review>(&text).map_err(|e| {
                CliError::Usage(format!(
                    "{} is not a review written by `idc-guard report --format json`: {e}",
                    path.display()
                ))
            })?
        }
        None => read(args)?,
    };
    if let Some(path) = &args.html {
        let started = Instant::now();
        let page = review::html::render(&review);
        let took = started.elapsed();
        write_file(path, &page)?;
        eprintln!(
            "idc-guard: wrote {}: {} accounts, {} permission sets, {} assignments, {} bytes, rendered in {:.1} ms",
            path.display(),
            review.accounts.len(),
            review.permission_sets.len(),
            review.assignments.len(),
            page.len(),
            took.as_secs_f64() * 1000.0
        );
    }
    if let Some(format) = args.format {
        let text = match format {
            ReportFormat::Json => serde_json::to_string_pretty(&review).unwrap_or_default() + "\n",
            ReportFormat::Csv => review::csv::sheet(&review, None),
        };
        match &args.output {
            Some(path) => write_file(path, &text)?,
            None => {
                crate::write_out(&text)?;
            }
        }
    }
    Ok(Outcome::Clean)
}

fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|e| CliError::Usage(format!("cannot write {}: {e}", path.display())))
}

/// A dry run of the reconciler over the live instance, made into a review.
fn read(args: &ReportArgs) -> Result<Review, CliError> {
    // A desired file that does not parse stops the report before anything is read.
    let file = args.assignments.as_deref().map(desired::load).transpose()?;
    runtime()?.block_on(async {
        let s = live::session(&args.live).await?;
        let instance = live::instance(&s, &args.live).await?;
        let mut options = RunOptions::now(true);
        options.inventory = Options {
            owner_tags: true,
            ..live::inventory_options(&args.live, true)
        };
        options.concurrency = options.inventory.concurrency;
        options.usage = live::usage_data().await?;
        let progress = Progress::start(s.calls.clone(), "report");
        let run = Box::pin(reconcile::run_surveyed(
            &s.guard,
            &s.directory,
            &s.organization,
            &instance,
            file.map(Ok),
            &options,
        ))
        .await;
        drop(progress);
        let (report, inv, desired) = run.map_err(|e| e.0)?;
        let columns = usage::columns(s.guard.policy(), &inv, &options.usage, options.now);
        for u in &report.unknown {
            eprintln!(
                "idc-guard: could not read (shown as unknown in the review): {}",
                serde_json::to_string(u).unwrap_or_default()
            );
        }
        if let Desired::Unusable(why) = &desired {
            eprintln!("idc-guard: the desired-assignments file could not be used (drift unknown): {why}");
        }
        if let usage::UsageInput::Failed(e) = &options.usage {
            eprintln!("idc-guard: usage data could not be read (dormancy unknown): {e}");
        }
        Ok(review::build(Sources {
            policy: s.guard.policy(),
            inventory: &inv,
            report: &report,
            desired: &desired,
            usage: &columns,
            today: options.today,
            now: options.now,
        }))
    })
}
