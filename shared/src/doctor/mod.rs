//! `idc-guard doctor` (issue #18): the deployment guide's "Verify" checklist and the
//! deployment's own health, as checks that pass, warn or fail, each failure with its fix in one
//! line.
//!
//! Gathering goes through the ports ([`instance_checks`], [`deployment_checks`]); judging is
//! pure (the `judge_*` functions), so every verdict is tested without AWS. A read that fails
//! makes its check fail with the error (unknown is never "fine" nor "absent").
//!
//! The deployment's resources are found by the names `template.yaml` gives them from the stack
//! name ([`DeploymentNames`]); `tests/it/doctor.rs` holds the template to these names.

use serde::Serialize;

use crate::domain::Mode;
use crate::domain::time::utc;
use crate::guard::Guard;
use crate::policy::Policy;
use crate::ports::{
    DeploymentResources, Directory, Gate, IdentityCenter, IdentityStore, InstanceInventory, InstanceRef, Notifier,
    Organization, Parameters, Remote, RemoteError, StateRecord, StateStore,
};
use crate::reconcile::{RunOptions, RunReport};
use crate::rules::{abac_attributes_required, provisioning_current};
use crate::safety::{LastRun, RunOutcome};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// As it should be.
    Pass,
    /// Working, but something deserves a look (or could not be checked).
    Warn,
    /// Broken, or unknown because a read failed.
    Fail,
}

impl Status {
    /// How it is printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail => "fail",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// A stable id (`instance`, `identity-source`, `scim-groups`, …).
    pub id: &'static str,
    /// How it came out.
    pub status: Status,
    /// What was found.
    pub summary: String,
    /// What to do, in one line (for a warning or a failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn pass(id: &'static str, summary: impl Into<String>) -> Self {
        Self {
            id,
            status: Status::Pass,
            summary: summary.into(),
            fix: None,
        }
    }

    fn warn(id: &'static str, summary: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            id,
            status: Status::Warn,
            summary: summary.into(),
            fix: Some(fix.into()),
        }
    }

    fn fail(id: &'static str, summary: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            id,
            status: Status::Fail,
            summary: summary.into(),
            fix: Some(fix.into()),
        }
    }

    /// A check that was not made, and how to make it (a warning).
    pub fn not_checked(id: &'static str, summary: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::warn(id, summary, fix)
    }

    /// A failed read: the check is unknown, which fails it.
    fn unreadable(id: &'static str, what: &str, e: &RemoteError) -> Self {
        Self::fail(
            id,
            format!("{what} could not be read: {e}"),
            "check the credentials' permissions and the region, then run doctor again",
        )
    }
}

/// Every check of one doctor run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checks, in the order they were made.
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether nothing failed (and, when `strict`, nothing warned either).
    pub fn healthy(&self, strict: bool) -> bool {
        let worst = if strict { Status::Pass } else { Status::Warn };
        self.checks.iter().all(|c| c.status <= worst)
    }

    /// The checks for people: one line each, the fix indented below.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            out.push_str(&format!("{:<4}  {:<22} {}\n", c.status.as_str(), c.id, c.summary));
            if let Some(fix) = &c.fix {
                out.push_str(&format!("      {:<22} fix: {fix}\n", ""));
            }
        }
        let count = |s: Status| self.checks.iter().filter(|c| c.status == s).count();
        out.push_str(&format!(
            "{} passed, {} warnings, {} failed\n",
            count(Status::Pass),
            count(Status::Warn),
            count(Status::Fail)
        ));
        out
    }
}

/// An EventBridge rule the deployment has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedRule {
    /// Its name.
    pub name: String,
    /// The state it must be in.
    pub state: &'static str,
    /// Whether a deployment may leave it out (a template condition).
    pub optional: bool,
}

/// The names `template.yaml` gives the deployment's resources, from the stack's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentNames {
    /// The stack.
    pub stack: String,
}

/// The rules (by name suffix), the state each must be in, and whether it is optional.
const RULES: &[(&str, &str, bool)] = &[
    ("assignment-guard", "ENABLED", false),
    ("permission-set-guard", "ENABLED", false),
    ("identity-guard", "ENABLED", false),
    ("scim-health", "ENABLED", false),
    // Read-only management events reach only a rule in this state (issue #17).
    ("usage-recorder", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", true),
    ("drift-reconciler", "ENABLED", false),
    ("revocation-sweep", "ENABLED", false),
];

/// The queues whose messages are dead letters (by name suffix), and whether optional.
const DEAD_LETTERS: &[(&str, bool)] = &[
    ("dead-letters", false),
    ("assignment-guard-dead-letters", false),
    ("permission-set-guard-dead-letters", false),
    ("identity-guard-dead-letters", false),
    ("usage-recorder-dead-letters", true),
];

impl DeploymentNames {
    /// The deployment of stack `stack`.
    pub fn new(stack: impl Into<String>) -> Self {
        Self { stack: stack.into() }
    }

    /// The state table.
    pub fn table(&self) -> String {
        format!("{}-state", self.stack)
    }

    /// The findings topic's name.
    pub fn topic(&self) -> String {
        format!("{}-findings", self.stack)
    }

    /// The EventBridge rules.
    pub fn rules(&self) -> Vec<ExpectedRule> {
        RULES
            .iter()
            .map(|(suffix, state, optional)| ExpectedRule {
                name: format!("{}-{suffix}", self.stack),
                state,
                optional: *optional,
            })
            .collect()
    }

    /// The dead-letter queues, each with whether it is optional.
    pub fn dead_letter_queues(&self) -> Vec<(String, bool)> {
        DEAD_LETTERS
            .iter()
            .map(|(suffix, optional)| (format!("{}-{suffix}", self.stack), *optional))
            .collect()
    }
}

/// The instance resolved (or why not).
pub fn judge_instance(instance: &Result<InstanceRef, String>) -> Check {
    match instance {
        Ok(i) => Check::pass(
            "instance",
            format!("{} with identity store {}", i.instance_arn, i.identity_store_id),
        ),
        Err(e) => Check::fail(
            "instance",
            e.clone(),
            "run doctor in the delegated administrator account, or name the instance (--instance-arn)",
        ),
    }
}

/// Which identity source is in use. AWS has no API that names it (ListInstances and
/// DescribeInstance return the identity store, not its source), so this is judged from what the
/// deployment saw: the guards record the last SCIM write in the state table (issue #16,
/// `scim#last-write`: its time, or since when they have been watching without one).
pub fn judge_identity_source(last_scim_write: Option<&Remote<Option<StateRecord>>>, now: u64) -> Check {
    const ID: &str = "identity-source";
    let none_yet = |since: String| {
        Check::warn(
            ID,
            format!(
                "no SCIM write recorded{since}: either the source is the Identity Center directory (users and groups made by hand), or SCIM has written nothing"
            ),
            "connect the IdP with automatic provisioning (the guide's step 2): users and groups should come only from SCIM",
        )
    };
    match last_scim_write {
        None => Check::warn(
            ID,
            "not determined: AWS names no identity source in its API; the deployment's state records SCIM writes",
            "run doctor with --stack NAME to see whether SCIM provisioning reaches the identity store",
        ),
        Some(Err(e)) => Check::unreadable(ID, "the last SCIM write", e),
        Some(Ok(None)) => none_yet(String::new()),
        Some(Ok(Some(record))) => match record.since {
            Some(since) if record.status.as_deref() == Some(crate::safety::SCIM_WATCHING) => none_yet(format!(
                " since {} ({} ago)",
                utc(since),
                ago(now.saturating_sub(since))
            )),
            Some(at) => Check::pass(
                ID,
                format!(
                    "an external identity provider over SCIM (last SCIM write {}, {} ago)",
                    utc(at),
                    ago(now.saturating_sub(at))
                ),
            ),
            None => none_yet(String::new()),
        },
    }
}

/// The guide's check: SCIM populated groups (`length(Groups)` is not zero).
pub fn judge_groups(groups: &Remote<usize>) -> Check {
    const ID: &str = "scim-groups";
    match groups {
        Err(e) => Check::unreadable(ID, "the identity store's groups", e),
        Ok(0) => Check::fail(
            ID,
            "the identity store has no groups",
            "SCIM provisioning populated nothing: check the SCIM token (it expires after a year) and the IdP's group scoping",
        ),
        Ok(n) => Check::pass(ID, format!("{n} groups in the identity store")),
    }
}

/// The plan's findings of `rule` as one check: none passes; some fail, listed; a rule the
/// policy turns off warns (it was not checked).
fn judge_rule(id: &'static str, rule: crate::domain::RuleId, policy: &Policy, run: &RunReport, fix: &str) -> Check {
    if policy.effective_mode(rule) == Mode::Off {
        return Check::warn(
            id,
            format!("not checked: the policy turns {rule} off"),
            format!("set [rules.{rule}] mode = \"detect\" (or enforce) in the policy"),
        );
    }
    let found: Vec<String> = run
        .plan
        .iter()
        .chain(&run.skipped)
        .filter(|a| a.rule == rule)
        .map(|a| a.reason.clone())
        .collect();
    if !found.is_empty() {
        let mut summary = found.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
        if found.len() > 3 {
            summary.push_str(&format!("; and {} more", found.len() - 3));
        }
        return Check::fail(id, summary, fix);
    }
    if !run.unknown.is_empty() {
        return Check::warn(
            id,
            format!("nothing found, but {} resources could not be read", run.unknown.len()),
            "run `idc-guard scan` to see which reads failed, and fix their permissions",
        );
    }
    Check::pass(id, format!("{rule}: nothing found"))
}

/// Every assigned permission set is provisioned at its latest version in its accounts.
pub fn judge_provisioning(policy: &Policy, run: &RunReport) -> Check {
    judge_rule(
        "provisioning",
        provisioning_current::ID,
        policy,
        run,
        "provision the sets behind (`idc-guard scan --apply`, or aws sso-admin provision-permission-set --target-type ALL_PROVISIONED_ACCOUNTS)",
    )
}

/// The ABAC configuration matches the policy.
pub fn judge_abac(policy: &Policy, run: &RunReport) -> Check {
    judge_rule(
        "abac",
        abac_attributes_required::ID,
        policy,
        run,
        "set the instance's attributes for access control to the policy's (aws sso-admin update-instance-access-control-attribute-configuration)",
    )
}

/// The state table answers.
pub fn judge_table(table: &str, read: &Remote<Option<StateRecord>>) -> Check {
    match read {
        Ok(_) => Check::pass("state-table", format!("{table} answers")),
        Err(e) => Check::fail(
            "state-table",
            format!("{table} could not be read: {e}"),
            "deploy the stack (its table is <stack>-state), or check the credentials' dynamodb:GetItem",
        ),
    }
}

/// The kill switch's value: `enforce` passes; `detect` and `off` (an operator's choice) warn;
/// anything else (the guards then detect only) fails.
pub fn judge_kill_switch(name: &str, value: &Remote<Option<String>>) -> Check {
    const ID: &str = "kill-switch";
    let set = |v: &str| format!("aws ssm put-parameter --name {name} --value {v} --overwrite");
    match value {
        Err(e) => Check::unreadable(ID, &format!("the parameter {name}"), e),
        Ok(None) => Check::fail(
            ID,
            format!("the parameter {name} does not exist: the guards detect only"),
            format!(
                "{} (or pass the deployment's KillSwitchParameterName with --kill-switch-parameter)",
                set("detect")
            ),
        ),
        Ok(Some(v)) => match Mode::parse(v.trim()) {
            Some(Mode::Enforce) => Check::pass(ID, format!("{name} = enforce")),
            Some(Mode::Detect) => Check::warn(
                ID,
                format!("{name} = detect: violations are reported, none is reverted"),
                format!("when the findings look right, {}", set("enforce")),
            ),
            Some(Mode::Off) => Check::warn(
                ID,
                format!("{name} = off: nothing is corrected"),
                format!("turn it back on when the incident is over: {}", set("detect")),
            ),
            None => Check::fail(
                ID,
                format!("{name} = {v:?}, not enforce | detect | off: the guards detect only"),
                set("enforce"),
            ),
        },
    }
}

/// The breaker: closed passes, open fails.
pub fn judge_breaker(read: &Remote<Option<StateRecord>>) -> Check {
    const ID: &str = "breaker";
    match read {
        Err(e) => Check::unreadable(ID, "the breaker", e),
        Ok(Some(StateRecord { since: Some(since), .. })) => Check::fail(
            ID,
            format!("open since {}: the event path is detect-only", utc(*since)),
            "investigate the remediations that opened it, then `idc-guard breaker reset --reason TEXT`",
        ),
        Ok(record) => Check::pass(
            ID,
            format!(
                "closed ({} remediations in the current window)",
                record.as_ref().map_or(0, |r| r.times.len())
            ),
        ),
    }
}

/// The findings topic exists.
pub fn judge_topic(name: &str, read: &Remote<Option<String>>) -> Check {
    const ID: &str = "findings-topic";
    match read {
        Err(e) => Check::unreadable(ID, "the topics", e),
        Ok(Some(arn)) => Check::pass(ID, arn.clone()),
        Ok(None) => Check::fail(
            ID,
            format!("no topic named {name}: findings reach nobody"),
            "deploy the stack (sam deploy), or check --stack",
        ),
    }
}

/// Every EventBridge rule exists in the state it must be in.
pub fn judge_rules(expected: &[ExpectedRule], read: &Remote<Vec<(String, String)>>) -> Check {
    const ID: &str = "event-rules";
    let rules = match read {
        Err(e) => return Check::unreadable(ID, "the EventBridge rules", e),
        Ok(r) => r,
    };
    let mut problems = Vec::new();
    let mut absent_optional = Vec::new();
    for want in expected {
        match rules.iter().find(|(name, _)| *name == want.name) {
            None if want.optional => absent_optional.push(want.name.clone()),
            None => problems.push(format!("{} is missing", want.name)),
            Some((_, state)) if state != want.state => {
                problems.push(format!("{} is {state}, not {}", want.name, want.state));
            }
            Some(_) => {}
        }
    }
    let present = expected.len() - absent_optional.len() - problems.iter().filter(|p| p.ends_with("missing")).count();
    if !problems.is_empty() {
        return Check::fail(
            ID,
            problems.join("; "),
            "enable them (aws events enable-rule --name NAME) or redeploy the stack: events that reach no rule are never judged",
        );
    }
    let mut summary = format!("{present} rules enabled");
    if !absent_optional.is_empty() {
        summary.push_str(&format!(" ({} not deployed: optional)", absent_optional.join(", ")));
    }
    Check::pass(ID, summary)
}

/// The reconciler's last run: recent and complete passes; none, old, refused or failed does not.
pub fn judge_last_run(read: &Remote<Option<LastRun>>, now: u64, max_age: u64) -> Check {
    const ID: &str = "reconciler";
    let run = match read {
        Err(e) => return Check::unreadable(ID, "the reconciler's last run", e),
        Ok(None) => {
            return Check::warn(
                ID,
                "no run recorded yet",
                "wait for its schedule, or invoke it: aws lambda invoke --function-name <drift-reconciler> out.json",
            );
        }
        Ok(Some(run)) => run,
    };
    let age = now.saturating_sub(run.finished);
    let when = format!("last run {} ({} ago)", utc(run.finished), ago(age));
    match &run.outcome {
        RunOutcome::Failed { error } => Check::fail(
            ID,
            format!("{when} failed: {error}"),
            "read the drift-reconciler's log for the run, fix the cause (often permissions), and invoke it again",
        ),
        _ if age > max_age => Check::fail(
            ID,
            format!("{when}: older than {}", ago(max_age)),
            "check its schedule rule and its errors alarm: the safety net is not running",
        ),
        RunOutcome::Completed {
            refused: Some(reason), ..
        } => Check::fail(
            ID,
            format!("{when}: the plan was refused: {reason}"),
            "fix what the refusal names (the desired file, or a plan larger than the limit), then run it again",
        ),
        RunOutcome::Completed {
            dry_run,
            planned,
            unknown,
            ..
        } => {
            let mut summary = format!(
                "{when}{}: {planned} corrections planned",
                if *dry_run { " (dry run)" } else { "" }
            );
            if *unknown > 0 {
                summary.push_str(&format!(", {unknown} resources unreadable"));
                return Check::warn(
                    ID,
                    summary,
                    "run `idc-guard scan` to see which reads failed, and fix their permissions",
                );
            }
            Check::pass(ID, summary)
        }
    }
}

/// The dead-letter queues are empty.
pub fn judge_dead_letters(read: &[(String, bool, Remote<Option<u64>>)]) -> Check {
    const ID: &str = "dead-letters";
    let mut problems = Vec::new();
    let mut waiting = Vec::new();
    let mut checked = 0;
    for (name, optional, depth) in read {
        match depth {
            Err(e) => problems.push(format!("{name} could not be read: {e}")),
            Ok(None) if *optional => {}
            Ok(None) => problems.push(format!("{name} does not exist")),
            Ok(Some(0)) => checked += 1,
            Ok(Some(n)) => {
                checked += 1;
                waiting.push(format!("{n} in {name}"));
            }
        }
    }
    if !waiting.is_empty() || !problems.is_empty() {
        let mut all = waiting;
        all.extend(problems);
        return Check::fail(
            ID,
            all.join("; "),
            "read the messages (aws sqs receive-message), fix the cause, then redrive them (aws sqs start-message-move-task)",
        );
    }
    Check::pass(ID, format!("{checked} dead-letter queues empty"))
}

fn ago(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * 86_400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// The instance's checks: it resolves, its identity source, its groups, provisioning and ABAC
/// (a dry-run reconciler plan, so the policy's own rules judge). `last_scim_write` is the state
/// table's record, when the deployment is known.
#[allow(clippy::too_many_arguments)]
pub async fn instance_checks<I, S, N, G, D, O>(
    guard: &Guard<I, S, N, G>,
    directory: &D,
    organization: &O,
    wanted: Option<&crate::domain::InstanceArn>,
    options: &RunOptions,
    last_scim_write: Option<Remote<Option<StateRecord>>>,
) -> Vec<Check>
where
    I: IdentityCenter + InstanceInventory,
    S: IdentityStore + Directory,
    N: Notifier,
    G: Gate,
    D: Directory,
    O: Organization,
{
    let wanted = wanted.or(guard.policy().instance_arn.as_ref());
    let instance = crate::wiring::resolve_instance(guard.identity_center(), wanted)
        .await
        .map_err(|e| e.to_string());
    let mut checks = vec![judge_instance(&instance)];
    let Ok(instance) = instance else {
        return checks;
    };
    checks.push(judge_identity_source(last_scim_write.as_ref(), options.now));
    let groups = directory.groups(&instance.identity_store_id).await.map(|g| g.len());
    checks.push(judge_groups(&groups));
    let run = Box::pin(crate::reconcile::run(
        guard,
        directory,
        organization,
        &instance,
        None,
        options,
    ))
    .await;
    match run {
        Ok(run) => {
            checks.push(judge_provisioning(guard.policy(), &run));
            checks.push(judge_abac(guard.policy(), &run));
        }
        Err(e) => {
            for id in ["provisioning", "abac"] {
                checks.push(Check::unreadable(id, "the instance's inventory", &e.0));
            }
        }
    }
    checks
}

/// The deployment's checks: its state table, kill switch, breaker, findings topic, rules, the
/// reconciler's last run and its dead-letter queues.
pub async fn deployment_checks<T, P, R>(
    names: &DeploymentNames,
    table: &T,
    parameters: &P,
    kill_switch: &str,
    resources: &R,
    now: u64,
    max_run_age: u64,
) -> Vec<Check>
where
    T: StateStore,
    P: Parameters,
    R: DeploymentResources,
{
    let breaker = table.get(&crate::safety::breaker_key()).await;
    let mut checks = vec![judge_table(&names.table(), &breaker)];
    checks.push(judge_kill_switch(kill_switch, &parameters.parameter(kill_switch).await));
    checks.push(judge_breaker(&breaker));
    checks.push(judge_topic(&names.topic(), &resources.topic(&names.topic()).await));
    let prefix = format!("{}-", names.stack);
    checks.push(judge_rules(&names.rules(), &resources.rules(&prefix).await));
    checks.push(judge_last_run(&crate::safety::last_run(table).await, now, max_run_age));
    let mut depths = Vec::new();
    for (queue, optional) in names.dead_letter_queues() {
        let depth = resources.queue_depth(&queue).await;
        depths.push((queue, optional, depth));
    }
    checks.push(judge_dead_letters(&depths));
    checks
}

#[cfg(test)]
mod tests;
