//! idc-guard's integration tests: one binary, one module per concern.
// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

// The CLI as a user runs it: exit codes, formats, stdin, log files.
mod cli;
// The SDK adapters against injected faults: retries, polling, pagination, error classes.
mod faults;
// Every fixture in events/ gets the verdict its name promises.
mod fixtures;
// The shipped policy file and policy error reporting.
mod policy_file;
// Mutated and random input to the decoder and the policy parser: errors, never panics.
mod robustness;
// The AWS emulator (moto + tests/emulator/idc_guard_moto.py) through the Rust SDK.
mod emulator;
// The emulator's limits mode (Identity Center's collective rate, outstanding assignment
// operations), its request log and CloudTrail records, through the Rust SDK.
mod limits;
// The emulator's asynchronous-operation status listings and member-account policies (provisioning
// that fails for a missing customer managed policy), through the Rust SDK.
mod provisioning_emulator;
// The remediation engine against the emulator, rule by rule.
mod guard;
// The access paths outside permission sets (issue #19): entitlements and application access
// scopes judged and corrected by the guard.
mod access_paths;
// Batches (issue #15): triage before reading, one read per resource, one report per event.
mod batch;
// Provisioning that did not happen (issue #16): operations followed to their end by the guards,
// accounts left at an older version re-provisioned by the reconciler.
mod provisioning;
// The safety rails (kill switch, flap limit, breaker, idempotency) against the emulator, with
// DynamoDB faults and property tests over concurrent duplicate deliveries.
mod safety;
// Notifications: SNS against the emulator (both message forms, attributes, filter policies),
// duplicate deliveries publishing once.
mod notify;
// A guard function as a real binary under cargo lambda watch.
mod function;
// What a removal does to live sessions: revocation statements, their expiry, `revoke`.
mod revocation;
// Every call the guards and the reconciler make is granted to their role.
mod permissions;
// The drift reconciler: drift both ways, OU targets, refusals, a failing page, the race with an
// event, export round trip.
mod reconcile;
// Permission-set hygiene (issue #16): orphaned sets, sets provisioned without assignment,
// near-duplicate clusters, through `idc-guard sets` and `scan`.
mod hygiene;
// Last use per assignment (issue #17): the usage store's conditional writes, partitions and
// pages through the DynamoDB adapter against the emulator.
mod usage_recorder;
// SCIM health (issue #16): refused SCIM calls, the token's expiry notice, silence, mass removals,
// with the guard's state in the emulator's DynamoDB.
mod scim;
// Identity store notifications (issue #19): one change delivered by CloudTrail and by the
// identity store, in either order or at once, reported once; replica Regions' copies ignored.
mod identity_notifications;
// Dormant access (issue #17): usage recorded in the emulator's DynamoDB, joined onto the live
// assignments by the reconciler; GROUP, USER and no-data cases; enforce through the gate.
mod dormant;
// The access-review page (issue #18): `idc-guard report --html` against the emulator, its DOM
// and a screenshot in headless Chromium, hostile names from the identity provider.
mod report_html;
// `idc-guard usage` (issue #17): last use per user, permission set and account from CloudTrail
// log files, with late, duplicate, failed and malformed records; `--live` against the emulator.
mod usage_offline;
// `idc-guard doctor` (issue #18): a healthy and a broken deployment in the emulator, usage
// errors, and the template's names.
mod doctor;
// The deployment (template.yaml, the management-account forwarder) against the code: resources
// per crate, environment, least-privilege roles, invocation permissions, and the rules' event
// patterns, statically and through the emulator's event bus.
mod template;
// Metrics and the dashboard (issue #18): the dashboard against metrics::METRICS and the stack's
// queues, and the EMF lines of a guard's corrections and withholdings against the emulator.
mod dashboard;
// Security Hub (issue #18): every finding in ASFF through the emulator's Security Hub, read back
// with GetFindings: statuses per outcome, one finding per (rule, resource), publication off by
// default, refused findings, batches of 100, and the template's conditional grant.
mod securityhub;
// The emulator's account access manager (issue #19) through aws-sdk-accountaccess.
mod emulator_account_access;
// The emulator's sso-admin customer managed applications and access scopes (issue #19).
mod emulator_application_scopes;
// The drift reconciler on the access paths outside permission sets (issue #19): entitlements
// and applications with account access found and corrected, unknown reads planning nothing.
mod reconcile_entitlements;
