//! idc-guard's integration tests: one binary, one module per concern.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

// The CLI as a user runs it: exit codes, formats, stdin, log files.
mod cli;
// Every fixture in events/ gets the verdict its name promises.
mod fixtures;
// The shipped policy file and policy error reporting.
mod policy_file;
// Mutated and random input to the decoder and the policy parser: errors, never panics.
mod robustness;
