//! The shipped policy file, and how policy settings change verdicts.

use idc_guard::domain::Date;
use idc_guard::domain::{Evaluation, EventVerdict};
use idc_guard::domain::{IdentityStoreId, InstanceArn};
use idc_guard::engine::check_json;
use idc_guard::policy::{Mode, Policy, Severity};
use idc_guard::rules::{assignment_principal_type, identity_store_scim_only};
use idc_guard_tests::{FIXTURE_IDENTITY_STORE, FIXTURE_INSTANCE, repo_root};

fn policy(toml: &str) -> Policy {
    let mut p = Policy::from_toml("test.toml", toml).unwrap_or_else(|e| panic!("{e}"));
    p.instance_arn = InstanceArn::parse(FIXTURE_INSTANCE).ok();
    p.identity_store_id = IdentityStoreId::parse(FIXTURE_IDENTITY_STORE).ok();
    p
}

fn evaluate(p: &Policy, fixture: &str, today: &str) -> Evaluation {
    let json = std::fs::read_to_string(repo_root().join("events").join(fixture)).unwrap();
    check_json(p, &json, Date::parse(today).unwrap()).unwrap()
}

const USER_ASSIGNMENT: &str = "sso.CreateAccountAssignment-user-violation.json";

#[test]
fn the_shipped_guardrail_toml_is_the_builtin_baseline() {
    let shipped = Policy::load(&repo_root().join("policy/guardrail.toml")).unwrap();
    assert_eq!(shipped, Policy::default());
    assert_eq!(shipped.effective_mode(identity_store_scim_only::ID), Mode::Detect);
    assert_eq!(shipped.effective_mode(assignment_principal_type::ID), Mode::Enforce);
}

#[test]
fn the_global_mode_caps_every_rule() {
    let p = policy("mode = \"detect\"\n[rules.assignment-principal-type]\nmode = \"enforce\"\n");
    let e = evaluate(&p, USER_ASSIGNMENT, "2026-11-27");
    assert_eq!(e.verdict, EventVerdict::Violation);
    assert_eq!(e.findings[0].mode, Mode::Detect);
    assert!(!e.findings[0].remediation.is_empty(), "detect reports the same plan");
}

#[test]
fn a_rule_switched_off_is_not_evaluated_and_global_off_silences_all() {
    let p = policy("mode = \"enforce\"\n[rules.assignment-principal-type]\nmode = \"off\"\n");
    assert_eq!(
        evaluate(&p, USER_ASSIGNMENT, "2026-11-27").verdict,
        EventVerdict::Compliant
    );
    let p = policy("mode = \"off\"\n");
    for fixture in [
        "sso.CreatePermissionSet-admin-violation.json",
        "sso.DeleteInstanceAccessControlAttributeConfiguration-violation.json",
    ] {
        assert_eq!(
            evaluate(&p, fixture, "2026-11-27").verdict,
            EventVerdict::Compliant,
            "{fixture}"
        );
    }
}

#[test]
fn severity_can_be_overridden_per_rule() {
    let p = policy("mode = \"enforce\"\n[rules.assignment-principal-type]\nseverity = \"critical\"\n");
    assert_eq!(
        evaluate(&p, USER_ASSIGNMENT, "2026-11-27").findings[0].severity,
        Severity::Critical
    );
}

const EXCEPTION_FOR_ACCOUNT: &str = "mode = \"enforce\"

[[exceptions]]
rule = \"assignment-principal-type\"
accounts = [\"333333333333\"]
owner = \"security-audit\"
reason = \"external auditor, TICKET-1\"
expires = 2026-12-31
";

#[test]
fn a_live_exception_covers_the_violation_and_says_whose_it_is() {
    let p = policy(EXCEPTION_FOR_ACCOUNT);
    let e = evaluate(&p, USER_ASSIGNMENT, "2026-12-31");
    assert_eq!(e.verdict, EventVerdict::Compliant, "{e:?}");
    assert_eq!(e.excepted.len(), 1);
    assert_eq!(e.excepted[0].owner, "security-audit");
    assert_eq!(e.excepted[0].line, 3);
}

#[test]
fn an_expired_exception_no_longer_applies_and_is_reported() {
    let p = policy(EXCEPTION_FOR_ACCOUNT);
    let e = evaluate(&p, USER_ASSIGNMENT, "2027-01-01");
    assert_eq!(e.verdict, EventVerdict::Violation);
    let expired = e.findings[0].expired_exception.as_ref().unwrap();
    assert_eq!(expired.owner, "security-audit");
    assert_eq!(expired.expired, "2026-12-31");
    assert_eq!(p.expired_exceptions(Date::parse("2027-01-01").unwrap()).count(), 1);
}

#[test]
fn an_exception_for_another_account_does_not_apply() {
    let p = policy(&EXCEPTION_FOR_ACCOUNT.replace("333333333333", "444444444444"));
    let e = evaluate(&p, USER_ASSIGNMENT, "2026-11-27");
    assert_eq!(e.verdict, EventVerdict::Violation);
    assert!(e.findings[0].expired_exception.is_none());
}

#[test]
fn an_exception_by_permission_set_name_makes_an_unnamed_violation_undetermined() {
    let p = policy(&EXCEPTION_FOR_ACCOUNT.replace("accounts = [\"333333333333\"]", "permission_sets = [\"Auditor*\"]"));
    let e = evaluate(&p, USER_ASSIGNMENT, "2026-11-27");
    assert_eq!(e.verdict, EventVerdict::Undetermined, "{e:?}");
    assert!(e.undetermined[0].detail.contains("line 3"));
}

#[test]
fn permission_set_exceptions_apply_to_named_sets() {
    let p = policy(
        "mode = \"enforce\"\n[[exceptions]]\nrule = \"session-duration-cap\"\npermission_sets = [\"DataEngineer\"]\nowner = \"data\"\nreason = \"batch jobs\"\nexpires = 2027-06-30\n",
    );
    let e = evaluate(&p, "sso.CreatePermissionSet-long-session-violation.json", "2026-11-27");
    assert_eq!(e.verdict, EventVerdict::Compliant, "{e:?}");
    let e = evaluate(&p, "sso.CreatePermissionSet-admin-violation.json", "2026-11-27");
    assert_eq!(e.verdict, EventVerdict::Violation);
}

#[test]
fn the_instance_and_identity_store_scope_events() {
    let unscoped = Policy::default();
    let json =
        std::fs::read_to_string(repo_root().join("events/sso.CreateAccountAssignment-other-instance-ignored.json"))
            .unwrap();
    let today = Date::parse("2026-11-27").unwrap();
    assert_eq!(
        check_json(&unscoped, &json, today).unwrap().verdict,
        EventVerdict::Violation,
        "no instance configured: any instance"
    );
    let scoped = policy("mode = \"enforce\"\n");
    let e = check_json(&scoped, &json, today).unwrap();
    assert_eq!(e.verdict, EventVerdict::Ignored);
    assert!(e.reason.unwrap().to_string().contains("ssoins-99990000aaaabbbb"));
}

#[test]
fn own_roles_come_from_the_policy() {
    let p = policy("mode = \"enforce\"\n[own_identity]\nrole_prefixes = [\"guardrail-\"]\n");
    // With another prefix, idc-guard-* roles are ordinary roles again.
    let e = evaluate(&p, "sso.CreateAccountAssignment-own-echo-ignored.json", "2026-11-27");
    assert_eq!(e.verdict, EventVerdict::Violation);
    let p = policy(
        "mode = \"enforce\"\n[own_identity]\nrole_prefixes = []\nrole_arns = [\"arn:aws:iam::222222222222:role/idc-guard-assignment-guard\"]\n",
    );
    let e = evaluate(&p, "sso.CreateAccountAssignment-own-echo-ignored.json", "2026-11-27");
    assert_eq!(e.verdict, EventVerdict::Ignored);
}

#[test]
fn policy_errors_name_file_line_and_column_and_come_all_at_once() {
    let text = "mode = \"enforce\"\n[instance]\narn = \"arn:aws:sso:::instance/nope\"\n\n[rules.no-such-rule]\n\n[[exceptions]]\nrule = \"session-duration-cap\"\nowner = \"\"\n";
    let err = Policy::from_toml("p.toml", text).unwrap_err();
    let rendered: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
    let expect = [
        "p.toml:3:7: instance.arn: \"arn:aws:sso:::instance/nope\" is not an Identity Center instance ARN",
        "p.toml:5:8: rules: unknown rule `no-such-rule`",
        "p.toml:7:1: exceptions[0]: missing key `reason`",
        "p.toml:9:9: exceptions[0].owner: must not be empty",
    ];
    for e in expect {
        assert!(
            rendered.iter().any(|r| r.starts_with(e)),
            "missing {e:?} in {rendered:#?}"
        );
    }
}

#[test]
fn owners_parse_routes_and_channels_and_every_problem_is_reported() {
    let p = policy(
        "mode = \"enforce\"\n[owners]\ntag_key = \"team-owner\"\ndefault = \"secops\"\n\
         [[owners.routes]]\nowner = \"payments\"\npermission_sets = [\"Pay*\"]\naccounts = [\"222222222222\"]\n\
         [owners.slack_channels]\npayments = [\"pay-alerts\", \"secops\"]\n",
    );
    let o = &p.owners;
    assert_eq!((o.tag_key.as_str(), o.default_owner.as_str()), ("team-owner", "secops"));
    // Every dimension a route names must match.
    assert_eq!(o.resolve(None, Some("Payments"), Some("222222222222")), "payments");
    assert_eq!(o.resolve(None, Some("Payments"), Some("333333333333")), "secops");
    assert_eq!(o.resolve(None, None, Some("222222222222")), "secops", "name unknown");
    assert_eq!(o.resolve(Some("data"), Some("Payments"), Some("222222222222")), "data");
    assert_eq!(o.channels_of("payments"), ["pay-alerts", "secops"]);
    assert_eq!(o.channels_of("data"), ["data"]);

    let broken = "mode = \"enforce\"\n[owners]\ntag_key = \"\"\ndefault = \"two words\"\nchannel = 1\n\
                  [[owners.routes]]\nowner = \"x\"\n\
                  [[owners.routes]]\nowner = \"y\"\naccounts = [\"12\"]\n\
                  [owners.slack_channels]\nx = []\n";
    let err = Policy::from_toml("owners.toml", broken).unwrap_err().to_string();
    for expected in [
        "owners.toml:3:11: owners.tag_key: \"\" is not a tag key",
        "owners.toml:4:11: owners.default: \"two words\" is not a name",
        "owners.toml:5:1: owners: unknown key `channel`",
        "owners.toml:6:1: owners.routes[0]: a route names `permission_sets` or `accounts`",
        "owners.toml:10:13: owners.routes[1].accounts[0]:",
        "owners.toml:12:5: owners.slack_channels.x: name at least one channel key",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
}

#[test]
fn protected_groups_are_named_by_pattern_and_their_errors_located() {
    let p = policy("mode = \"enforce\"\n[groups]\nprotected = [\"aws-admins\", \"*-breakglass\"]\n");
    assert!(p.is_protected_group("aws-admins"));
    assert!(p.is_protected_group("prod-breakglass"));
    assert!(!p.is_protected_group("aws-admins-readonly"));
    assert!(
        !Policy::default().is_protected_group("aws-admins"),
        "none by name by default"
    );

    let err = Policy::from_toml(
        "g.toml",
        "mode = \"enforce\"\n[groups]\nprotected = \"aws-admins\"\nprotect = []\n",
    )
    .unwrap_err()
    .to_string();
    for expected in [
        "g.toml:3:13: groups.protected: expected an array",
        "g.toml:4:1: groups: unknown key `protect`; did you mean `protected`?",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
}
