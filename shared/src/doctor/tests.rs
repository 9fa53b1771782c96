use super::*;
use crate::ports::FailureKind;

fn denied() -> RemoteError {
    RemoteError::new("GetItem", FailureKind::AccessDenied, "not authorised")
}

#[test]
fn the_template_names_follow_the_stack() {
    let names = DeploymentNames::new("guard");
    assert_eq!(names.table(), "guard-state");
    assert_eq!(names.topic(), "guard-findings");
    let rules = names.rules();
    assert!(rules.iter().all(|r| r.name.starts_with("guard-")));
    let usage = rules.iter().find(|r| r.name == "guard-usage-recorder").unwrap();
    assert!(usage.optional);
    assert_eq!(usage.state, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS");
    assert_eq!(names.dead_letter_queues()[0], ("guard-dead-letters".to_owned(), false));
}

#[test]
fn the_kill_switch_passes_only_on_enforce_and_fails_when_broken() {
    let judge = |v: Remote<Option<String>>| judge_kill_switch("/idc-guard/mode", &v).status;
    assert_eq!(judge(Ok(Some("enforce".into()))), Status::Pass);
    assert_eq!(judge(Ok(Some("detect".into()))), Status::Warn);
    assert_eq!(judge(Ok(Some("off".into()))), Status::Warn);
    assert_eq!(judge(Ok(Some("enforced".into()))), Status::Fail);
    assert_eq!(judge(Ok(None)), Status::Fail);
    assert_eq!(judge(Err(denied())), Status::Fail);
    let check = judge_kill_switch("/x", &Ok(Some("detect".into())));
    assert!(check.fix.unwrap().contains("--name /x --value enforce"));
}

#[test]
fn an_open_breaker_fails_and_a_failed_read_is_not_closed() {
    let open = StateRecord {
        since: Some(1_700_000_000),
        ..StateRecord::default()
    };
    assert_eq!(judge_breaker(&Ok(Some(open))).status, Status::Fail);
    assert_eq!(judge_breaker(&Ok(None)).status, Status::Pass);
    let counting = StateRecord {
        times: vec![1, 2],
        ..StateRecord::default()
    };
    let check = judge_breaker(&Ok(Some(counting)));
    assert_eq!(
        (check.status, check.summary.contains("2 remediations")),
        (Status::Pass, true)
    );
    assert_eq!(judge_breaker(&Err(denied())).status, Status::Fail);
}

#[test]
fn rules_must_exist_in_their_state_and_optional_ones_may_be_absent() {
    let names = DeploymentNames::new("s");
    let all = |usage: Option<&str>| {
        let mut rules: Vec<(String, String)> = names
            .rules()
            .into_iter()
            .filter(|r| !r.optional)
            .map(|r| (r.name, r.state.to_owned()))
            .collect();
        if let Some(state) = usage {
            rules.push(("s-usage-recorder".into(), state.into()));
        }
        rules
    };
    assert_eq!(judge_rules(&names.rules(), &Ok(all(None))).status, Status::Pass);
    assert_eq!(
        judge_rules(
            &names.rules(),
            &Ok(all(Some("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")))
        )
        .status,
        Status::Pass
    );
    // The recorder's rule enabled plainly would never see a credential fetch.
    let wrong = judge_rules(&names.rules(), &Ok(all(Some("ENABLED"))));
    assert_eq!(wrong.status, Status::Fail);
    assert!(
        wrong
            .summary
            .contains("s-usage-recorder is ENABLED, not ENABLED_WITH_ALL"),
        "{}",
        wrong.summary
    );
    let mut disabled = all(None);
    disabled[0].1 = "DISABLED".into();
    disabled.remove(1);
    let check = judge_rules(&names.rules(), &Ok(disabled));
    assert_eq!(check.status, Status::Fail);
    assert!(
        check.summary.contains("s-assignment-guard is DISABLED"),
        "{}",
        check.summary
    );
    assert!(
        check.summary.contains("s-permission-set-guard is missing"),
        "{}",
        check.summary
    );
    assert_eq!(judge_rules(&names.rules(), &Err(denied())).status, Status::Fail);
}

#[test]
fn the_last_run_must_be_recent_complete_and_not_refused() {
    let now = 10_000;
    let run = |finished: u64, outcome: RunOutcome| {
        Ok(Some(LastRun {
            started: finished - 10,
            finished,
            outcome,
        }))
    };
    let completed = |planned, unknown, refused: Option<&str>| RunOutcome::Completed {
        dry_run: false,
        planned,
        unknown,
        refused: refused.map(str::to_owned),
    };
    let judge = |r: Remote<Option<LastRun>>| judge_last_run(&r, now, 7200).status;
    assert_eq!(judge(run(9_000, completed(3, 0, None))), Status::Pass);
    assert_eq!(judge(run(9_000, completed(0, 2, None))), Status::Warn);
    assert_eq!(judge(run(9_000, completed(0, 0, Some("too many")))), Status::Fail);
    assert_eq!(
        judge(run(9_000, RunOutcome::Failed { error: "denied".into() })),
        Status::Fail
    );
    assert_eq!(judge(run(1_000, completed(0, 0, None))), Status::Fail);
    assert_eq!(judge(Ok(None)), Status::Warn);
    assert_eq!(judge(Err(denied())), Status::Fail);
}

#[test]
fn dead_letters_fail_when_waiting_missing_or_unreadable() {
    let q = |name: &str, optional, depth: Remote<Option<u64>>| (name.to_owned(), optional, depth);
    assert_eq!(
        judge_dead_letters(&[q("a", false, Ok(Some(0))), q("b", true, Ok(None))]).status,
        Status::Pass
    );
    let check = judge_dead_letters(&[q("a", false, Ok(Some(4))), q("b", false, Ok(None))]);
    assert_eq!(check.status, Status::Fail);
    assert!(
        check.summary.contains("4 in a") && check.summary.contains("b does not exist"),
        "{}",
        check.summary
    );
    assert_eq!(judge_dead_letters(&[q("a", false, Err(denied()))]).status, Status::Fail);
}

#[test]
fn the_identity_source_comes_from_the_scim_record() {
    let now = 100_000;
    assert_eq!(judge_identity_source(None, now).status, Status::Warn);
    let written = StateRecord {
        since: Some(now - 600),
        ..StateRecord::default()
    };
    let check = judge_identity_source(Some(&Ok(Some(written))), now);
    assert_eq!(check.status, Status::Pass);
    assert!(
        check.summary.contains("SCIM") && check.summary.contains("10 min ago"),
        "{}",
        check.summary
    );
    let watching = StateRecord {
        since: Some(now - 7200),
        status: Some(crate::safety::SCIM_WATCHING.to_owned()),
        ..StateRecord::default()
    };
    assert_eq!(
        judge_identity_source(Some(&Ok(Some(watching))), now).status,
        Status::Warn
    );
    assert_eq!(judge_identity_source(Some(&Err(denied())), now).status, Status::Fail);
}

#[test]
fn groups_must_not_be_empty() {
    assert_eq!(judge_groups(&Ok(0)).status, Status::Fail);
    assert_eq!(judge_groups(&Ok(12)).status, Status::Pass);
    assert_eq!(judge_groups(&Err(denied())).status, Status::Fail);
}

#[test]
fn warnings_pass_unless_strict() {
    let report = Report {
        checks: vec![Check::pass("a", "fine"), Check::warn("b", "hmm", "look")],
    };
    assert!(report.healthy(false));
    assert!(!report.healthy(true));
    let text = report.text();
    assert!(
        text.contains("warn  b") && text.contains("fix: look") && text.ends_with("1 passed, 1 warnings, 0 failed\n"),
        "{text}"
    );
    let failed = Report {
        checks: vec![Check::fail("c", "broken", "mend")],
    };
    assert!(!failed.healthy(false));
}
