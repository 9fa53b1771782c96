//! Builders for rule tests: one change of each kind, the default policy, and `check`.

use super::{Context, Rule, Verdict};
use crate::domain::{
    AbacAttribute, AbacOp, AccountId, Actor, Assignment, Boundary, Change, ChangeKind, EventMeta, EventSource, Facts,
    IdentityOp, IdentityStoreId, InlinePolicyText, InstanceArn, PermissionSetArn, PermissionSetOp, PrincipalType,
    SessionDuration,
};
use crate::policy::Policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    NotApplicable,
    Pass,
    Fail,
    Undetermined,
}

pub(super) fn outcome(v: &Verdict) -> Expect {
    match v {
        Verdict::NotApplicable => Expect::NotApplicable,
        Verdict::Pass => Expect::Pass,
        Verdict::Fail(_) => Expect::Fail,
        Verdict::Undetermined(_) => Expect::Undetermined,
    }
}

pub(super) fn policy() -> Policy {
    Policy::default()
}

pub(super) fn facts_for(change: &Change) -> Facts {
    Facts::from_change(change)
}

/// What `rule` sees of `change` under `policy`.
pub(super) fn cx<'a, R: Rule>(
    _rule: &R,
    change: &'a Change,
    facts: &'a Facts,
    policy: &'a Policy,
) -> Context<'a, R::Settings> {
    Context {
        change,
        facts,
        settings: policy
            .rules
            .settings::<R>()
            .expect("every rule has settings in a policy"),
        baseline: policy.baseline(),
        mode: policy.effective_mode(R::DOC.id),
    }
}

#[track_caller]
pub(super) fn check<R: Rule>(rule: &R, change: &Change, facts: &Facts, policy: &Policy, expected: Expect) {
    let verdict = rule.evaluate(cx(rule, change, facts, policy));
    assert_eq!(outcome(&verdict), expected, "{:?} gave {verdict:?}", change.kind);
}

fn instance() -> InstanceArn {
    InstanceArn::parse("arn:aws:sso:::instance/ssoins-7223b1c4d5e6f708").unwrap()
}

fn ps_arn() -> PermissionSetArn {
    PermissionSetArn::parse("arn:aws:sso:::permissionSet/ssoins-7223b1c4d5e6f708/ps-0011223344556677").unwrap()
}

fn change(source: EventSource, name: &str, actor: Actor, kind: ChangeKind) -> Change {
    Change {
        meta: EventMeta {
            event_id: "00000000-0000-0000-0000-000000000001".into(),
            shared_event_id: None,
            envelope_id: None,
            event_name: name.into(),
            event_source: source.event_source().into(),
            source: Some(source),
            event_time: "2026-03-01T10:00:00Z".into(),
            region: "eu-west-1".into(),
            account: "222222222222".into(),
            request_id: None,
            console: false,
            operation: None,
        },
        actor,
        kind,
    }
}

fn pipeline() -> Actor {
    Actor::IamRole {
        role_arn: "arn:aws:iam::222222222222:role/terraform".into(),
        role_name: "terraform".into(),
        session: None,
    }
}

fn assignment(principal_type: PrincipalType) -> Assignment {
    Assignment {
        instance_arn: instance(),
        account_id: AccountId::parse("333333333333").unwrap(),
        permission_set_arn: ps_arn(),
        principal_type,
        principal_id: "34887428-4081-7042-c3c6-928d413009e7".into(),
    }
}

pub(super) fn assignment_created(p: PrincipalType) -> Change {
    change(
        EventSource::SsoAdmin,
        "CreateAccountAssignment",
        pipeline(),
        ChangeKind::AssignmentCreated(assignment(p)),
    )
}

pub(super) fn assignment_deleted(p: PrincipalType) -> Change {
    change(
        EventSource::SsoAdmin,
        "DeleteAccountAssignment",
        pipeline(),
        ChangeKind::AssignmentDeleted(assignment(p)),
    )
}

fn ps_change(name: &str, op: PermissionSetOp) -> Change {
    change(
        EventSource::SsoAdmin,
        name,
        pipeline(),
        ChangeKind::PermissionSet {
            instance_arn: instance(),
            permission_set_arn: ps_arn(),
            op,
        },
    )
}

pub(super) fn permission_set_created(name: &str, duration: &str) -> Change {
    ps_change(
        "CreatePermissionSet",
        PermissionSetOp::Created {
            name: name.into(),
            description: Some("test set".into()),
            session_duration: SessionDuration::parse(duration).unwrap(),
            relay_state: None,
            tags: Vec::new(),
        },
    )
}

pub(super) fn permission_set_updated(duration: Option<&str>) -> Change {
    ps_change(
        "UpdatePermissionSet",
        PermissionSetOp::Updated {
            description: None,
            session_duration: duration.map(|d| SessionDuration::parse(d).unwrap()),
            relay_state: None,
        },
    )
}

pub(super) fn boundary_put(boundary: Boundary) -> Change {
    ps_change(
        "PutPermissionsBoundaryToPermissionSet",
        PermissionSetOp::BoundaryPut { boundary },
    )
}

pub(super) fn boundary_deleted() -> Change {
    ps_change(
        "DeletePermissionsBoundaryFromPermissionSet",
        PermissionSetOp::BoundaryDeleted,
    )
}

pub(super) fn managed_attached(arn: &str) -> Change {
    ps_change(
        "AttachManagedPolicyToPermissionSet",
        PermissionSetOp::ManagedPolicyAttached { policy_arn: arn.into() },
    )
}

pub(super) fn inline_put(text: &str) -> Change {
    ps_change(
        "PutInlinePolicyToPermissionSet",
        PermissionSetOp::InlinePolicyPut {
            policy: InlinePolicyText::Text(text.into()),
        },
    )
}

fn abac(name: &str, op: AbacOp) -> Change {
    change(
        EventSource::SsoAdmin,
        name,
        pipeline(),
        ChangeKind::AccessControlAttributes {
            instance_arn: instance(),
            op,
        },
    )
}

pub(super) fn abac_configured(attributes: Vec<AbacAttribute>) -> Change {
    abac(
        "UpdateInstanceAccessControlAttributeConfiguration",
        AbacOp::Configured {
            created: false,
            attributes,
        },
    )
}

pub(super) fn abac_deleted() -> Change {
    abac("DeleteInstanceAccessControlAttributeConfiguration", AbacOp::Deleted)
}

pub(super) fn identity_change(source: EventSource, actor: Actor, op: IdentityOp) -> Change {
    change(
        source,
        "CreateGroupMembership",
        actor,
        ChangeKind::Identity {
            identity_store_id: Some(IdentityStoreId::parse("d-9067a1b2c3").unwrap()),
            op,
        },
    )
}

// track C
/// A SCIM health signal (a failed SCIM call, a Health notice, the reconciler's check).
pub(super) fn scim_signal(signal: crate::domain::ScimSignal) -> Change {
    change(EventSource::Scim, "PatchUser", Actor::Scim, ChangeKind::Scim(signal))
}

/// A SCIM `PatchGroup` removing `removed` members of group `g`.
pub(super) fn scim_patch_group(removed: usize) -> Change {
    change(
        EventSource::Scim,
        "PatchGroup",
        Actor::Scim,
        ChangeKind::Identity {
            identity_store_id: None,
            op: IdentityOp::GroupPatched {
                group_id: Some("g".into()),
                removed: (0..removed).map(|i| format!("u{i}")).collect(),
            },
        },
    )
}

/// The account access manager application of the entitlement builders.
pub(super) const ACCESS_APPLICATION: &str =
    "arn:aws:account-access:eu-west-1:222222222222:application/aam-0123456789abcdef";
/// The customer managed application of the access-scope builders.
pub(super) const APPLICATION: &str =
    "arn:aws:sso::222222222222:application/ssoins-7223b1c4d5e6f708/apl-0123456789abcdef";

/// A CreateEntitlement giving a principal of type `p` the role `role` (its path and name) in
/// account 111111111111.
pub(super) fn entitlement_created(p: PrincipalType, role: &str) -> Change {
    let entitlement = crate::domain::Entitlement {
        application_arn: crate::domain::AccessApplicationArn::parse(ACCESS_APPLICATION).unwrap(),
        entitlement_id: Some(crate::domain::EntitlementId::parse("ent-0123456789").unwrap()),
        principal_type: p,
        principal_id: "906771a3e2-0000-0000-0000-000000000001".into(),
        role_arn: crate::domain::RoleArn::parse(&format!("arn:aws:iam::111111111111:role/{role}")).unwrap(),
        account_id: AccountId::parse("111111111111").unwrap(),
    };
    change(
        EventSource::AccountAccess,
        "CreateEntitlement",
        pipeline(),
        ChangeKind::EntitlementCreated(entitlement),
    )
}

/// A PutApplicationAccessScope of `scope` on [`APPLICATION`].
pub(super) fn access_scope_put(scope: &str) -> Change {
    change(
        EventSource::SsoAdmin,
        "PutApplicationAccessScope",
        pipeline(),
        ChangeKind::AccessScope {
            application_arn: crate::domain::ApplicationArn::parse(APPLICATION).unwrap(),
            scope: scope.into(),
            op: crate::domain::AccessScopeOp::Put {
                authorized_targets: Vec::new(),
            },
        },
    )
}
