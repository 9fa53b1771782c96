//! `scim-mass-removal`: one SCIM sync removes more than a set share of a protected group's members.

use super::scim_sync_failing::{read_count, read_window, reference_time, window_text};
use super::{Context, Doc, Missing, Rule, Runs, Verdict, Violation};
use crate::domain::time::utc;
use crate::domain::{ChangeKind, Fact, IdentityOp, MissingFact, ResourceKind, RuleId, Scope, Severity};
use crate::spanned::{Reader, Table};

/// The rule's id.
pub const ID: RuleId = RuleId::new("scim-mass-removal");

/// Flags SCIM `PatchGroup` removals that take more than `share` percent of a protected group's
/// members within `window`. The identity guard counts each group's removals in the state table
/// and reads the group's members live after the removal: the members before the sync are the
/// members now plus the removals counted in the window (no snapshot to keep current).
///
/// Why: a faulty IdP sync (a scoping change, a connector bug) can empty a group in one run, and
/// with it everyone's access through that group, including the administrators'; the next run
/// may or may not put them back.
/// Fix: check the IdP's provisioning log and the group's assignment to the IdP app; if the
/// removal was a mistake, restore the members in the IdP (changes made in AWS are overwritten
/// by the next sync).
#[derive(Debug, Clone, Copy)]
pub struct ScimMassRemoval;

/// `[rules.scim-mass-removal]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The share of the group's members, in percent, that one sync may remove.
    pub share: u64,
    /// The window one sync's removals are counted in, in seconds.
    pub window: u64,
}

impl Rule for ScimMassRemoval {
    type Settings = Settings;

    const DOC: Doc = Doc {
        id: ID,
        summary: "One SCIM sync does not remove more than a set share of a protected group's members",
        severity: Severity::High,
        mode: None,
        runs: Runs::Everywhere,
        why: "A faulty IdP sync can empty a privileged group in one run, silently.",
        correction: "report the group and the counts; members are restored in the IdP",
        actions: &[&["identitystore:DescribeGroup", "identitystore:ListGroupMemberships"]],
    };

    const KEYS: &'static [&'static str] = &["share", "window"];

    const SCHEMA: &'static str = r#"{
        "share": { "type": "integer", "minimum": 1, "maximum": 99, "description": "percent of a protected group's members one sync may remove" },
        "window": { "type": "string", "description": "the window one sync's removals are counted in (PT1M to PT24H)", "pattern": "^PT(\\d+H)?(\\d+M)?(\\d+S)?$", "examples": ["PT15M"] }
    }"#;

    fn defaults(&self) -> Settings {
        Settings {
            share: 50,
            window: 15 * 60,
        }
    }

    fn read(&self, r: &mut Reader<'_>, t: &mut Table<'_, '_>, d: &Settings) -> Option<Settings> {
        let share = t
            .take("share")
            .map_or(Some(d.share), |v| read_count(r, v, &t.child("share"), 1..=99));
        let window = t
            .take("window")
            .map_or(Some(d.window), |v| read_window(r, v, &t.child("window")));
        Some(Settings {
            share: share?,
            window: window?,
        })
    }

    fn concerns(&self, change: &ChangeKind, _scope: Scope) -> bool {
        matches!(change, ChangeKind::Identity { op: IdentityOp::GroupPatched { removed, .. }, .. } if !removed.is_empty())
    }

    fn judge(&self, cx: Context<'_, Settings>) -> Verdict {
        let ChangeKind::Identity {
            op: IdentityOp::GroupPatched { group_id, removed },
            ..
        } = &cx.change.kind
        else {
            return Verdict::NotApplicable;
        };
        let s = cx.settings;
        let (Fact::Known(group), Some(at)) = (&cx.facts.scim.group, reference_time(&cx)) else {
            return Verdict::Undetermined(Missing {
                fact: MissingFact::ScimState,
                detail: format!(
                    "whether the group is protected, its members, and its removals within {} (the guard reads and \
                     counts them)",
                    window_text(s.window)
                ),
            });
        };
        if !group.protected {
            return Verdict::Pass;
        }
        let count = group.removals.count_within(at, s.window) as u64;
        let before = group.members_now as u64 + count;
        let over = |n: u64| n.saturating_mul(100) > s.share.saturating_mul(before);
        // The event whose removals carried the count over the share is the one finding;
        // earlier and later events of the same sync pass, as does one within a window reported.
        let earlier = count.saturating_sub(removed.len() as u64);
        if !over(count) || over(earlier) || group.removals.reported_within(at, s.window) {
            return Verdict::Pass;
        }
        let group_id = group_id.as_deref().unwrap_or("unknown");
        let name = group.group_name.as_deref().unwrap_or(group_id);
        let mut resource = crate::domain::Resource::new(ResourceKind::IdentityStore, "scim-provisioning");
        resource.principal_id = Some(group_id.to_owned());
        Verdict::Fail(Violation {
            message: format!(
                "SCIM removed {count} of the {before} members of the protected group {name} ({group_id}) within {} \
                 (up to {}; more than {}%): a faulty IdP sync can empty a group, and the access it gives, in one \
                 run. Check the IdP's provisioning log and the group's assignment to the IdP app; restore the \
                 members in the IdP if this was a mistake (a change made in AWS is overwritten by the next sync).",
                window_text(s.window),
                utc(at),
                s.share
            ),
            resource,
            remediation: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::domain::{GroupRemovals, ScimWindow};

    const AT: u64 = 1_772_359_200;

    fn judge(
        removed_now: usize,
        earlier: usize,
        members_now: usize,
        protected: bool,
        reported: Option<u64>,
    ) -> Verdict {
        let change = scim_patch_group(removed_now);
        let mut facts = facts_for(&change);
        let mut times = vec![AT - 120; earlier];
        times.extend(vec![AT; removed_now]);
        facts.scim.group = Fact::Known(GroupRemovals {
            group_name: Some("PlatformAdmins".into()),
            protected,
            members_now,
            removals: ScimWindow {
                times,
                reported_at: reported,
            },
        });
        ScimMassRemoval.evaluate(cx(&ScimMassRemoval, &change, &facts, &policy()))
    }

    #[test]
    fn the_removal_that_crosses_the_share_of_a_protected_group_is_the_finding() {
        // 6 of 10 in one PatchGroup.
        let Verdict::Fail(v) = judge(6, 0, 4, true, None) else {
            panic!()
        };
        assert!(
            v.message
                .contains("removed 6 of the 10 members of the protected group PlatformAdmins (g)"),
            "{}",
            v.message
        );
        assert_eq!(v.resource.principal_id.as_deref(), Some("g"));
        // Half is not more than half.
        assert_eq!(outcome(&judge(5, 0, 5, true, None)), Expect::Pass);
        // Spread over several PatchGroups: the one that crosses it.
        assert_eq!(outcome(&judge(2, 4, 4, true, None)), Expect::Fail);
        // Past the share already: a later event of the same sync passes.
        assert_eq!(outcome(&judge(1, 6, 3, true, None)), Expect::Pass);
        // Reported within the window.
        assert_eq!(outcome(&judge(6, 0, 4, true, Some(AT - 60))), Expect::Pass);
        // Not protected.
        assert_eq!(outcome(&judge(6, 0, 4, false, None)), Expect::Pass);
    }

    #[test]
    fn offline_the_group_is_unknown_and_additions_do_not_concern_it() {
        let change = scim_patch_group(3);
        check(
            &ScimMassRemoval,
            &change,
            &facts_for(&change),
            &policy(),
            Expect::Undetermined,
        );
        let added = scim_patch_group(0);
        check(
            &ScimMassRemoval,
            &added,
            &facts_for(&added),
            &policy(),
            Expect::NotApplicable,
        );
    }
}
