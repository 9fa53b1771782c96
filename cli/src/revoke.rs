//! `revoke`: end a user's live role sessions on request (incident response), list the active
//! revocations, lift one early. Wiring of `idc_guard::revocation` to the terminal.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use idc_guard::config::{self, Config, Kind};
use idc_guard::domain::time::utc;
use idc_guard::domain::{AccountId, InstanceArn, Notice, PermissionSetArn, RevocationReport, RevocationStatus};
use idc_guard::notify::PORTAL_SESSIONS;
use idc_guard::ports::{Directory, Gate, IdentityCenter, InstanceInventory, InstanceRef, Notifier, Ports};
use idc_guard::revocation::{self, Request, Settings};
use idc_guard::wiring::{self, Pacing, Session, WithoutTable};

use crate::{CliError, Outcome, runtime};

/// Revoke a user's live role sessions, list the active revocations, or lift one.
#[derive(Args)]
pub(crate) struct RevokeArgs {
    /// The user whose sessions to revoke: their user name or identity store user id.
    #[arg(long, required_unless_present_any = ["list", "lift"], conflicts_with_all = ["list", "lift"])]
    user: Option<String>,
    /// Only in this account (repeatable; default: every account the user can use).
    #[arg(long = "account", value_parser = parse_account)]
    accounts: Vec<AccountId>,
    /// Only this permission set, by name (repeatable; default: every set the user can use).
    #[arg(long = "permission-set")]
    permission_sets: Vec<String>,
    /// Why (in the notice on the findings topic). Required with --yes.
    #[arg(long)]
    reason: Option<String>,
    /// Do it: without this flag, a dry run that shows what would be done and changes nothing.
    #[arg(long)]
    yes: bool,
    /// List the active revocations (user, permission set, accounts, until when).
    #[arg(long, conflicts_with = "lift")]
    list: bool,
    /// End the revocation with this Sid early (see --list).
    #[arg(long, value_name = "SID")]
    lift: Option<String>,
    /// Who asks (default: $USER).
    #[arg(long, env = "USER", default_value = "unknown")]
    by: String,
    /// The policy file (default: ./policy/guardrail.toml if present, else the built-in baseline).
    #[arg(long, env = config::POLICY)]
    policy: Option<PathBuf>,
    /// The instance (default: the policy's, else the only one ListInstances returns).
    #[arg(long, value_parser = crate::parse_instance)]
    instance_arn: Option<InstanceArn>,
}

fn parse_account(s: &str) -> Result<AccountId, String> {
    AccountId::parse(s).map_err(|e| e.to_string())
}

/// Runs `revoke`. Exit status: 0 done (or nothing to do), 1 something was withheld or failed,
/// 2 usage or AWS errors.
pub(crate) fn revoke(args: &RevokeArgs) -> Result<Outcome, CliError> {
    if args.yes && !args.list && args.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(CliError::Usage(
            "--yes needs --reason: say why, for the notice".to_owned(),
        ));
    }
    runtime()?.block_on(async {
        let session = session(args).await?;
        let instance = session.instance(args.instance_arn.as_ref()).await?;
        let ports = Ports {
            identity_center: session.guard.identity_center(),
            identity_store: session.guard.identity_store(),
            gate: session.guard.gate(),
        };
        if args.list {
            return list(&session, &ports, &instance).await;
        }
        let mut request = Request {
            user_id: String::new(),
            user: String::new(),
            by: args.by.clone(),
            reason: args.reason.clone().unwrap_or_default(),
            id: format!("revoke-{}-{}", ports.gate.now(), std::process::id()),
        };
        let mut calls = Vec::new();
        let reports = match (&args.lift, &args.user) {
            (Some(sid), _) => {
                let lifted =
                    revocation::lift_on_request(&ports, &instance.instance_arn, sid, &request, args.yes, &mut calls)
                        .await?;
                let Some(report) = lifted else {
                    return Err(CliError::Usage(format!(
                        "no active revocation has the Sid {sid} (see --list)"
                    )));
                };
                vec![report]
            }
            (None, Some(user)) => {
                let (user_id, label) = find_user(&session, &instance, user).await?;
                let sets = set_arns(&session, &instance.instance_arn, &args.permission_sets).await?;
                let access = revocation::access_of(
                    session.guard.identity_center(),
                    &session.directory,
                    &instance.instance_arn,
                    &instance.identity_store_id,
                    &user_id,
                    &args.accounts,
                    &sets,
                )
                .await?;
                if access.is_empty() {
                    println!("{label} can use no permission set in the accounts named: nothing to revoke.");
                    return Ok(Outcome::Clean);
                }
                request.user_id = user_id;
                request.user = label;
                let settings = Settings {
                    margin: session.guard.policy().revocation.margin,
                };
                let mode = session.guard.policy().mode;
                revocation::on_request(
                    &ports,
                    &instance.instance_arn,
                    &access,
                    &request,
                    args.yes,
                    mode,
                    settings,
                    &mut calls,
                )
                .await
            }
            (None, None) => return Err(CliError::Usage("name a --user, or --list, or --lift SID".to_owned())),
        };
        finish(&session, args, &request, reports).await
    })
}

/// Prints the reports; with `--yes`, announces them on the findings topic.
async fn finish(
    session: &Session,
    args: &RevokeArgs,
    request: &Request,
    reports: Vec<RevocationReport>,
) -> Result<Outcome, CliError> {
    for report in &reports {
        println!("{}", idc_guard::report::printable(&report.summary()));
    }
    if !args.yes {
        println!("Dry run: nothing was changed. Run again with --yes --reason TEXT to do it.");
        return Ok(Outcome::Clean);
    }
    let done = reports
        .iter()
        .any(|r| matches!(r.status, RevocationStatus::Revoked | RevocationStatus::Lifted));
    if done && args.lift.is_none() {
        println!("The {PORTAL_SESSIONS}.");
    }
    let notice = Notice::SessionsRevoked {
        user: if request.user.is_empty() {
            args.lift.clone().unwrap_or_default()
        } else {
            format!("{} ({})", request.user, request.user_id)
        },
        at: session.guard.gate().now(),
        by: request.by.clone(),
        reason: request.reason.clone(),
        reports: reports.clone(),
    };
    if let Err(e) = session.guard.notifier().announce(&notice).await {
        eprintln!("idc-guard: the notice could not be published: {e}");
    }
    let all_done = reports
        .iter()
        .all(|r| matches!(r.status, RevocationStatus::Revoked | RevocationStatus::Lifted));
    Ok(if all_done { Outcome::Clean } else { Outcome::Findings })
}

/// `--list`: one line per active revocation.
async fn list<I, S, G>(
    session: &Session,
    ports: &Ports<'_, I, S, G>,
    instance: &InstanceRef,
) -> Result<Outcome, CliError>
where
    I: IdentityCenter,
    G: Gate,
{
    let active = revocation::active(ports, &instance.instance_arn).await?;
    if active.is_empty() {
        println!("No active revocations.");
        return Ok(Outcome::Clean);
    }
    let users: BTreeMap<String, String> = session
        .directory
        .users(&instance.identity_store_id)
        .await?
        .into_iter()
        .collect();
    let mut names = BTreeMap::new();
    println!("SID  PERMISSION SET  USERS  ACCOUNTS  UNTIL");
    for (set, r) in active {
        if !names.contains_key(&set) {
            let name = session
                .guard
                .identity_center()
                .permission_set_name(&instance.instance_arn, &set)
                .await?
                .unwrap_or_else(|| set.to_string());
            names.insert(set.clone(), name);
        }
        let who: Vec<String> = r
            .users
            .iter()
            .map(|u| users.get(u).map_or_else(|| u.clone(), |n| format!("{n} ({u})")))
            .collect();
        let line = format!(
            "{}  {}  {}  {}  {}",
            r.sid,
            names[&set],
            who.join(","),
            r.accounts.iter().map(AccountId::as_str).collect::<Vec<_>>().join(","),
            utc(r.until)
        );
        println!("{}", idc_guard::report::printable(&line));
    }
    Ok(Outcome::Clean)
}

/// The user by id or user name: (id, "name").
async fn find_user(session: &Session, instance: &InstanceRef, wanted: &str) -> Result<(String, String), CliError> {
    let users = session.directory.users(&instance.identity_store_id).await?;
    let found = users
        .iter()
        .find(|(id, name)| id == wanted || name == wanted)
        .or_else(|| {
            let mut folded = users.iter().filter(|(_, name)| name.eq_ignore_ascii_case(wanted));
            match (folded.next(), folded.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        });
    match found {
        Some((id, name)) => Ok((id.clone(), name.clone())),
        None => Err(CliError::Usage(format!(
            "no user {wanted:?} in the identity store {} (give the user name or the user id)",
            instance.identity_store_id
        ))),
    }
}

/// The permission sets named, by name; every name must exist.
async fn set_arns(
    session: &Session,
    instance: &InstanceArn,
    names: &[String],
) -> Result<Vec<PermissionSetArn>, CliError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let center = session.guard.identity_center();
    let mut found = BTreeMap::new();
    for arn in center.permission_sets(instance).await? {
        if let Some(name) = center.permission_set_name(instance, &arn).await? {
            found.insert(name, arn);
        }
    }
    names
        .iter()
        .map(|n| {
            found
                .get(n)
                .cloned()
                .ok_or_else(|| CliError::Usage(format!("no permission set named {n:?} in {instance}")))
        })
        .collect()
}

/// The session: the functions' state table is required (its kill switch, breaker and leases),
/// and the notice goes to the findings topic when one is configured.
async fn session(args: &RevokeArgs) -> Result<Session, CliError> {
    let mut policy = crate::load_policy(args.policy.as_deref())?;
    let config = Config::from_env(Kind::Cli).map_err(wiring::WiringError::from)?;
    if config.state_table.is_none() {
        return Err(CliError::Usage(format!(
            "revoke needs the functions' state table ({}): its kill switch, breaker and leases are what keep \
             revocations safe",
            config::STATE_TABLE
        )));
    }
    wiring::add_own_roles(&mut policy, &config);
    let sdk = wiring::sdk_config().await;
    let publisher = wiring::publisher(&config, &sdk, &policy);
    Ok(Session::build(
        &config,
        policy,
        &sdk,
        Pacing::Configured,
        WithoutTable::Withhold,
        publisher,
    ))
}
