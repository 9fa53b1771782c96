#!/usr/bin/env bash
# Benchmark `idc-guard export` against `aws-sso-util admin assignments` on the same emulator
# (BENCHMARKS.md section 4): wall time, API calls, peak RSS; plus the full reconcile plan.
#
# Builds the CLI in release once and the test world's server (tests/src/bin/bench-world.rs, debug),
# which seeds the emulator and counts the calls (SKIP_BUILD=1 reuses target/release/idc-guard and
# target/debug/bench-world), makes sure the venv exists, then runs scripts/bench-export.py with the
# venv's Python (aws-sso-util from the venv). Arguments are passed on, e.g.
# `--json bench-data/bench-export.json`.
set -euo pipefail

cd "$(dirname "$0")/.."

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    echo "== cargo build --release -p idc-guard-cli" >&2
    cargo build --release --locked -p idc-guard-cli
    echo "== cargo build -p idc-guard-tests --bin bench-world" >&2
    cargo build --locked -p idc-guard-tests --bin bench-world
fi
make --no-print-directory -s venv

exec .venv/bin/python scripts/bench-export.py "$@"
