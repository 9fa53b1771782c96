#!/usr/bin/env bash
# Benchmark the guard functions as Lambda runs them (BENCHMARKS.md section 3): API calls and wall
# time per kind of revert against the AWS emulator, init time (process start to the first Runtime
# API request) side by side with a boto3 handler, and peak RSS.
#
# The functions run with the safety rails configured (state table and kill switch), with the flap
# limit and the breaker raised for the benchmark's repetitions; the rails' own SSM and DynamoDB
# calls are counted apart from the guard's. The emulator, what is seeded in it and the counting
# proxy are the Rust test harness's (tests/src/world.rs, served by tests/src/bin/bench-world.rs).
#
# Builds the three guard functions in release once and the world's server (debug, as for
# `make demo`), makes sure the emulator's venv exists (`make venv`, a no-op when it is up to
# date), then runs scripts/bench-guard.py with the venv's Python (boto3, which moto brings, is the
# init comparison). Arguments are passed on to it, e.g.
#
#   scripts/bench-guard.sh --cold-starts 20 --repeats 5 --json bench-data/bench-guard.json
#
# Env: SKIP_BUILD=1 to reuse the binaries in target/release and target/debug/bench-world as they are.
# Exit status: 0 when everything was measured (a missed target prints FAIL), 2 on a harness error.
set -euo pipefail

cd "$(dirname "$0")/.."

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    echo "== cargo build --release -p assignment-guard -p permission-set-guard -p identity-guard" >&2
    cargo build --release --locked -p assignment-guard -p permission-set-guard -p identity-guard
    echo "== cargo build -p idc-guard-tests --bin bench-world" >&2
    cargo build --locked -p idc-guard-tests --bin bench-world
fi
make --no-print-directory -s venv

exec .venv/bin/python scripts/bench-guard.py "$@"
