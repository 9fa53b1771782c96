//! idc-guard: a guardrail for AWS IAM Identity Center.
//!
//! CloudTrail events about sso-admin and identity-store changes are decoded by [`event`] into a
//! typed, source-agnostic [`model::Change`]; the [`engine`] decides whether the change is acted
//! upon at all and evaluates the pure [`rules`] against it and the [`facts`] known about the
//! resource, under the [`policy`] loaded from `guardrail.toml`.
//!
//! Invariants (see ARCHITECTURE.md): rules do no I/O and cannot fail (a missing fact is a skip,
//! never an error); only [`event`] reads CloudTrail JSON; only adapters (arriving with the
//! remediation work) name AWS SDK types.
#![warn(missing_docs)]

pub mod adapters;
pub mod date;
pub mod desired;
pub mod engine;
pub mod event;
pub mod facts;
pub mod guard;
pub mod iam;
pub mod ids;
pub mod inventory;
pub mod lambda;
pub mod live;
pub mod model;
pub mod notify;
pub mod pace;
pub mod pattern;
pub mod policy;
pub mod ports;
pub mod reconcile;
pub mod report;
pub mod retry;
pub mod routing;
pub mod rules;
pub mod safety;
