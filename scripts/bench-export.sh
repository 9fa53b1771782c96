#!/usr/bin/env bash
# Benchmark `idc-guard export` against `aws-sso-util admin assignments` on the same emulator
# (BENCHMARKS.md section 4): wall time, API calls, peak RSS; plus the full reconcile plan.
#
# Builds the CLI in release once (SKIP_BUILD=1 reuses target/release/idc-guard), makes sure the
# venv exists, then runs scripts/bench-export.py with the venv's Python (boto3 for seeding,
# aws-sso-util from the venv). Arguments are passed on, e.g. `--json bench-data/bench-export.json`.
set -euo pipefail

cd "$(dirname "$0")/.."

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    echo "== cargo build --release -p idc-guard-cli" >&2
    cargo build --release --locked -p idc-guard-cli
fi
make --no-print-directory -s venv

exec .venv/bin/python scripts/bench-export.py "$@"
