//! Issue #19 against the emulator: account access manager's entitlements and customer managed
//! applications' `sso:account:access` scope, judged by the guard like assignments. Each test
//! seeds the violating state through the SDK, delivers the event, then asserts the emulator's
//! state and exactly which mutating calls were made.

use aws_sdk_accountaccess::types::{
    Entitlement as SdkEntitlement, IdentityCenter, IdentityCenterPrincipal, IdentitySource, Principal,
    PrincipalRoleEntitlement,
};
use idc_guard::domain::{Date, OutcomeKind};
use idc_guard::notify::LoggingNotifier;
use idc_guard::policy::Policy;
use idc_guard_tests::world::{self, World};
use serde_json::json;

const ACCOUNT: &str = "333333333333";
const USER_ID: &str = "34887428-4081-7042-c3c6-928d413009e7";
const GROUP_ID: &str = "f4a8e438-5051-70f7-1c2b-3d4e5f6a7b8c";

fn today() -> Date {
    Date::new(2026, 12, 6).unwrap()
}

fn role(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
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

/// Entitles a user (`user: true`) or group to `role_name`; returns the entitlement's id.
async fn entitle(w: &World, app: &str, user: bool, role_name: &str) -> String {
    let principal = if user {
        IdentityCenterPrincipal::UserId(USER_ID.into())
    } else {
        IdentityCenterPrincipal::GroupId(GROUP_ID.into())
    };
    let entitlement = PrincipalRoleEntitlement::builder()
        .principal(Principal::IdentityCenter(principal))
        .role_arn(role(role_name))
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

/// The CreateEntitlement event for what [`entitle`] made (`id: None`: a record without
/// `responseElements`).
fn created_event(app: &str, user: bool, role_name: &str, id: Option<&str>) -> String {
    let principal = if user {
        json!({ "userId": USER_ID })
    } else {
        json!({ "groupId": GROUP_ID })
    };
    world::event(
        "account-access.CreateEntitlement-user-violation.json",
        &[
            ("requestParameters.applicationArn", json!(app)),
            (
                "requestParameters.entitlement.principalRole.principal.identityCenter",
                principal,
            ),
            (
                "requestParameters.entitlement.principalRole.roleArn",
                json!(role(role_name)),
            ),
            (
                "responseElements",
                id.map_or(json!(null), |id| json!({ "entitlementId": id })),
            ),
        ],
    )
}

async fn world_with() -> World {
    World::builder().build().await
}

fn policy_of(w: &World, edit: impl Fn(String) -> String) -> Policy {
    let shipped = std::fs::read_to_string(idc_guard_tests::repo_root().join("policy/guardrail.toml")).unwrap();
    w.scoped(Policy::from_toml("test.toml", &edit(shipped)).unwrap())
}

#[tokio::test]
async fn a_user_entitlement_is_deleted_and_verified() {
    let w = world_with().await;
    let app = application(&w).await;
    let id = entitle(&w, &app, true, "BreakGlassAdmin").await;
    w.calls.clear();
    let guard = w.guard(LoggingNotifier, w.shipped_policy());
    let report = guard
        .handle(&created_event(&app, true, "BreakGlassAdmin", Some(&id)), today())
        .await
        .unwrap();
    assert_eq!(report.outcomes.len(), 1, "{report:?}");
    let outcome = &report.outcomes[0];
    assert_eq!(outcome.finding.rule.as_str(), "entitlement-principal-type");
    assert_eq!(outcome.kind, OutcomeKind::Remediated, "{outcome:?}");
    assert_eq!(outcome.calls, ["DeleteEntitlement"]);
    assert_eq!(w.calls.mutating(), ["DeleteEntitlement"]);
    // One read, the deletion, one read-back.
    assert_eq!(
        w.calls.all(),
        ["GetEntitlement", "DescribeUser", "DeleteEntitlement", "GetEntitlement"],
        "{:?}",
        w.calls.all()
    );
    assert!(!exists(&w, &app, &id).await);
}

#[tokio::test]
async fn a_group_entitlement_to_an_allowed_role_is_kept_without_a_write() {
    let w = world_with().await;
    let app = application(&w).await;
    let id = entitle(&w, &app, false, "BreakGlassAdmin").await;
    w.calls.clear();
    let guard = w.guard(LoggingNotifier, w.shipped_policy());
    let report = guard
        .handle(&created_event(&app, false, "BreakGlassAdmin", Some(&id)), today())
        .await
        .unwrap();
    assert!(report.outcomes.is_empty(), "{report:?}");
    assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());
    assert!(exists(&w, &app, &id).await);
}

#[tokio::test]
async fn an_entitlement_to_a_role_outside_the_allow_list_is_deleted_in_enforce_and_reported_in_detect() {
    // enforce (the shipped policy)
    let w = world_with().await;
    let app = application(&w).await;
    let id = entitle(&w, &app, false, "AdministratorAccess").await;
    w.calls.clear();
    let guard = w.guard(LoggingNotifier, w.shipped_policy());
    let report = guard
        .handle(&created_event(&app, false, "AdministratorAccess", Some(&id)), today())
        .await
        .unwrap();
    assert_eq!(report.outcomes.len(), 1, "{report:?}");
    assert_eq!(report.outcomes[0].finding.rule.as_str(), "entitlement-role-allowed");
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated);
    assert_eq!(w.calls.mutating(), ["DeleteEntitlement"]);
    assert!(!exists(&w, &app, &id).await);

    // detect: reported, nothing written
    let id = entitle(&w, &app, false, "AdministratorAccess").await;
    w.calls.clear();
    let detect = policy_of(&w, |p| {
        p.replace(
            "[rules.entitlement-role-allowed]\n",
            "[rules.entitlement-role-allowed]\nmode = \"detect\"\n",
        )
    });
    let guard = w.guard(LoggingNotifier, detect);
    let report = guard
        .handle(&created_event(&app, false, "AdministratorAccess", Some(&id)), today())
        .await
        .unwrap();
    assert_eq!(report.outcomes.len(), 1, "{report:?}");
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Detected);
    assert!(w.calls.mutating().is_empty(), "{:?}", w.calls.all());
    assert!(exists(&w, &app, &id).await);

    // a role on the allow-list: kept
    let allowed = policy_of(&w, |p| {
        p.replace(
            r#"allowed_roles = ["BreakGlass*"]"#,
            r#"allowed_roles = ["BreakGlass*", "Admin*"]"#,
        )
    });
    w.calls.clear();
    let report = w
        .guard(LoggingNotifier, allowed)
        .handle(&created_event(&app, false, "AdministratorAccess", Some(&id)), today())
        .await
        .unwrap();
    assert!(report.outcomes.is_empty(), "{report:?}");
    assert!(w.calls.mutating().is_empty());
    assert!(exists(&w, &app, &id).await);
}

#[tokio::test]
async fn a_record_without_the_entitlement_id_finds_it_by_principal_role_and_account() {
    let w = world_with().await;
    let app = application(&w).await;
    let id = entitle(&w, &app, true, "ReadOnly").await;
    // Another entitlement of the same user, to another role, stays.
    let other = entitle(&w, &app, true, "BreakGlassAdmin").await;
    w.calls.clear();
    let guard = w.guard(LoggingNotifier, w.shipped_policy());
    let report = guard
        .handle(&created_event(&app, true, "ReadOnly", None), today())
        .await
        .unwrap();
    // Both rules find it (a USER, a role off the list); one deletion, both remediated.
    let rules: Vec<&str> = report.outcomes.iter().map(|o| o.finding.rule.as_str()).collect();
    assert_eq!(
        rules,
        ["entitlement-principal-type", "entitlement-role-allowed"],
        "{report:?}"
    );
    assert!(
        report.outcomes.iter().all(|o| o.kind == OutcomeKind::Remediated),
        "{report:?}"
    );
    assert_eq!(report.outcomes[0].calls, ["DeleteEntitlement"]);
    assert!(report.outcomes[1].calls.is_empty());
    assert_eq!(w.calls.mutating(), ["DeleteEntitlement"]);
    assert!(!exists(&w, &app, &id).await);
    assert!(exists(&w, &app, &other).await);
}

#[tokio::test]
async fn an_entitlement_already_gone_needs_nothing() {
    let w = world_with().await;
    let app = application(&w).await;
    let id = entitle(&w, &app, true, "ReadOnly").await;
    w.emulator
        .account_access_client()
        .delete_entitlement()
        .application_arn(&app)
        .entitlement_id(&id)
        .send()
        .await
        .unwrap();
    w.calls.clear();
    let report = w
        .guard(LoggingNotifier, w.shipped_policy())
        .handle(&created_event(&app, true, "ReadOnly", Some(&id)), today())
        .await
        .unwrap();
    assert!(report.outcomes.is_empty(), "{report:?}");
    assert!(w.calls.mutating().is_empty());
}

/// A customer managed application of the emulator's instance, named `name`.
async fn sso_application(w: &World, name: &str) -> String {
    w.sso
        .create_application()
        .instance_arn(&w.instance)
        .application_provider_arn("arn:aws:sso::aws:applicationProvider/custom")
        .name(name)
        .send()
        .await
        .unwrap()
        .application_arn
        .unwrap()
}

async fn scope_held(w: &World, app: &str) -> bool {
    match w
        .sso
        .get_application_access_scope()
        .application_arn(app)
        .scope("sso:account:access")
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
        Err(e) => panic!("GetApplicationAccessScope: {e:?}"),
    }
}

fn scope_event(app: &str) -> String {
    world::event(
        "sso.PutApplicationAccessScope-account-access-violation.json",
        &[("requestParameters.applicationArn", json!(app))],
    )
}

#[tokio::test]
async fn an_application_given_account_access_outside_the_allow_list_loses_the_scope() {
    let w = world_with().await;
    let app = sso_application(&w, "Reporting").await;
    w.sso
        .put_application_access_scope()
        .application_arn(&app)
        .scope("sso:account:access")
        .send()
        .await
        .unwrap();
    w.calls.clear();
    let report = w
        .guard(LoggingNotifier, w.shipped_policy())
        .handle(&scope_event(&app), today())
        .await
        .unwrap();
    assert_eq!(report.outcomes.len(), 1, "{report:?}");
    assert_eq!(report.outcomes[0].finding.rule.as_str(), "application-account-access");
    assert_eq!(report.outcomes[0].kind, OutcomeKind::Remediated);
    assert!(report.outcomes[0].finding.message.contains("application Reporting"));
    assert_eq!(w.calls.mutating(), ["DeleteApplicationAccessScope"]);
    assert_eq!(
        w.calls.all(),
        [
            "GetApplicationAccessScope",
            "DescribeApplication",
            "DeleteApplicationAccessScope",
            "GetApplicationAccessScope"
        ]
    );
    assert!(!scope_held(&w, &app).await);

    // On the allow-list by name: kept.
    w.sso
        .put_application_access_scope()
        .application_arn(&app)
        .scope("sso:account:access")
        .send()
        .await
        .unwrap();
    w.calls.clear();
    let allowed = policy_of(&w, |p| {
        p.replace("allowed_applications = []", r#"allowed_applications = ["Report*"]"#)
    });
    let report = w
        .guard(LoggingNotifier, allowed)
        .handle(&scope_event(&app), today())
        .await
        .unwrap();
    assert!(report.outcomes.is_empty(), "{report:?}");
    assert!(w.calls.mutating().is_empty());
    assert!(scope_held(&w, &app).await);
}

#[tokio::test]
async fn an_application_of_another_instance_is_ignored() {
    let w = world_with().await;
    let event = world::event(
        "sso.PutApplicationAccessScope-account-access-violation.json",
        &[(
            "requestParameters.applicationArn",
            json!("arn:aws:sso::222222222222:application/ssoins-0000000000000000/apl-0123456789abcdef"),
        )],
    );
    w.calls.clear();
    let report = w
        .guard(LoggingNotifier, w.shipped_policy())
        .handle(&event, today())
        .await
        .unwrap();
    assert!(report.outcomes.is_empty(), "{report:?}");
    assert!(
        report.reason.as_deref().is_some_and(|r| r.contains("instance")),
        "{report:?}"
    );
    assert!(w.calls.all().is_empty(), "{:?}", w.calls.all());
}
