//! Support for the integration tests, the demo and the benchmarks: where the repository's files
//! are, the fixtures, the AWS emulator and the [`world::World`] seeded in it.

use std::path::{Path, PathBuf};

use idc_guard::domain::{IdentityStoreId, InstanceArn};
use idc_guard::policy::Policy;

/// The instance the fixtures in `events/` belong to.
pub const FIXTURE_INSTANCE: &str = "arn:aws:sso:::instance/ssoins-7223b1c4d5e6f708";
/// A USER revert's mutating calls: the deletion, then the revocation of the role sessions it
/// issued (a statement in the set's inline policy, re-provisioned to that account; issue #14).
pub const REVERT_AND_REVOKE: [&str; 3] = [
    "DeleteAccountAssignment",
    "PutInlinePolicyToPermissionSet",
    "ProvisionPermissionSet",
];

/// The identity store the fixtures in `events/` belong to.
pub const FIXTURE_IDENTITY_STORE: &str = "d-9067a1b2c3";
/// The roles idc-guard runs as in the fixtures (as the template passes its own roles'
/// ARNs in `IDC_GUARD_OWN_ROLES`): their changes are idc-guard's echoes.
pub const FIXTURE_OWN_ROLES: [&str; 2] = [
    "arn:aws:iam::222222222222:role/idc-guard-assignment-guard",
    "arn:aws:iam::222222222222:role/idc-guard-identity-guard",
];

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// Every `events/*.json` fixture, sorted.
pub fn fixtures() -> Vec<PathBuf> {
    let dir = repo_root().join("events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// Whether a fixture is a CloudTrail event (its `detail` a CloudTrail record), not an AWS Health
/// notice (`events/health.*`, issue #16) nor an identity store notification
/// (`events/identitystore.notification.*`, issue #19), whose `detail` is no record.
pub fn is_cloudtrail_fixture(path: &Path) -> bool {
    !path.file_name().is_some_and(|n| {
        let name = n.to_string_lossy();
        name.starts_with("health.") || name.starts_with("identitystore.notification.")
    })
}

/// The shipped `guardrail.toml`, scoped to the fixtures' instance and identity store.
pub fn fixture_policy() -> Policy {
    let path = repo_root().join("policy/guardrail.toml");
    let mut policy = Policy::load(&path).unwrap_or_else(|e| panic!("{e}"));
    policy.instance_arn = InstanceArn::parse(FIXTURE_INSTANCE).ok();
    policy.identity_store_id = IdentityStoreId::parse(FIXTURE_IDENTITY_STORE).ok();
    policy
        .own_identity
        .role_arns
        .extend(FIXTURE_OWN_ROLES.iter().map(|r| (*r).to_owned()));
    policy
}

/// The verdict a fixture's name promises: the last `-`-separated word before `.json`.
pub fn promised_verdict(path: &Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    stem.rsplit('-').next().unwrap_or_default().to_owned()
}

/// The `idc-guard` binary, built once per test run with the same cargo and profile.
pub fn idc_guard_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let out = std::process::Command::new(cargo)
            .args([
                "build",
                "-q",
                "-p",
                "idc-guard-cli",
                "--bin",
                "idc-guard",
                "--message-format=json",
            ])
            .current_dir(repo_root())
            .output()
            .unwrap_or_else(|e| panic!("cannot run cargo build: {e}"));
        assert!(
            out.status.success(),
            "cargo build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find_map(|v| v["executable"].as_str().map(PathBuf::from))
            .unwrap_or_else(|| panic!("cargo did not report the idc-guard executable"))
    })
    .clone()
}
pub mod calls;
pub mod emulator;
pub mod proxy;
pub mod webhook;
pub mod world;

/// A finished command's exit status, standard output and standard error, for assertion messages.
pub fn shown(o: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
