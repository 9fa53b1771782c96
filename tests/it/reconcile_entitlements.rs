//! Issue #19 item 3 against the emulator: the drift reconciler reads account access manager's
//! entitlements and the applications holding `sso:account:access`, judges each live one by
//! every rule (as the creation that made it), and corrects through the guard's gate, verified;
//! what it could not read is unknown and nothing is planned for it. Each test asserts the
//! emulator's state afterwards and exactly which mutating calls were made.

use aws_sdk_accountaccess::types::EntitlementFilter;
use aws_sdk_accountaccess::types::{
    Entitlement as SdkEntitlement, IdentityCenter, IdentityCenterPrincipal, IdentitySource, Principal,
    PrincipalRoleEntitlement,
};
use aws_sdk_ssoadmin::types::PrincipalType as SdkPrincipalType;
use idc_guard::adapters::{IdentityStoreApi, Organizations, SsoAdmin};
use idc_guard::desired;
use idc_guard::domain::{IdentityStoreId, InstanceArn};
use idc_guard::guard::Guard;
use idc_guard::inventory::Unknown;
use idc_guard::notify::LoggingNotifier;
use idc_guard::policy::Policy;
use idc_guard::ports::InstanceRef;
use idc_guard::reconcile::{self, RunOptions, RunReport};
use idc_guard::retry::RetryPolicy;
use idc_guard_tests::world::{PermissionSet, User, World};

/// Rules that judge permission sets and ABAC are off: these tests are about entitlements.
const POLICY: &str = r#"
mode = "enforce"
[rules.permissions-boundary-required]
mode = "off"
[rules.abac-attributes-required]
mode = "off"
"#;

async fn world() -> World {
    World::builder()
        .organization(["acct-0"])
        .user(User::new("alice").name("Alice", "Example"))
        .group("platform")
        .build()
        .await
}

fn instance(w: &World) -> InstanceRef {
    InstanceRef {
        instance_arn: InstanceArn::parse(&w.instance).unwrap(),
        identity_store_id: IdentityStoreId::parse(&w.store).unwrap(),
    }
}

fn role(w: &World, name: &str) -> String {
    format!("arn:aws:iam::{}:role/{name}", w.accounts[0])
}

/// The emulator's account access manager application for its instance.
async fn application(w: &World) -> String {
    w.emulator
        .account_access_client()
        .create_application()
        .identity_source(IdentitySource::IdentityCenter(
            IdentityCenter::builder().instance_arn(&w.instance).build().unwrap(),
        ))
        .send()
        .await
        .unwrap()
        .application_arn
}

/// Entitles `principal` to `role_name`, as someone did while the events were lost.
async fn entitle(w: &World, app: &str, principal: IdentityCenterPrincipal, role_name: &str) -> String {
    let entitlement = PrincipalRoleEntitlement::builder()
        .principal(Principal::IdentityCenter(principal))
        .role_arn(role(w, role_name))
        .build()
        .unwrap();
    w.emulator
        .account_access_client()
        .create_entitlement()
        .application_arn(app)
        .entitlement(SdkEntitlement::PrincipalRole(entitlement))
        .send()
        .await
        .unwrap()
        .entitlement_id
}

async fn exists(w: &World, app: &str, id: &str) -> bool {
    match w
        .emulator
        .account_access_client()
        .get_entitlement()
        .application_arn(app)
        .entitlement_id(id)
        .send()
        .await
    {
        Ok(_) => true,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            false
        }
        Err(e) => panic!("GetEntitlement: {e:?}"),
    }
}

async fn run(w: &World, guard: &Guard<SsoAdmin, IdentityStoreApi, LoggingNotifier>, dry_run: bool) -> RunReport {
    run_with(w, guard, None, dry_run).await
}

/// A run with a desired-assignments file.
async fn run_with(
    w: &World,
    guard: &Guard<SsoAdmin, IdentityStoreApi, LoggingNotifier>,
    desired_text: Option<&str>,
    dry_run: bool,
) -> RunReport {
    let mut options = RunOptions::now(dry_run);
    options.inventory.definitions = true;
    Box::pin(reconcile::run(
        guard,
        &IdentityStoreApi::new(w.ids.clone(), RetryPolicy::immediate()),
        &Organizations::new(w.orgs.clone(), RetryPolicy::immediate()),
        &instance(w),
        desired_text.map(|t| desired::parse("assignments.toml", t)),
        &options,
    ))
    .await
    .unwrap()
}

/// A world whose group `platform` is assigned `ReadOnly` in its one account: the desired file's
/// assignment (a file resolving to no assignment is refused).
async fn assigned_world() -> World {
    let w = World::builder()
        .organization(["acct-0"])
        .permission_set(PermissionSet::new("ReadOnly"))
        .group("platform")
        .group("data")
        .build()
        .await;
    w.assign(
        &w.accounts[0],
        w.set_arn("ReadOnly"),
        SdkPrincipalType::Group,
        w.group_id("platform"),
    )
    .await;
    w
}

/// The desired file: the world's assignment, then `entitlements` (TOML) as written.
fn desired_file(w: &World, entitlements: &str) -> String {
    format!(
        "[[assignments]]\ngroup = \"platform\"\npermission_set = \"ReadOnly\"\ntargets = [{:?}]\n\n{entitlements}",
        w.accounts[0]
    )
}

/// Every entitlement of `app`, as (principal id, role ARN).
async fn entitlements(w: &World, app: &str) -> Vec<(String, String)> {
    let out = w
        .emulator
        .account_access_client()
        .list_entitlements()
        .application_arn(app)
        .filter(EntitlementFilter::builder().build())
        .send()
        .await
        .unwrap();
    let mut all: Vec<(String, String)> = out
        .entitlements()
        .iter()
        .filter_map(|e| {
            let details = e.entitlement()?.as_principal_role().ok()?;
            let principal = match details.principal()? {
                Principal::IdentityCenter(
                    IdentityCenterPrincipal::GroupId(id) | IdentityCenterPrincipal::UserId(id),
                ) => id.clone(),
                _ => return None,
            };
            Some((principal, details.role_arn().to_owned()))
        })
        .collect();
    all.sort();
    all
}

fn policy() -> Policy {
    Policy::from_toml("test.toml", POLICY).unwrap()
}

#[tokio::test]
async fn the_reconciler_finds_and_corrects_an_entitlement_created_while_events_were_lost() {
    let w = world().await;
    let app = application(&w).await;
    let user = w.user_id("alice").to_owned();
    let group = w.group_id("platform").to_owned();
    // No event: a USER entitlement (a violation), and a GROUP one to a break-glass role (kept).
    let rogue = entitle(
        &w,
        &app,
        IdentityCenterPrincipal::UserId(user.clone()),
        "BreakGlassAdmin",
    )
    .await;
    let kept = entitle(&w, &app, IdentityCenterPrincipal::GroupId(group), "BreakGlassAdmin").await;
    let guard = w.guard(LoggingNotifier, policy());

    // A dry run plans the deletion and changes nothing.
    w.calls.clear();
    let plan = run(&w, &guard, true).await;
    assert_eq!(plan.refused, None, "{}", plan.table());
    assert!(plan.unknown.is_empty(), "{:?}", plan.unknown);
    assert_eq!(plan.counts.entitlements, 2, "{}", plan.table());
    assert_eq!(plan.plan.len(), 1, "{}", plan.table());
    assert_eq!(
        plan.plan[0].rule.as_str(),
        "entitlement-principal-type",
        "{}",
        plan.table()
    );
    assert!(plan.plan[0].destructive);
    assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());

    w.calls.clear();
    let report = run(&w, &guard, false).await;
    assert_eq!(report.refused, None, "{}", report.table());
    assert_eq!(report.plan.len(), 1, "{}", report.table());
    assert_eq!(
        report.plan[0].outcome.as_deref(),
        Some("remediated and verified"),
        "{}",
        report.table()
    );
    assert_eq!(w.calls.mutating(), ["DeleteEntitlement"], "{:?}", w.calls.all());
    assert_eq!(report.counts.mutations, 1);
    assert!(!exists(&w, &app, &rogue).await);
    assert!(exists(&w, &app, &kept).await);

    // A second run finds nothing.
    w.calls.clear();
    let again = run(&w, &guard, false).await;
    assert!(!again.has_drift(), "{}", again.table());
    assert_eq!(again.counts.entitlements, 1);
    assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());
}

#[tokio::test]
async fn the_reconciler_removes_account_access_from_an_application_outside_the_allow_list() {
    let w = world().await;
    let app = w
        .sso
        .create_application()
        .instance_arn(&w.instance)
        .application_provider_arn("arn:aws:sso::aws:applicationProvider/custom")
        .name("Reporting")
        .send()
        .await
        .unwrap()
        .application_arn
        .unwrap();
    // Another application without the scope: nothing to judge.
    w.sso
        .create_application()
        .instance_arn(&w.instance)
        .application_provider_arn("arn:aws:sso::aws:applicationProvider/custom")
        .name("Wiki")
        .send()
        .await
        .unwrap();
    w.sso
        .put_application_access_scope()
        .application_arn(&app)
        .scope("sso:account:access")
        .send()
        .await
        .unwrap();
    let guard = w.guard(LoggingNotifier, policy());
    w.calls.clear();
    let report = run(&w, &guard, false).await;
    assert_eq!(report.counts.scoped_applications, 1, "{}", report.table());
    assert_eq!(report.plan.len(), 1, "{}", report.table());
    assert_eq!(report.plan[0].rule.as_str(), "application-account-access");
    assert_eq!(report.plan[0].outcome.as_deref(), Some("remediated and verified"));
    assert_eq!(
        w.calls.mutating(),
        ["DeleteApplicationAccessScope"],
        "{:?}",
        w.calls.all()
    );
    let held = w
        .sso
        .get_application_access_scope()
        .application_arn(&app)
        .scope("sso:account:access")
        .send()
        .await;
    assert!(held.is_err(), "{held:?}");
}

// --- entitlements as code: the desired file declares them (issue #19 item 3) --------------------

#[tokio::test]
async fn a_declared_entitlement_that_does_not_exist_is_created_verified_and_then_left_alone() {
    let w = assigned_world().await;
    let app = application(&w).await;
    let group = w.group_id("platform").to_owned();
    let text = desired_file(
        &w,
        &format!(
            "[[entitlements]]\ngroup = \"platform\"\nrole = \"BreakGlassAdmin\"\ntargets = [{:?}]\nowner = \"platform-team\"\n",
            w.accounts[0]
        ),
    );
    let guard = w.guard(LoggingNotifier, policy());

    // A dry run plans the creation and changes nothing.
    w.calls.clear();
    let plan = run_with(&w, &guard, Some(&text), true).await;
    assert_eq!(plan.refused, None, "{}", plan.table());
    assert_eq!(plan.counts.desired, 2, "{}", plan.table());
    assert_eq!(plan.counts.missing, 1, "{}", plan.table());
    assert_eq!(plan.plan.len(), 1, "{}", plan.table());
    assert_eq!(plan.plan[0].rule.as_str(), "desired-assignments");
    assert!(!plan.plan[0].destructive);
    let table = plan.table();
    assert!(
        table.contains("create   desired-assignments")
            && table.contains(&format!("{} role /BreakGlassAdmin {group}", w.accounts[0])),
        "{table}"
    );
    assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());
    assert!(entitlements(&w, &app).await.is_empty());

    // The run creates it, through the gate, and reads it back.
    w.calls.clear();
    let report = run_with(&w, &guard, Some(&text), false).await;
    assert_eq!(report.refused, None, "{}", report.table());
    assert_eq!(report.plan.len(), 1, "{}", report.table());
    assert_eq!(
        report.plan[0].outcome.as_deref(),
        Some("remediated and verified"),
        "{}",
        report.table()
    );
    assert_eq!(w.calls.mutating(), ["CreateEntitlement"], "{:?}", w.calls.all());
    assert_eq!(
        entitlements(&w, &app).await,
        [(group.clone(), role(&w, "BreakGlassAdmin"))]
    );

    // Live and declared: nothing more to do.
    w.calls.clear();
    let again = run_with(&w, &guard, Some(&text), false).await;
    assert!(!again.has_drift(), "{}", again.table());
    assert_eq!(again.counts.entitlements, 1);
    assert!(
        again
            .table()
            .contains("entitlements 1  applications with account access 0"),
        "{}",
        again.table()
    );
    assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());

    the_cli_exports_and_diffs_the_entitlement(&w, &app).await;
}

/// The CLI: the export declares the world's one entitlement, the diff of that file is empty;
/// removed by hand, the diff shows it missing, with its line.
async fn the_cli_exports_and_diffs_the_entitlement(w: &World, app: &str) {
    let dir = std::env::temp_dir().join(format!(
        "idc-guard-entitlements-{}-{}",
        std::process::id(),
        w.emulator.port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let export = w.idc_guard(&dir, POLICY, &["export", "--format", "toml"], &[]);
    assert_eq!(export.status.code(), Some(0), "{}", idc_guard_tests::shown(&export));
    let exported = String::from_utf8(export.stdout).unwrap();
    assert!(
        exported.contains(&format!(
            "[[entitlements]]\ngroup = \"platform\"\nrole = \"BreakGlassAdmin\"\ntargets = [\"{}\"]\n",
            w.accounts[0]
        )),
        "{exported}"
    );
    std::fs::write(dir.join("assignments.toml"), &exported).unwrap();
    let same = w.idc_guard(&dir, POLICY, &["diff", "assignments.toml"], &[]);
    let shown = idc_guard_tests::shown(&same);
    assert_eq!(same.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains("0 extra entitlements, 0 missing entitlements"),
        "{shown}"
    );
    let csv = w.idc_guard(&dir, POLICY, &["export", "--format", "csv"], &[]);
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(
        csv.lines().next().unwrap().ends_with(",owner,role_arn,application_arn"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!(",{},{app}\n", role(w, "BreakGlassAdmin"))),
        "{csv}"
    );

    let (id, _) = w
        .emulator
        .account_access_client()
        .list_entitlements()
        .application_arn(app)
        .filter(EntitlementFilter::builder().build())
        .send()
        .await
        .unwrap()
        .entitlements()
        .first()
        .map(|e| (e.entitlement_id().to_owned(), ()))
        .unwrap();
    w.emulator
        .account_access_client()
        .delete_entitlement()
        .application_arn(app)
        .entitlement_id(&id)
        .send()
        .await
        .unwrap();
    let drift = w.idc_guard(&dir, POLICY, &["diff", "assignments.toml"], &[]);
    let shown = idc_guard_tests::shown(&drift);
    assert_eq!(drift.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains(&format!(
            "+ GROUP platform may assume {} in {} (acct-0)  # line ",
            role(w, "BreakGlassAdmin"),
            w.accounts[0]
        )),
        "{shown}"
    );
    assert!(
        shown.contains("0 extra entitlements, 1 missing entitlements"),
        "{shown}"
    );
    // `scan` (a dry run) plans its creation, and changes nothing.
    let scan = w.idc_guard(
        &dir,
        POLICY,
        &["scan", "--format", "json", "--assignments", "assignments.toml"],
        &[],
    );
    assert_eq!(scan.status.code(), Some(1), "{}", idc_guard_tests::shown(&scan));
    let report: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    assert_eq!(report["counts"]["missing"], 1, "{report}");
    assert_eq!(report["plan"][0]["rule"], "desired-assignments", "{report}");
    assert_eq!(
        report["plan"][0]["actions"][0]["action"], "create_entitlement",
        "{report}"
    );
    assert!(entitlements(w, app).await.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_undeclared_entitlement_is_deleted_within_the_refusal_share_and_refused_beyond_it() {
    let w = assigned_world().await;
    let app = application(&w).await;
    let group = w.group_id("platform").to_owned();
    // 21 entitlements the rules allow (a group, break-glass roles); the file declares 20.
    for i in 0..21 {
        entitle(
            &w,
            &app,
            IdentityCenterPrincipal::GroupId(group.clone()),
            &format!("BreakGlass{i}"),
        )
        .await;
    }
    let declared: String = (0..20)
        .map(|i| {
            format!(
                "[[entitlements]]\ngroup = \"platform\"\nrole = \"BreakGlass{i}\"\ntargets = [{:?}]\n\n",
                w.accounts[0]
            )
        })
        .collect();
    let guard = w.guard(LoggingNotifier, policy());

    // Everything undeclared (`entitlements = []`): 21 of the 22 governed, refused.
    w.calls.clear();
    // (A top-level key: before the first [[table]] of the file.)
    let none_declared = format!("entitlements = []\n\n{}", desired_file(&w, ""));
    let refused = run_with(&w, &guard, Some(&none_declared), false).await;
    let why = refused.refused.clone().unwrap_or_default();
    assert!(
        why.contains("would delete 21 of the 22 live assignments and entitlements it governs"),
        "{}",
        refused.table()
    );
    assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());
    assert_eq!(entitlements(&w, &app).await.len(), 21);

    // One undeclared of 22 governed (4.5%): deleted, verified.
    w.calls.clear();
    let report = run_with(&w, &guard, Some(&desired_file(&w, &declared)), false).await;
    assert_eq!(report.refused, None, "{}", report.table());
    assert_eq!(report.counts.extra, 1, "{}", report.table());
    assert_eq!(report.plan.len(), 1, "{}", report.table());
    assert_eq!(report.plan[0].rule.as_str(), "desired-assignments");
    assert_eq!(
        report.plan[0].outcome.as_deref(),
        Some("remediated and verified"),
        "{}",
        report.table()
    );
    assert_eq!(w.calls.mutating(), ["DeleteEntitlement"], "{:?}", w.calls.all());
    let left = entitlements(&w, &app).await;
    assert_eq!(left.len(), 20);
    assert!(!left.iter().any(|(_, r)| r == &role(&w, "BreakGlass20")), "{left:?}");

    // A file without an `entitlements` key governs none: nothing is deleted.
    w.calls.clear();
    let ungoverned = run_with(&w, &guard, Some(&desired_file(&w, "")), false).await;
    assert!(!ungoverned.has_drift(), "{}", ungoverned.table());
    assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());
}

#[tokio::test]
async fn a_declared_entitlement_naming_an_unknown_group_is_refused_not_a_deletion() {
    let w = assigned_world().await;
    let app = application(&w).await;
    entitle(
        &w,
        &app,
        IdentityCenterPrincipal::GroupId(w.group_id("data").to_owned()),
        "BreakGlassAdmin",
    )
    .await;
    let text = desired_file(
        &w,
        &format!(
            "[[entitlements]]\ngroup = \"no-such-team\"\nrole = \"/team/Reader\"\ntargets = [{:?}]\n",
            w.accounts[0]
        ),
    );
    let guard = w.guard(LoggingNotifier, policy());
    w.calls.clear();
    let report = run_with(&w, &guard, Some(&text), false).await;
    assert_eq!(report.desired, "invalid", "{}", report.table());
    let why = report.refused.clone().unwrap_or_default();
    assert!(why.contains("unknown group \"no-such-team\""), "{why}");
    assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());
    assert_eq!(entitlements(&w, &app).await.len(), 1);
}

// --- what could not be read (aws-smithy-mocks on account access manager) ---------------------

mod unreadable {
    use super::*;
    use aws_sdk_accountaccess as accountaccess;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;
    use aws_smithy_types::retry::RetryConfig;

    const APP: &str = "arn:aws:account-access:us-east-1:123456789012:application/aam-0123456789abcdef";

    fn denied() -> accountaccess::types::error::AccessDeniedException {
        accountaccess::types::error::AccessDeniedException::builder()
            .message("not authorized")
            .meta(
                ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("not authorized")
                    .build(),
            )
            .build()
    }

    /// The world's guard, its account access manager answering by `rules`.
    fn guard(w: &World, rules: &[&Rule]) -> Guard<SsoAdmin, IdentityStoreApi, LoggingNotifier> {
        let aam = mock_client!(accountaccess, RuleMode::MatchAny, rules, |c| c
            .retry_config(RetryConfig::disabled()));
        let sso = SsoAdmin::new(w.recorded_sso(), RetryPolicy::immediate()).with_account_access(aam);
        Guard::new(
            sso,
            IdentityStoreApi::new(w.recorded_ids(), RetryPolicy::immediate()),
            LoggingNotifier,
            policy(),
        )
    }

    #[tokio::test]
    async fn a_failed_list_entitlements_is_unknown_and_nothing_is_planned_for_it() {
        let w = world().await;
        let list = mock!(accountaccess::Client::list_applications).then_output(|| {
            accountaccess::operation::list_applications::ListApplicationsOutput::builder()
                .applications(
                    accountaccess::types::ApplicationSummary::builder()
                        .application_arn(APP)
                        .created_at(aws_smithy_types::DateTime::from_secs(0))
                        .updated_at(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        });
        let entitlements = mock!(accountaccess::Client::list_entitlements).then_error(|| {
            accountaccess::operation::list_entitlements::ListEntitlementsError::AccessDeniedException(denied())
        });
        let delete = mock!(accountaccess::Client::delete_entitlement)
            .then_output(|| accountaccess::operation::delete_entitlement::DeleteEntitlementOutput::builder().build());
        let guard = guard(&w, &[&list, &entitlements, &delete]);
        w.calls.clear();
        let report = run(&w, &guard, false).await;
        assert!(
            matches!(&report.unknown[..], [Unknown::AccessApplication { application_arn, reason }]
                if application_arn == APP && reason.contains("AccessDenied")),
            "{:?}",
            report.unknown
        );
        assert_eq!(report.counts.entitlements, 0);
        assert!(report.plan.is_empty(), "{}", report.table());
        assert!(report.skipped.is_empty(), "{}", report.table());
        assert_eq!(delete.num_calls(), 0);
        assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());
    }

    #[tokio::test]
    async fn account_access_manager_not_visible_is_unknown_not_zero_entitlements() {
        let w = world().await;
        let list = mock!(accountaccess::Client::list_applications).then_error(|| {
            accountaccess::operation::list_applications::ListApplicationsError::AccessDeniedException(denied())
        });
        let guard = guard(&w, &[&list]);
        let report = run(&w, &guard, true).await;
        assert!(
            matches!(&report.unknown[..], [Unknown::Instance { what, reason }]
                if what.contains("account access manager") && reason.contains("AccessDenied")),
            "{:?}",
            report.unknown
        );
        assert!(report.table().contains("account access manager"), "{}", report.table());

        // Without an account access manager client at all: the same, never "none".
        let bare = Guard::new(
            SsoAdmin::new(w.recorded_sso(), RetryPolicy::immediate()),
            IdentityStoreApi::new(w.recorded_ids(), RetryPolicy::immediate()),
            LoggingNotifier,
            policy(),
        );
        let report = run(&w, &bare, true).await;
        assert!(
            matches!(&report.unknown[..], [Unknown::Instance { what, .. }] if what.contains("account access manager")),
            "{:?}",
            report.unknown
        );
    }

    #[tokio::test]
    async fn declared_entitlements_with_unreadable_applications_refuse_the_plan() {
        let w = assigned_world().await;
        let list = mock!(accountaccess::Client::list_applications).then_error(|| {
            accountaccess::operation::list_applications::ListApplicationsError::AccessDeniedException(denied())
        });
        let create = mock!(accountaccess::Client::create_entitlement).then_output(|| {
            accountaccess::operation::create_entitlement::CreateEntitlementOutput::builder()
                .entitlement_id("ent-1")
                .build()
                .unwrap()
        });
        let guard = guard(&w, &[&list, &create]);
        let text = desired_file(
            &w,
            &format!(
                "[[entitlements]]\ngroup = \"platform\"\nrole = \"BreakGlassAdmin\"\ntargets = [{:?}]\n",
                w.accounts[0]
            ),
        );
        w.calls.clear();
        let report = run_with(&w, &guard, Some(&text), false).await;
        let why = report.refused.clone().unwrap_or_default();
        assert!(
            why.contains("account access manager's applications could not be read"),
            "{}",
            report.table()
        );
        assert_eq!(create.num_calls(), 0);
        assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());
    }
}
