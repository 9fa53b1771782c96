//! The drift reconciler: events are delivered best-effort; this is the safety net.
//!
//! A run takes the [inventory](crate::inventory), evaluates **every rule on the live state** (each
//! assignment, permission set and the ABAC configuration, as a synthetic [`Change`](crate::domain::Change) in
//! `Scope::Resource`), and diffs the live assignments against the desired-assignments file (the
//! `desired-assignments` rule: extra → delete, missing → create). The result is a [`Plan`], each
//! action with its reason.
//!
//! **Safety.** Nothing is planned for an account, permission set or principal whose read failed
//! (the report lists it). The plan is refused (reported, zero mutations, one finding) when the
//! desired file is invalid, resolves to no assignment, or would delete more than 5% of the live
//! assignments it governs; and when the plan holds more destructive actions than
//! max(10, 2% of the assignments).
//!
//! **Execution** goes through [`Guard::correct_planned`](crate::guard::Guard::correct_planned): the same gate (the safety rails'
//! kill switch, breaker, flap limit and idempotency in production), the same execution and the
//! same read-back verification as an event's correction, after a level-driven re-read of the
//! resource. The gate's flap window is the item an event and the reconciler contend on, so they
//! never both act on one (rule, resource) (see `crate::safety`).

mod plan;
mod report;
mod run;

use crate::desired::{self, DesiredFile, Names, Resolved, Unusable};
use crate::inventory::Inventory;
use crate::policy::PolicyError;

pub use plan::{Counts, Plan, PlanItem, plan};
pub use report::{Member, ProtectedGroupReport, ReportedAction, RunReport, UsageSummary};
pub use run::{RunOptions, run, run_surveyed, survey};

/// The `eventName` of the reconciler's synthetic changes.
pub const EVENT_NAME: &str = "Reconcile";
/// The role name the reconciler's changes carry as their actor.
pub const ACTOR: &str = "drift-reconciler";

/// The largest share of the governed live assignments the desired diff may delete.
pub const MAX_DESIRED_DELETE_SHARE: f64 = 0.05;
/// A plan may hold at most max([`DESTRUCTIVE_FLOOR`], [`DESTRUCTIVE_SHARE`] × assignments)
/// destructive actions.
pub const DESTRUCTIVE_FLOOR: usize = 10;
/// See [`DESTRUCTIVE_FLOOR`].
pub const DESTRUCTIVE_SHARE: f64 = 0.02;

/// The desired state, as far as it could be had.
#[derive(Debug, Clone)]
pub enum Desired {
    /// No desired file: only the policy's rules are enforced.
    Absent,
    /// The file is invalid or could not be resolved (the plan is refused).
    Unusable(String),
    /// Resolved to ids.
    Resolved(Resolved),
}

impl Desired {
    /// Resolves a parsed file (or its parse error) against the inventory.
    pub fn from_file(file: Option<Result<DesiredFile, PolicyError>>, inv: &Inventory) -> Self {
        match file {
            None => Self::Absent,
            Some(Err(e)) => Self::Unusable(e.to_string()),
            Some(Ok(file)) => match desired::resolve(&file, &Names::of(inv)) {
                Ok(resolved) => Self::Resolved(resolved),
                Err(e @ (Unusable::Invalid(_) | Unusable::Unknown(_))) => Self::Unusable(e.to_string()),
            },
        }
    }
}
