//! IAM policy semantics for inline policies.
//!
//! [`PolicyDocument::parse`] reads a policy document strictly, and
//! [`forbidden_grants`] decides exactly, with IAM wildcard semantics on both
//! sides, whether an `Allow` statement grants any action covered by a
//! forbidden pattern such as `iam:*`. The underlying decision procedure is
//! [`witness`]. Both run on a fixed budget of work and answer [`TooComplex`]
//! when a document's wildcard patterns would need more, since the patterns
//! come from the people the guardrail polices.

mod document;
mod glob;
pub mod revocation;
#[cfg(test)]
mod tests;

pub use document::{ActionSpec, Effect, ForbiddenGrant, PolicyDocument, PolicyParseError, Statement, forbidden_grants};
pub use glob::{ActionPattern, MAX_STATES, MAX_STEPS, TooComplex, witness};
