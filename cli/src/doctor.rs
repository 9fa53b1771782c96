//! `doctor`: the deployment guide's Verify checklist and the deployment's health
//! (`idc_guard::doctor`), against the live environment.

use clap::{Args, ValueEnum};
use idc_guard::doctor::{self, Check, DeploymentNames, Report};
use idc_guard::ports::StateStore;
use idc_guard::reconcile::RunOptions;
use idc_guard::safety::scim_write_key;
use idc_guard::wiring;

use crate::live::{self, LiveArgs, Progress};
use crate::{CliError, Outcome, runtime};

/// `idc-guard doctor`'s arguments.
#[derive(Args)]
pub(crate) struct DoctorArgs {
    /// The deployment's CloudFormation stack: its state table, kill switch, breaker, findings
    /// topic, EventBridge rules, the reconciler's last run and its dead-letter queues are checked
    /// by the names template.yaml gives them (`<stack>-state`, `<stack>-findings`, …).
    #[arg(long)]
    stack: Option<String>,
    /// The kill switch's SSM parameter (the stack's KillSwitchParameterName).
    #[arg(long, default_value = "/idc-guard/mode")]
    kill_switch_parameter: String,
    /// How old the reconciler's last run may be, in minutes (default: 2.5 × the template's
    /// hourly schedule).
    #[arg(long, default_value_t = 150, value_parser = clap::value_parser!(u64).range(1..))]
    max_run_age: u64,
    /// Warnings fail too (exit 1).
    #[arg(long)]
    strict: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DoctorFormat::Text)]
    format: DoctorFormat,
    #[command(flatten)]
    live: LiveArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum DoctorFormat {
    /// One line per check, for people.
    Text,
    /// One JSON document.
    Json,
}

pub(crate) fn doctor(args: &DoctorArgs) -> Result<Outcome, CliError> {
    if args.stack.as_deref().is_some_and(|s| s.trim().is_empty()) {
        return Err(CliError::Usage("--stack must not be empty".to_owned()));
    }
    let report = runtime()?.block_on(async {
        let s = live::session(&args.live).await?;
        let sdk = wiring::sdk_config().await;
        let names = args.stack.as_deref().map(DeploymentNames::new);
        let table = names.as_ref().map(|n| wiring::state_table(&sdk, &n.table()));
        let last_scim_write = match &table {
            Some(t) => Some(t.get(&scim_write_key()).await),
            None => None,
        };
        let mut options = RunOptions::now(true);
        options.concurrency = args.live_concurrency();
        options.inventory = live::inventory_options(&args.live, true);
        let progress = Progress::start(s.calls.clone(), "doctor");
        let mut checks = doctor::instance_checks(
            &s.guard,
            &s.directory,
            &s.organization,
            args.live_instance(),
            &options,
            last_scim_write,
        )
        .await;
        match (&names, &table) {
            (Some(names), Some(table)) => {
                checks.extend(
                    doctor::deployment_checks(
                        names,
                        table,
                        &wiring::parameters(&sdk),
                        &args.kill_switch_parameter,
                        &wiring::deployment(&sdk),
                        options.now,
                        args.max_run_age * 60,
                    )
                    .await,
                );
            }
            _ => checks.push(Check::not_checked(
                "deployment",
                "the deployment was not checked",
                "pass --stack NAME (the stack's name) to check its table, kill switch, breaker, topic, rules, reconciler and dead letters",
            )),
        }
        drop(progress);
        Ok::<_, CliError>(Report { checks })
    })?;
    let text = match args.format {
        DoctorFormat::Text => report.text(),
        DoctorFormat::Json => {
            let doc = serde_json::json!({ "healthy": report.healthy(args.strict), "checks": report.checks });
            serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
        }
    };
    crate::write_out(&text)?;
    Ok(if report.healthy(args.strict) {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

impl DoctorArgs {
    fn live_concurrency(&self) -> usize {
        self.live.concurrency()
    }

    fn live_instance(&self) -> Option<&idc_guard::domain::InstanceArn> {
        self.live.instance_arn()
    }
}
