//! idc-guard's integration tests: one binary, one module per concern.

// The CLI as a user runs it: exit codes, formats, stdin, log files.
mod cli;
// Every fixture in events/ gets the verdict its name promises.
mod fixtures;
// The shipped policy file and policy error reporting.
mod policy_file;
// Mutated and random input to the decoder and the policy parser: errors, never panics.
mod robustness;
