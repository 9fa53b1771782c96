//! The index's ordering and the join onto assignments, table by table.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::domain::{AccountId, Channel, IdentityStoreId, InstanceArn, PermissionSetArn};
use crate::inventory::{PermissionSetEntry, Strategy, Unknown};

const INSTANCE: &str = "arn:aws:sso:::instance/ssoins-7223b1c4d5e6f708";
const NOW: u64 = 1_000 * DAY;

fn arn(i: usize) -> PermissionSetArn {
    PermissionSetArn::parse(&format!(
        "arn:aws:sso:::permissionSet/ssoins-7223b1c4d5e6f708/ps-{i:016x}"
    ))
    .unwrap()
}

fn account(i: usize) -> AccountId {
    AccountId::parse(&format!("{:012}", 111_111_111_111 + i)).unwrap()
}

fn assignment(set: usize, acct: usize, principal_type: PrincipalType, id: &str) -> Assignment {
    Assignment {
        instance_arn: InstanceArn::parse(INSTANCE).unwrap(),
        account_id: account(acct),
        permission_set_arn: arn(set),
        principal_type,
        principal_id: id.to_owned(),
    }
}

fn used(user: &str, set: &str, acct: usize, at: u64, id: &str) -> Use {
    Use {
        key: UseKey {
            user_id: user.to_owned(),
            permission_set: set.to_owned(),
            account: account(acct),
        },
        at,
        event_id: id.to_owned(),
        channel: Channel::Credentials,
        identity_store_id: None,
    }
}

/// Set 1 `ReadOnly`, set 2 `AdministratorAccess`; group `g-eng` (alice, bob) holds set 1 in
/// account 1; carol holds set 2 in account 1 directly; group `g-ops` (unread members) holds set
/// 1 in account 2.
fn inventory() -> Inventory {
    let mut permission_sets = BTreeMap::new();
    for (i, name) in [(1, "ReadOnly"), (2, "AdministratorAccess")] {
        permission_sets.insert(
            arn(i),
            PermissionSetEntry {
                name: Some(name.to_owned()),
                facts: None,
                provisioned: None,
                owner_tag: None,
            },
        );
    }
    let users = [("u-alice", "alice"), ("u-bob", "bob"), ("u-carol", "carol")]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
    Inventory {
        instance: InstanceArn::parse(INSTANCE).unwrap(),
        identity_store: IdentityStoreId::parse("d-9067a1b2c3").unwrap(),
        permission_sets,
        groups: BTreeMap::from([
            ("g-eng".to_owned(), "Engineers".to_owned()),
            ("g-ops".to_owned(), "Ops".to_owned()),
        ]),
        users,
        accounts: None,
        ou_accounts: BTreeMap::new(),
        assignments: BTreeSet::from([
            assignment(1, 1, PrincipalType::Group, "g-eng"),
            assignment(2, 1, PrincipalType::User, "u-carol"),
            assignment(1, 2, PrincipalType::Group, "g-ops"),
        ]),
        protected_groups: BTreeMap::new(),
        abac: Fact::Unknown,
        unknown: BTreeSet::new(),
        strategy: Strategy::ByPrincipal,
        provisioning: None,
        group_members: BTreeMap::from([
            ("g-eng".to_owned(), Some(vec!["u-alice".to_owned(), "u-bob".to_owned()])),
            ("g-ops".to_owned(), None),
        ]),
        access: Default::default(),
    }
}

fn observed_since(since: u64) -> Observation {
    Observation {
        since,
        first_seen: BTreeMap::new(),
        tracked: false,
    }
}

#[test]
fn a_late_older_record_never_moves_last_use_back_and_a_duplicate_counts_once() {
    let mut index = UsageIndex::new();
    assert!(index.add(used("u-alice", "ReadOnly", 1, 100, "e1")));
    assert!(index.add(used("u-alice", "ReadOnly", 1, 300, "e3")));
    // Older, delivered late: ignored.
    assert!(!index.add(used("u-alice", "ReadOnly", 1, 200, "e2")));
    // The same record again: ignored.
    assert!(!index.add(used("u-alice", "ReadOnly", 1, 300, "e3")));
    assert_eq!(index.len(), 1);
    let last = index.iter().next().unwrap();
    assert_eq!((last.at, last.event_id.as_str()), (300, "e3"));
    assert_eq!((index.earliest(), index.latest()), (Some(100), Some(300)));
}

#[test]
fn a_group_assignment_takes_its_members_latest_use_and_counts_them() {
    let inv = inventory();
    let mut index = UsageIndex::new();
    index.add(used("u-alice", "ReadOnly", 1, NOW - 50 * DAY, "e1"));
    index.add(used("u-bob", "ReadOnly", 1, NOW - 5 * DAY, "e2"));
    // Same user and set, another account: not this assignment's.
    index.add(used("u-bob", "ReadOnly", 2, NOW - DAY, "e3"));
    // A user outside the group: not this assignment's.
    index.add(used("u-carol", "ReadOnly", 1, NOW, "e4"));
    let obs = observed_since(0);
    let Fact::Known(u) = assignment_usage(
        &inv,
        &index,
        &obs,
        &assignment(1, 1, PrincipalType::Group, "g-eng"),
        NOW,
    ) else {
        panic!()
    };
    let last = u.last.unwrap();
    assert_eq!((last.at, last.who(), u.users), (NOW - 5 * DAY, "bob", 2));
}

#[test]
fn a_user_assignment_takes_its_users_use_by_set_name() {
    let inv = inventory();
    let mut index = UsageIndex::new();
    index.add(used("u-carol", "AdministratorAccess", 1, NOW - 40 * DAY, "e1"));
    // A set once named otherwise (a replaced set): never credited to this one.
    index.add(used("u-carol", "AdministratorAccessOld", 1, NOW, "e2"));
    let rows = per_assignment(&Policy::default(), &inv, &index, &observed_since(0), NOW);
    let carol = rows.iter().find(|r| r.assignment.principal_id == "u-carol").unwrap();
    let Fact::Known(u) = &carol.usage else { panic!() };
    assert_eq!(u.last.as_ref().unwrap().at, NOW - 40 * DAY);
    // Privileged set: the 30-day window, so 40 days without a use is dormant.
    assert_eq!((carol.window_days, carol.dormancy), (30, Some(Dormancy::Dormant)));
    // The group whose members could not be read: unknown, never dormant.
    let ops = rows.iter().find(|r| r.assignment.principal_id == "g-ops").unwrap();
    assert_eq!((ops.usage.clone(), ops.dormancy), (Fact::Unknown, None));
    // The engineers never used it, observed forever: dormant over 90 days.
    let eng = rows.iter().find(|r| r.assignment.principal_id == "g-eng").unwrap();
    assert_eq!((eng.window_days, eng.dormancy), (90, Some(Dormancy::Dormant)));
}

#[test]
fn an_assignment_first_seen_recently_is_not_yet_observed() {
    let inv = inventory();
    let index = UsageIndex::new();
    let eng = assignment(1, 1, PrincipalType::Group, "g-eng");
    let mut obs = Observation {
        since: 0,
        first_seen: BTreeMap::from([(assignment_key(&eng), NOW - 10 * DAY)]),
        tracked: true,
    };
    let dormancy = |obs: &Observation, a: &Assignment| {
        assignment_usage(&inv, &index, obs, a, NOW)
            .known()
            .map(|u| u.dormancy(90, NOW))
    };
    assert_eq!(dormancy(&obs, &eng), Some(Dormancy::NotYetObserved));
    // Tracked, and not noted yet: new, first seen now.
    let carol = assignment(2, 1, PrincipalType::User, "u-carol");
    assert_eq!(dormancy(&obs, &carol), Some(Dormancy::NotYetObserved));
    // Untracked (offline): it existed since the logs' start.
    obs.tracked = false;
    assert_eq!(dormancy(&obs, &carol), Some(Dormancy::Dormant));
}

#[test]
fn sightings_note_the_new_and_forget_the_gone_only_when_everything_was_read() {
    let mut inv = inventory();
    let eng = assignment_key(&assignment(1, 1, PrincipalType::Group, "g-eng"));
    let gone = "111111111112|arn:aws:sso:::permissionSet/x/ps-1|GROUP|g-old".to_owned();
    let noted = BTreeMap::from([(eng.clone(), 5), (gone.clone(), 5)]);
    let s = Sightings::of(&inv, &noted);
    assert_eq!(s.new.len(), 2);
    assert!(!s.new.contains(&eng));
    assert_eq!(s.gone, vec![gone]);
    inv.unknown.insert(Unknown::Instance {
        what: "x".to_owned(),
        reason: "y".to_owned(),
    });
    assert!(Sightings::of(&inv, &noted).gone.is_empty());
}
