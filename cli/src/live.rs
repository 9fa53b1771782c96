//! `scan`, `export` and `diff`: wiring of the library's reconciler to the terminal.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use idc_guard::config::{self, Config, Kind};
use idc_guard::desired::{self, DesiredFile};
use idc_guard::domain::InstanceArn;
use idc_guard::inventory::{Options, Strategy};
use idc_guard::policy::PolicyError;
use idc_guard::ports::InstanceRef;
use idc_guard::reconcile::{self, Desired, RunOptions};
use idc_guard::usage::{self, UsageInput};
use idc_guard::wiring::{self, Pacing, Publisher, Rails, Session, WithoutTable};

use crate::{CliError, ExportFormat, Outcome, runtime};

/// Options shared by the live commands.
#[derive(Args)]
pub(crate) struct LiveArgs {
    /// The policy file (default: ./policy/guardrail.toml if present, else the built-in baseline).
    #[arg(long, env = config::POLICY)]
    policy: Option<PathBuf>,
    /// The instance (default: the policy's, else the only one ListInstances returns).
    #[arg(long, value_parser = crate::parse_instance)]
    instance_arn: Option<InstanceArn>,
    /// sso-admin requests per second (Identity Center allows 20 for all callers).
    #[arg(long, default_value_t = idc_guard::pace::DEFAULT_RATE, value_parser = clap::value_parser!(u32).range(1..=20))]
    rate: u32,
    /// Concurrent reads and outstanding corrections at most.
    #[arg(long, default_value_t = idc_guard::pace::DEFAULT_CONCURRENCY, value_parser = parse_concurrency)]
    concurrency: usize,
    /// How to list assignments: auto (the cheaper), by-principal or by-account.
    #[arg(long, value_enum, default_value_t = StrategyArg::Auto)]
    strategy: StrategyArg,
}

impl LiveArgs {
    /// `--concurrency`.
    pub(crate) fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// `--instance-arn`.
    pub(crate) fn instance_arn(&self) -> Option<&InstanceArn> {
        self.instance_arn.as_ref()
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum StrategyArg {
    Auto,
    ByPrincipal,
    ByAccount,
}

fn parse_concurrency(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=10).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not a number from 1 to 10")),
    }
}

/// Shows the requests made so far on stderr, when stderr is a terminal, until dropped.
pub(crate) struct Progress(Option<tokio::task::JoinHandle<()>>);

impl Progress {
    pub(crate) fn start(calls: idc_guard::adapters::CallCounter, what: &'static str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self(None);
        }
        Self(Some(tokio::spawn(async move {
            let started = std::time::Instant::now();
            loop {
                eprint!(
                    "\r{what}: {} API calls, {:.1} s",
                    calls.total(),
                    started.elapsed().as_secs_f64()
                );
                let _ = std::io::stderr().flush();
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })))
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
            eprint!("\r\x1b[K");
        }
    }
}

/// The live session: the CLI's configuration (the functions' state table and safety settings,
/// when set), the policy, paced sso-admin, outcomes to the log.
pub(crate) async fn session(args: &LiveArgs) -> Result<Session, CliError> {
    let mut policy = crate::load_policy(args.policy.as_deref())?;
    let mut config = Config::from_env(Kind::Cli).map_err(wiring::WiringError::from)?;
    wiring::add_own_roles(&mut policy, &config);
    config.rate = args.rate;
    config.concurrency = args.concurrency;
    let sdk = wiring::sdk_config().await;
    Ok(Session::build(
        &config,
        policy,
        &sdk,
        Pacing::Configured,
        WithoutTable::Modes,
        Publisher::log_only(),
    ))
}

/// The usage data the functions' state table holds (issue #17: usage-recorder's last uses),
/// when `IDC_GUARD_STATE_TABLE` names it; a failed read is reported in the output, never taken
/// for "unused".
pub(crate) async fn usage_data() -> Result<UsageInput, CliError> {
    let config = Config::from_env(Kind::Cli).map_err(wiring::WiringError::from)?;
    let Some(table) = config.state_table else {
        return Ok(UsageInput::None);
    };
    let sdk = wiring::sdk_config().await;
    Ok(usage::load(&wiring::state_table(&sdk, &table)).await)
}

/// The instance the command works on (`--instance-arn`, the policy's, or the only one).
pub(crate) async fn instance(s: &Session, args: &LiveArgs) -> Result<InstanceRef, CliError> {
    Ok(s.instance(args.instance_arn.as_ref()).await?)
}

/// The scan reads everything; export and diff only what they print.
pub(crate) fn inventory_options(args: &LiveArgs, definitions: bool) -> Options {
    Options {
        concurrency: args.concurrency,
        definitions,
        memberships: definitions,
        strategy: match args.strategy {
            StrategyArg::Auto => Strategy::Auto,
            StrategyArg::ByPrincipal => Strategy::ByPrincipal,
            StrategyArg::ByAccount => Strategy::ByAccount,
        },
        ..Options::default()
    }
}

fn load_desired(path: Option<&Path>) -> Option<Result<DesiredFile, PolicyError>> {
    path.map(desired::load)
}

/// What `scan` may change.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Apply {
    /// A dry run.
    No,
    /// Through the safety rails over the functions' state table.
    WithRails,
    /// With the policy's modes only (`--without-rails`).
    WithoutRails,
}

impl Apply {
    pub(crate) fn from_flags(apply: bool, without_rails: bool) -> Self {
        match (apply, without_rails) {
            (false, _) => Self::No,
            (true, false) => Self::WithRails,
            (true, true) => Self::WithoutRails,
        }
    }
}

pub(crate) fn scan(args: &LiveArgs, apply: Apply, json: bool, assignments: Option<&Path>) -> Result<Outcome, CliError> {
    runtime()?.block_on(async {
        let s = session(args).await?;
        if apply == Apply::WithRails && matches!(s.guard.gate(), Rails::Modes) {
            return Err(CliError::Usage(format!(
                "scan --apply corrects through the safety rails, which need the functions' state table: \
                 set {} to its name (the kill switch, breaker, flap limit and idempotency state are then shared \
                 with the deployed guards), or pass --without-rails to apply with the policy's modes only. \
                 Nothing was read or changed.",
                config::STATE_TABLE
            )));
        }
        let instance = instance(&s, args).await?;
        let file = load_desired(assignments);
        let invalid_file = matches!(file, Some(Err(_)));
        let mut options = RunOptions::now(apply == Apply::No);
        options.concurrency = args.concurrency;
        options.inventory = inventory_options(args, true);
        options.usage = usage_data().await?;
        let progress = Progress::start(
            s.calls.clone(),
            if apply == Apply::No { "scan" } else { "scan --apply" },
        );
        let run = Box::pin(reconcile::run(
            &s.guard,
            &s.directory,
            &s.organization,
            &instance,
            file,
            &options,
        ))
        .await;
        drop(progress);
        let mut report = run.map_err(|e| e.0)?;
        report.set_api_calls(s.calls.by_operation());
        let text = if json {
            serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
        } else {
            report.table()
        };
        crate::write_out(&text)?;
        if invalid_file || report.desired == "invalid" {
            Err(CliError::Reported(String::new()))
        } else if report.has_drift() {
            Ok(Outcome::Findings)
        } else {
            Ok(Outcome::Clean)
        }
    })
}

pub(crate) fn export(
    args: &LiveArgs,
    format: ExportFormat,
    assignments: Option<&Path>,
    routed_owners: bool,
) -> Result<Outcome, CliError> {
    runtime()?.block_on(async {
        let s = session(args).await?;
        let instance = instance(&s, args).await?;
        let progress = Progress::start(s.calls.clone(), "export");
        let file = load_desired(assignments);
        let usage = usage_data().await?;
        let options = Options {
            owner_tags: routed_owners,
            assigned_members: matches!(usage, UsageInput::Loaded(_)),
            ..inventory_options(args, false)
        };
        let survey = reconcile::survey(&s.guard, &s.directory, &s.organization, &instance, file, &options).await;
        drop(progress);
        let (inv, desired) = survey.map_err(|e| e.0)?;
        let owners: BTreeMap<_, _> = match &desired {
            Desired::Resolved(r) => r
                .wanted
                .iter()
                .filter_map(|(k, w)| w.owner.clone().map(|o| (k.clone(), o)))
                .collect(),
            Desired::Unusable(why) => return Err(CliError::Reported(why.clone())),
            Desired::Absent => BTreeMap::new(),
        };
        if !inv.unknown.is_empty() {
            for u in &inv.unknown {
                eprintln!(
                    "idc-guard: could not read: {}",
                    serde_json::to_string(u).unwrap_or_default()
                );
            }
            return Err(CliError::Reported("the export would be incomplete".to_owned()));
        }
        let routing = routed_owners.then_some(&s.guard.policy().owners);
        let mut rows = desired::export_rows(&inv, &owners, routing);
        let resolved = match &desired {
            Desired::Resolved(r) => Some(r),
            _ => None,
        };
        // Last use and dormancy, when usage data is available (issue #17).
        let now = idc_guard::safety::Clock::now(&idc_guard::safety::SystemClock);
        let columns = usage::columns(s.guard.policy(), &inv, &usage, now);
        for (row, assignment) in rows.iter_mut().zip(&inv.assignments) {
            row.usage = columns.get(assignment).cloned();
        }
        if let UsageInput::Failed(e) = &usage {
            eprintln!("idc-guard: usage data could not be read ({e}); exported without last use");
        }
        // Account access manager's entitlements (issue #19) follow the assignments.
        let assignments = rows.len();
        rows.extend(desired::entitlement_rows(&inv, resolved, routing));
        let text = match format {
            ExportFormat::Csv => csv(&rows),
            ExportFormat::Json => serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n",
            ExportFormat::Toml => desired::to_toml(&rows, &inv.instance),
        };
        crate::write_out(&text)?;
        if std::io::stderr().is_terminal() {
            eprintln!(
                "{assignments} assignments, {} entitlements, {} API calls",
                rows.len() - assignments,
                s.calls.total()
            );
        }
        Ok(Outcome::Clean)
    })
}

fn csv(rows: &[idc_guard::desired::ExportRow]) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    }
    // The usage columns appear only when usage data was joined, so consumers of the plain
    // export see the columns they always saw.
    let with_usage = rows.iter().any(|r| r.usage.is_some());
    // Likewise the entitlement columns (issue #19), only when there are entitlements.
    let with_entitlements = rows.iter().any(|r| !r.role_arn.is_empty());
    let mut out = String::from(
        "principal_type,principal_name,principal_id,permission_set_name,permission_set_arn,account_id,account_name,owner",
    );
    if with_usage {
        out.push_str(",last_use,last_user,users,dormancy,window_days");
    }
    if with_entitlements {
        out.push_str(",role_arn,application_arn");
    }
    out.push('\n');
    for r in rows {
        let mut cells: Vec<String> = [
            &r.principal_type,
            &r.principal_name,
            &r.principal_id,
            &r.permission_set_name,
            &r.permission_set_arn,
            &r.account_id,
            &r.account_name,
            &r.owner,
        ]
        .iter()
        .map(|c| field(c))
        .collect();
        if with_usage {
            match &r.usage {
                Some(u) => cells.extend([
                    field(u.last_use.as_deref().unwrap_or_default()),
                    field(u.last_user.as_deref().unwrap_or_default()),
                    u.users.to_string(),
                    u.dormancy.clone(),
                    u.window_days.to_string(),
                ]),
                // Usage unknown for this one (a group's members unread); an entitlement has none.
                None if !r.role_arn.is_empty() => cells.extend(["", "", "", "", ""].map(str::to_owned)),
                None => cells.extend(["", "", "", "unknown", ""].map(str::to_owned)),
            }
        }
        if with_entitlements {
            cells.extend([field(&r.role_arn), field(&r.application_arn)]);
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

pub(crate) fn diff(args: &LiveArgs, assignments: &Path) -> Result<Outcome, CliError> {
    let file = desired::load(assignments)?;
    runtime()?.block_on(async {
        let s = session(args).await?;
        let instance = instance(&s, args).await?;
        let progress = Progress::start(s.calls.clone(), "diff");
        let survey = reconcile::survey(
            &s.guard,
            &s.directory,
            &s.organization,
            &instance,
            Some(Ok(file)),
            &inventory_options(args, false),
        )
        .await;
        drop(progress);
        let (inv, desired) = survey.map_err(|e| e.0)?;
        let resolved = match desired {
            Desired::Resolved(r) => r,
            Desired::Unusable(why) => return Err(CliError::Reported(why)),
            Desired::Absent => return Err(CliError::Usage("no desired-assignments file".to_owned())),
        };
        for u in &inv.unknown {
            eprintln!(
                "idc-guard: could not read (the diff may be incomplete): {}",
                serde_json::to_string(u).unwrap_or_default()
            );
        }
        crate::write_out(&desired::render_diff(
            &inv,
            &resolved,
            &assignments.display().to_string(),
        ))?;
        let (extra, missing) = desired::diff(&inv, &resolved);
        let (extra_entitlements, missing_entitlements) = desired::entitlement_diff(&inv, &resolved);
        if extra.is_empty() && missing.is_empty() && extra_entitlements.is_empty() && missing_entitlements.is_empty() {
            Ok(Outcome::Clean)
        } else {
            Ok(Outcome::Findings)
        }
    })
}
