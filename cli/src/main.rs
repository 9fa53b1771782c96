//! `idc-guard`: validate a policy, print its schema and rules, check CloudTrail events offline,
//! inspect and reset the breaker; scan, export and diff the live instance (`live.rs`); report
//! permission-set hygiene (`sets.rs`); report the last use of access from CloudTrail logs
//! (`usage.rs`).
//!
//! `main` calls [`run`], which returns one error type; [`exit_code`] maps results to exit
//! statuses in one place: 0 nothing to report, 1 findings (violations, drift, an invalid policy),
//! 2 usage or input errors.

mod doctor;
mod live;
mod report;
mod revoke;
mod sets;
mod usage;

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use idc_guard::config;
use idc_guard::domain::time::utc;
use idc_guard::domain::{Date, EventVerdict, IdentityStoreId, InstanceArn};
use idc_guard::engine::check_json;
use idc_guard::event::Input;
use idc_guard::policy::{Policy, PolicyError, json_schema};
use idc_guard::ports::{RemoteError, StateRecord, StateStore};
use idc_guard::report::{Style, json_line, printable, text_line};
use idc_guard::rules::RULES;
use idc_guard::safety::{Clock, SystemClock, breaker_key, reset_breaker};
use idc_guard::wiring::{self, WiringError};

/// The guardrail for AWS IAM Identity Center.
#[derive(Parser)]
#[command(name = "idc-guard", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a policy file (default: ./policy/guardrail.toml) and explain what its entries
    /// match. Exit status: 0 valid, 1 invalid (each problem at its line and column), 2 the file
    /// cannot be read.
    Validate {
        /// The policy file.
        policy: Option<PathBuf>,
        /// Judge exception expiry as of this date (YYYY-MM-DD) instead of today.
        #[arg(long, value_parser = parse_date)]
        today: Option<Date>,
    },
    /// Print the policy file's JSON Schema, for editors.
    Schema,
    /// List the rules: id, default severity and mode, what each guards, the correction it plans.
    Rules {
        /// Output format.
        #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
        format: RulesFormat,
    },
    /// Check CloudTrail events offline against the policy.
    ///
    /// Each FILE holds an EventBridge event, a raw CloudTrail record, several of them (JSON
    /// Lines or an array), or a CloudTrail log file as delivered to S3 ({"Records":[...]},
    /// plain or gzipped). `-` reads standard input. A record that cannot be read is reported with
    /// its file, number and byte offset, and the others are still checked. Exit status: 0
    /// nothing violates, 1 something violates, 2 usage errors or unreadable input (and nothing
    /// read violates), 3 both violations and unreadable records.
    Check {
        /// The policy file (default: ./guardrail.toml if present, else the built-in baseline).
        #[arg(long, env = config::POLICY)]
        policy: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The guarded instance, overriding the policy's `instance.arn`.
        #[arg(long, value_parser = parse_instance)]
        instance_arn: Option<InstanceArn>,
        /// The guarded identity store, overriding the policy's `instance.identity_store_id`.
        #[arg(long, value_parser = parse_store)]
        identity_store_id: Option<IdentityStoreId>,
        /// A role ARN of the deployment whose changes are idc-guard's own (repeatable; added to
        /// the policy's `own_identity.role_arns`). Offline, their changes are ignored as echoes.
        #[arg(long = "own-role", env = config::OWN_ROLES, value_delimiter = ',', value_parser = parse_role)]
        own_roles: Vec<String>,
        /// Judge exception expiry as of this date (YYYY-MM-DD) instead of today.
        #[arg(long, value_parser = parse_date)]
        today: Option<Date>,
        /// Input files; `-` is standard input.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Plan (and with --apply, make) the corrections the live instance needs: every rule on the
    /// live state, plus the diff against the desired-assignments file.
    ///
    /// Dry run by default. Exit status: 0 no drift, 1 drift found (or the plan was refused),
    /// 2 usage or input errors (an invalid desired file, AWS unreachable).
    Scan {
        /// Make the corrections (through the same gate and verification as the guards). Needs
        /// the functions' state table in IDC_GUARD_STATE_TABLE: the safety rails (kill switch,
        /// breaker, flap limit, idempotency) then apply as in the functions.
        #[arg(long)]
        apply: bool,
        /// With --apply and no state table: apply with the policy's modes only, without the
        /// safety rails and without the state the deployed functions share.
        #[arg(long, requires = "apply")]
        without_rails: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
        format: ScanFormat,
        /// The desired-assignments file (default: none, only the policy's rules).
        #[arg(long, env = config::ASSIGNMENTS)]
        assignments: Option<PathBuf>,
        #[command(flatten)]
        live: live::LiveArgs,
    },
    /// Export every assignment with names (principal, permission set, account, owner).
    ///
    /// `--format toml` writes a valid desired-assignments file: adopt today's state and review
    /// changes to it in Git. Exit status: 0 done, 2 errors.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// A desired-assignments file whose entries' owners are exported.
        #[arg(long)]
        assignments: Option<PathBuf>,
        /// Fill the owners the desired file does not name with the owner the assignment's
        /// findings are routed to: the permission set's owner tag, else the policy's
        /// [[owners.routes]], else its default owner. Costs one ListTagsForResource per
        /// permission set.
        #[arg(long)]
        routed_owners: bool,
        #[command(flatten)]
        live: live::LiveArgs,
    },
    /// Show live assignments against the desired-assignments file as a diff.
    ///
    /// Exit status: 0 no difference, 1 differences, 2 usage or input errors.
    Diff {
        /// The desired-assignments file.
        #[arg(default_value = "assignments.toml")]
        assignments: PathBuf,
        #[command(flatten)]
        live: live::LiveArgs,
    },
    /// End a user's live role sessions now (incident response), list the active revocations,
    /// or lift one early.
    ///
    /// Removing access stops new sessions only; sessions already issued stay valid up to the
    /// permission set's session duration. `revoke --user NAME` denies, in every permission set
    /// and account the user can use (or those named), the role sessions issued before now, until
    /// they have expired; through the same gate as every correction (kill switch, breaker).
    /// Dry run by default; `--yes --reason TEXT` does it and announces it on the findings topic.
    /// Needs the functions' state table (IDC_GUARD_STATE_TABLE). Portal sessions must still be
    /// deleted in the console. Exit status: 0 done, 1 withheld or failed, 2 usage or AWS errors.
    Revoke(revoke::RevokeArgs),
    /// Report permission-set hygiene: sets no assignment uses (orphaned), sets provisioned to
    /// accounts where nobody is assigned them, and near-duplicate clusters (normalised content,
    /// Jaccard similarity at least --threshold) with each member's differences and, when the
    /// members differ only in values from their names, how one ABAC set replaces them.
    ///
    /// Reads the instance like `scan`; changes nothing. Exit status: 0 nothing to report, 1
    /// findings, 2 usage or AWS errors, or nothing found but some checks could not be made.
    Sets(sets::SetsArgs),
    /// Report who last used which access, from CloudTrail logs: the last successful
    /// GetRoleCredentials (CLI, SDK) or Federate (console) per user, permission set and account.
    ///
    /// Reads FILEs as `check` does (EventBridge events, raw records, JSON Lines, arrays, CloudTrail
    /// log files plain or gzipped, `-` for standard input); records of other events and failed
    /// calls are skipped. With --live, one row per assignment of the live instance instead: its
    /// last use (a GROUP's by any member), by whom, how many users, and its dormancy over the
    /// policy's dormant-access window, observed over the files' own span. A summary goes to
    /// stderr. Exit status: 0 done, 2 usage, input or AWS errors (each unreadable record reported
    /// with its file and number; the others still counted), or --live could not read everything.
    Usage(usage::UsageArgs),
    /// Check the deployment and the instance against the deployment guide's Verify checklist:
    /// the instance, its identity source and SCIM groups, provisioning, ABAC; and, with
    /// --stack, the deployment's state table, kill switch, breaker, findings topic, EventBridge
    /// rules, the reconciler's last run and the dead-letter queues. Each check passes, fails or
    /// warns, with the fix in one line. Changes nothing.
    ///
    /// Exit status: 0 every check passes (warnings allowed), 1 a check fails, 2 usage errors.
    Doctor(doctor::DoctorArgs),
    /// Write the access review: the access matrix (accounts × permission sets), privileged
    /// access, findings, drift, exceptions, dormant assignments and a recertification CSV per
    /// owner, as one self-contained HTML page (--html FILE) or JSON.
    ///
    /// Reads the instance like `scan` (a dry run); changes nothing. Exit status: 0 written, 2
    /// usage or AWS errors.
    Report(report::ReportArgs),
    /// Inspect or reset the safety rails' breaker (AWS credentials and region from the
    /// environment, as for the AWS CLI).
    Breaker {
        #[command(subcommand)]
        command: BreakerCommand,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ScanFormat {
    /// A table, for people.
    Table,
    /// The run report as one JSON document.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// Comma-separated values with a header.
    Csv,
    /// A JSON array of objects.
    Json,
    /// A desired-assignments file.
    Toml,
}

#[derive(Subcommand)]
enum BreakerCommand {
    /// Show whether the breaker is open, and the remediations counted in its window.
    Status {
        /// The safety state table (DynamoDB).
        #[arg(long, env = config::STATE_TABLE)]
        table: String,
    },
    /// Reset the breaker after investigating, and announce it on the findings topic.
    ///
    /// Deletes the breaker's item (the window restarts empty); the event path corrects again
    /// with the next event. Exit status: 0 reset (and announced), 2 failed.
    Reset {
        /// The safety state table (DynamoDB).
        #[arg(long, env = config::STATE_TABLE)]
        table: String,
        /// The findings topic the reset is announced on.
        #[arg(long, env = config::TOPIC_ARN)]
        topic: String,
        /// Why: what was investigated (goes into the announcement).
        #[arg(long)]
        reason: String,
        /// Who resets it (default: $USER).
        #[arg(long, env = "USER")]
        by: String,
        /// The policy file whose `[owners]` routes the announcement (default: ./policy/guardrail.toml
        /// if present, else the built-in baseline).
        #[arg(long, env = config::POLICY)]
        policy: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RulesFormat {
    /// Aligned columns, for people.
    Table,
    /// A Markdown table, for documentation.
    Markdown,
    /// A JSON array of objects.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// One line per event, for people.
    Text,
    /// One JSON object per event per line.
    Json,
}

fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse(s).ok_or_else(|| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

fn parse_instance(s: &str) -> Result<InstanceArn, String> {
    InstanceArn::parse(s).map_err(|e| e.to_string())
}

fn parse_store(s: &str) -> Result<IdentityStoreId, String> {
    IdentityStoreId::parse(s).map_err(|e| e.to_string())
}

fn parse_role(s: &str) -> Result<String, String> {
    let s = s.trim();
    match idc_guard::domain::ids::role_arn_parts(s) {
        Some(_) => Ok(s.to_owned()),
        None => Err(format!(
            "{s:?} is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)"
        )),
    }
}

const DEFAULT_POLICY: &str = "policy/guardrail.toml";

/// What a command found, when it ran to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Nothing to report: exit 0.
    Clean,
    /// Violations, drift, differences or an invalid policy: exit 1.
    Findings,
    /// `check`: some records could not be read (each reported), none of the others violates:
    /// exit 2.
    Unreadable,
    /// `check`: some records could not be read, and some of the others violate: exit 3 (the
    /// bits of 1 and 2, so neither hides the other).
    FindingsAndUnreadable,
}

/// Why a command could not do its job: exit 2.
#[derive(Debug, thiserror::Error)]
enum CliError {
    /// The policy (or desired) file is missing or invalid: every problem, then a count.
    #[error("{0}")]
    Policy(#[from] PolicyError),
    /// The process could not be wired (environment, instance).
    #[error("{0}")]
    Wiring(#[from] WiringError),
    /// AWS failed.
    #[error("{0}")]
    Remote(#[from] RemoteError),
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Output(#[source] io::Error),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] io::Error),
    /// Bad input or arguments, said in words.
    #[error("{0}")]
    Usage(String),
    /// Problems already reported on stderr, one by one (e.g. unreadable input records).
    #[error("{0}")]
    Reported(String),
}

/// The exit status of a command's result; errors are printed here.
fn exit_code(result: Result<Outcome, CliError>) -> ExitCode {
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Ok(Outcome::Unreadable) => ExitCode::from(2),
        Ok(Outcome::FindingsAndUnreadable) => ExitCode::from(3),
        // A closed pipe (`idc-guard check … | head`) is not an error worth a message.
        Err(CliError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(2),
        Err(CliError::Policy(e)) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
        Err(CliError::Reported(summary)) => {
            if !summary.is_empty() {
                eprintln!("idc-guard: {summary}");
            }
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("idc-guard: {e}");
            ExitCode::from(2)
        }
    }
}

fn load_policy(path: Option<&Path>) -> Result<Policy, PolicyError> {
    match path {
        Some(p) => Policy::load(p),
        None if Path::new(DEFAULT_POLICY).exists() => Policy::load(Path::new(DEFAULT_POLICY)),
        None => Ok(Policy::default()),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

fn main() -> ExitCode {
    exit_code(run(Cli::parse()))
}

fn run(cli: Cli) -> Result<Outcome, CliError> {
    match cli.command {
        Command::Schema => {
            let text = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
            write_out(&format!("{text}\n"))
        }
        Command::Rules { format } => write_out(&rules(format)),
        Command::Validate { policy, today } => validate(policy.as_deref(), today.unwrap_or_else(Date::today_utc)),
        Command::Check {
            policy,
            format,
            instance_arn,
            identity_store_id,
            own_roles,
            today,
            files,
        } => {
            let mut policy = load_policy(policy.as_deref())?;
            policy.own_identity.role_arns.extend(own_roles);
            if instance_arn.is_some() {
                policy.instance_arn = instance_arn;
            }
            if identity_store_id.is_some() {
                policy.identity_store_id = identity_store_id;
            }
            check(&policy, format, today.unwrap_or_else(Date::today_utc), &files)
        }
        Command::Scan {
            apply,
            without_rails,
            format,
            assignments,
            live,
        } => live::scan(
            &live,
            live::Apply::from_flags(apply, without_rails),
            matches!(format, ScanFormat::Json),
            assignments.as_deref(),
        ),
        Command::Export {
            format,
            assignments,
            routed_owners,
            live,
        } => live::export(&live, format, assignments.as_deref(), routed_owners),
        Command::Diff { assignments, live } => live::diff(&live, &assignments),
        Command::Breaker { command } => runtime()?.block_on(breaker(command)),
        Command::Revoke(args) => revoke::revoke(&args),
        Command::Sets(args) => sets::sets(&args),
        Command::Usage(args) => usage::usage(&args),
        Command::Doctor(args) => doctor::doctor(&args),
        Command::Report(args) => report::report(&args),
    }
}

/// Writes `text` to standard output.
fn write_out(text: &str) -> Result<Outcome, CliError> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CliError::Output)?;
    Ok(Outcome::Clean)
}

/// The registry, for people, documentation or machines.
fn rules(format: RulesFormat) -> String {
    let docs: Vec<_> = RULES.iter().map(|r| r.doc()).collect();
    let mode = |d: &idc_guard::rules::Doc| d.mode.map_or("global".to_owned(), |m| m.to_string());
    match format {
        RulesFormat::Json => {
            let rows: Vec<serde_json::Value> = docs
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "id": d.id, "severity": d.severity, "mode": mode(d), "summary": d.summary,
                        "why": d.why, "correction": d.correction,
                        "reconciler_only": d.runs == idc_guard::rules::Runs::Reconciler,
                        "actions": d.actions().collect::<Vec<_>>(),
                    })
                })
                .collect();
            serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"
        }
        RulesFormat::Markdown => {
            let mut out = String::from(
                "| id | default severity | default mode | what it guards | planned correction |\n|---|---|---|---|---|\n",
            );
            for d in &docs {
                out.push_str(&format!(
                    "| `{}` | {} | {} | {} | {} |\n",
                    d.id,
                    d.severity,
                    mode(d),
                    d.summary,
                    d.correction
                ));
            }
            out
        }
        RulesFormat::Table => {
            let mut out = String::new();
            for d in &docs {
                out.push_str(&format!(
                    "{:<34} {:<9} {:<8} {}\n{:<53}correction: {}\n",
                    d.id.as_str(),
                    d.severity,
                    mode(d),
                    d.summary,
                    "",
                    d.correction
                ));
            }
            out
        }
    }
}

async fn breaker(command: BreakerCommand) -> Result<Outcome, CliError> {
    let sdk = wiring::sdk_config().await;
    match command {
        BreakerCommand::Status { table } => {
            let store = wiring::state_table(&sdk, &table);
            match store.get(&breaker_key()).await? {
                Some(StateRecord { since: Some(since), .. }) => {
                    println!("open since {} (the event path is detect-only)", utc(since));
                }
                record => {
                    let counted = record.map_or(0, |r| r.times.len());
                    println!("closed ({counted} remediations in the current window)");
                }
            }
            Ok(Outcome::Clean)
        }
        BreakerCommand::Reset {
            table,
            topic,
            reason,
            by,
            policy,
        } => {
            if reason.trim().is_empty() || by.trim().is_empty() {
                return Err(CliError::Usage("--reason and --by must not be empty".to_owned()));
            }
            let policy = load_policy(policy.as_deref())?;
            let store = wiring::state_table(&sdk, &table);
            let notifier = wiring::findings_topic(&sdk, &topic, &policy);
            match reset_breaker(&store, &notifier, &by, &reason, SystemClock.now()).await? {
                Some(since) => println!("breaker reset (it was open since {}); announced on {topic}", utc(since)),
                None => println!("breaker reset (it was not open); announced on {topic}"),
            }
            Ok(Outcome::Clean)
        }
    }
}

fn validate(path: Option<&Path>, today: Date) -> Result<Outcome, CliError> {
    let path = path.unwrap_or(Path::new(DEFAULT_POLICY));
    match Policy::load(path) {
        Ok(policy) => {
            for e in policy.expired_exceptions(today) {
                eprintln!(
                    "{}:{}: warning: the exception for {} owned by {} expired on {} and no longer applies",
                    path.display(),
                    e.line,
                    e.rule,
                    e.owner,
                    e.expires
                );
            }
            println!(
                "{}: valid (mode {}, {} rules, {} exceptions)",
                path.display(),
                policy.mode,
                RULES.len(),
                policy.exceptions.len()
            );
            for line in explain(&policy) {
                println!("  {line}");
            }
            Ok(Outcome::Clean)
        }
        // A file that cannot be read is an input error (2); one read and found invalid, a finding (1).
        Err(e) if e.unreadable() => Err(CliError::Policy(e)),
        Err(e) => {
            eprintln!("{e}");
            eprintln!("{}: {} problem(s)", path.display(), e.problems.len());
            Ok(Outcome::Findings)
        }
    }
}

/// What the policy's entries match, in words.
fn explain(policy: &Policy) -> Vec<String> {
    let patterns =
        |p: &[idc_guard::domain::NamePattern]| p.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let mut lines = vec![format!(
        "privileged permission sets: names matching {} (ASCII case ignored, as in every name pattern)",
        patterns(&policy.privileged)
    )];
    for config in policy.rules.iter() {
        for line in config.rule.explain_settings(config.settings.as_ref()) {
            lines.push(format!("{}: {line}", config.rule.doc().id));
        }
    }
    lines
}

fn check(policy: &Policy, format: Format, today: Date, files: &[String]) -> Result<Outcome, CliError> {
    let stdout = io::stdout();
    let style = Style {
        colour: stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut violations = false;
    let mut errors = false;
    for file in files {
        let input = Input::from_arg(file);
        let records = match input.open() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{}: {e}", input.name());
                errors = true;
                continue;
            }
        };
        for (index, record) in records.enumerate() {
            // A bad record is reported with its place, and the reader resumes at the next record
            // the format allows (see `idc_guard::event::stream`).
            let line = match record {
                Err(e) => {
                    eprintln!(
                        "{}: record {}: {}",
                        printable(&input.name()),
                        index + 1,
                        printable(&e.to_string())
                    );
                    errors = true;
                    continue;
                }
                Ok(json) => match check_json(policy, &json, today) {
                    Err(e) => {
                        eprintln!(
                            "{}: record {}: {}",
                            printable(&input.name()),
                            index + 1,
                            printable(&e.to_string())
                        );
                        errors = true;
                        continue;
                    }
                    Ok(evaluation) => {
                        violations |= evaluation.verdict == EventVerdict::Violation;
                        match format {
                            Format::Json => json_line(&evaluation),
                            Format::Text => text_line(&evaluation, style),
                        }
                    }
                },
            };
            writeln!(out, "{line}").map_err(CliError::Output)?;
        }
    }
    out.flush().map_err(CliError::Output)?;
    Ok(match (violations, errors) {
        (false, false) => Outcome::Clean,
        (true, false) => Outcome::Findings,
        (false, true) => Outcome::Unreadable,
        (true, true) => Outcome::FindingsAndUnreadable,
    })
}
