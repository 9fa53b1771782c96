//! idc-guard: a guardrail for AWS IAM Identity Center.
//!
//! CloudTrail events about sso-admin and identity-store changes are decoded by [`event`] into a
//! typed, source-agnostic [`domain::Change`]; the [`engine`] decides whether the change is acted
//! upon at all and evaluates the pure [`rules`] against it and the facts known about the
//! resource, under the [`policy`] loaded from `guardrail.toml`. The [`guard`] corrects what
//! violates through the [`ports`], behind the [`safety`] rails, and [`notify`] tells the owners;
//! the [`reconcile`]r catches what events missed. [`adapters`] implement the ports with the AWS
//! SDK, and [`wiring`] builds it all from a [`config::Config`] for the functions and the CLI.
//!
//! The modules form layers, each using only those below it (ARCHITECTURE.md lists the order, and
//! a test checks every `use crate::…`): domain, iam, spanned, rules, policy, event, engine,
//! report, ports, retry, pace, remediation, guard, safety, notify, inventory, hygiene, desired,
//! reconcile, review, metrics, routing, adapters, config, wiring, doctor, lambda.
//!
//! Invariants (see ARCHITECTURE.md): rules do no I/O and cannot fail (a missing fact is a skip,
//! never an error); only [`event`] reads CloudTrail JSON; only [`adapters`] name AWS SDK types.
#![warn(missing_docs)]

pub mod adapters;
pub mod config;
pub mod desired;
pub mod doctor;
pub mod domain;
pub mod engine;
pub mod event;
pub mod guard;
pub mod hygiene;
pub mod iam;
pub mod inventory;
#[cfg(feature = "lambda")]
pub mod lambda;

#[cfg(test)]
mod layering;
pub mod metrics;
pub mod notify;
pub mod pace;
pub mod policy;
pub mod ports;
pub mod reconcile;
pub mod remediation;
pub mod report;
pub mod retry;
pub mod review;
pub mod revocation;
pub mod routing;
pub mod rules;
pub mod safety;
pub mod spanned;
pub mod usage;
pub mod wiring;
