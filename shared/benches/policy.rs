//! The policy reader's cost: the shipped policy at cold start, a 10 MB policy, and a file full of
//! problems. Positions come from an index of line starts, so each stays linear in the file's size.
//!
//! Run: `cargo bench -p idc-guard --bench policy` (results go to BENCHMARKS.md). Targets: the
//! shipped policy in under 2 ms (it is read at every cold start); a 10 MB policy (thousands of
//! exceptions) in under 1 s, as `validate` reads it; 20,000 problems in a 200 KB file reported in
//! well under a second. The process exits 1 when a target is missed.

use std::hint::black_box;
use std::time::{Duration, Instant};

use idc_guard::policy::Policy;

/// The median of `samples` timings of `f`.
fn median(samples: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// A valid policy of about `bytes` bytes: the shipped one plus exceptions.
fn big_policy(bytes: usize) -> String {
    let mut text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../policy/guardrail.toml"))
        .expect("the shipped policy");
    let mut i = 0u64;
    while text.len() < bytes {
        text.push_str(&format!(
            "\n[[exceptions]]\nrule = \"assignment-principal-type\"\naccounts = [\"{:012}\"]\npermission_sets = [\"Team{i}*\"]\n\
             owner = \"team-{i}\"\nreason = \"exception {i}: an auditor without an IdP group until the audit ends\"\n\
             expires = 2099-12-31\n",
            100_000_000_000 + i
        ));
        i += 1;
    }
    text
}

/// A file of `count` problems (unknown keys, bad values), one per line.
fn problems(count: usize) -> String {
    let mut text = String::from("mode = \"enforce\"\n[permission_sets]\nprivileged = [\"*Admin*\"]\n");
    for i in 0..count / 2 {
        text.push_str(&format!("[[exceptions]]\nrule = \"nope-{i}\"\nexpires = \"soon\"\n"));
    }
    text
}

fn main() {
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../policy/guardrail.toml"))
        .expect("the shipped policy");
    let cold = median(51, || {
        black_box(Policy::from_toml("guardrail.toml", black_box(&shipped)).expect("valid"));
    });
    println!(
        "shipped policy ({} bytes): {:.3} ms (target < 2 ms)",
        shipped.len(),
        cold.as_secs_f64() * 1e3
    );

    let big = big_policy(10 * 1024 * 1024);
    let exceptions = big.matches("[[exceptions]]").count();
    let large = median(3, || {
        black_box(Policy::from_toml("big.toml", black_box(&big)).expect("valid"));
    });
    println!(
        "10 MB policy ({} bytes, {exceptions} exceptions): {:.3} s (target < 1 s)",
        big.len(),
        large.as_secs_f64()
    );

    let bad = problems(20_000);
    let mut reported = 0;
    let errors = median(3, || {
        let e = Policy::from_toml("bad.toml", black_box(&bad)).expect_err("invalid");
        reported = e.problems.len();
    });
    println!(
        "{reported} problems in {} bytes: {:.3} s",
        bad.len(),
        errors.as_secs_f64()
    );

    let missed = cold > Duration::from_millis(2) || large > Duration::from_secs(1) || errors > Duration::from_secs(1);
    if missed {
        eprintln!("a target was missed");
        std::process::exit(1);
    }
}
