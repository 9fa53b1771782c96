//! The domain: the vocabulary every other module speaks, and nothing else. Identifiers, dates
//! and times, what changed and who changed it, what is known about a resource, what rules find,
//! the corrective actions they plan, and what became of them.
//!
//! This is the bottom layer (see ARCHITECTURE.md): it names no other module of the crate, does
//! no I/O, and knows neither AWS wire formats nor the policy file.

pub mod action;
pub mod entitlement;
pub mod facts;
pub mod finding;
pub mod ids;
pub mod model;
pub mod operation;
pub mod outcome;
pub mod pattern;
pub mod revocation;
pub mod scim;
pub mod time;
pub mod usage;

pub use action::{Action, Keep, ProvisionTarget, Removal};
pub use entitlement::{ACCOUNT_ACCESS_SCOPE, AccessScopeOp, Entitlement};
pub use facts::{DesiredFact, Fact, Facts, PermissionSetFacts, Scope};
pub use finding::{
    Evaluation, EventVerdict, Excepted, ExpiredException, Finding, IgnoreReason, MissingFact, Mode, Resource,
    ResourceKind, RuleId, Severity, Undetermined,
};
pub use ids::{
    AccessApplicationArn, AccountId, ApplicationArn, EntitlementId, IdError, IdentityStoreId, InstanceArn,
    PermissionSetArn, RoleArn,
};
pub use model::{
    AbacAttribute, AbacOp, Actor, Assignment, Boundary, Change, ChangeKind, CustomerManagedPolicyRef, EventMeta,
    EventSource, IdentityOp, InlinePolicyText, PermissionSetOp, PrincipalNames, PrincipalType, SessionDuration, Tag,
};
pub use operation::{OperationKind, OperationState, OperationStatus, StartedOperation};
pub use outcome::{Decision, Notice, Outcome, OutcomeKind};
pub use pattern::NamePattern;
pub use revocation::{Loss, Revocation, RevocationReport, RevocationStatus};
pub use scim::{GroupRemovals, ScimFacts, ScimSignal, ScimWindow};
pub use time::Date;
pub use usage::{AssignmentUsage, AssignmentUse, Channel, Dormancy, LastUse, Use, UseKey};
