#!/usr/bin/env bash
# The bulk-change benchmark (BENCHMARKS.md section 7, `make bench-burst`): a Terraform-like apply
# (boto3, standard retries, the provider's waiters, parallelism 10) against the throttling
# emulator, measured in one run without idc-guard, with it as template.yaml deploys it (SQS queues,
# event source mappings, paced guards), and with the previous design (commit 907c442: EventBridge
# invoking each guard once per event, asynchronously).
#
# Builds, unless SKIP_BUILD=1:
#   - the three guards in release (target/release), as scripts/bench-guard.sh does;
#   - the previous design's three guards in release from a git worktree of BEFORE_COMMIT
#     (default 907c442) at BEFORE_TREE (default ../wt-before), into BEFORE_TARGET (default
#     target-before/): the worktree is added if missing; cargo reuses an earlier build (a first
#     build takes about 16 minutes on 2 cores);
# then makes sure the emulator's venv exists (`make venv`) and runs scripts/bench-burst.py with the
# venv's Python. Arguments are passed on to it, e.g.
#
#   scripts/bench-burst.sh --json bench-data/bench-burst.json
#   scripts/bench-burst.sh --skip-before            # without and with only (no worktree build)
#   scripts/bench-burst.sh --time-scale 0.3         # the apply compressed until it saturates the budget
#
# Exit status: 0 when everything was measured (a missed target prints FAIL), 2 on a harness error.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

BEFORE_COMMIT=${BEFORE_COMMIT:-907c442}
BEFORE_TREE=${BEFORE_TREE:-$ROOT/../wt-before}
BEFORE_TARGET=${BEFORE_TARGET:-$ROOT/target-before}
GUARDS=(-p assignment-guard -p permission-set-guard -p identity-guard)

skip_before=0
for arg in "$@"; do
    [[ $arg == --skip-before ]] && skip_before=1
done

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    echo "== cargo build --release ${GUARDS[*]}" >&2
    cargo build --release --locked "${GUARDS[@]}"
    if [[ $skip_before != 1 ]]; then
        if [[ ! -e $BEFORE_TREE/.git ]]; then
            echo "== git worktree add --detach $BEFORE_TREE $BEFORE_COMMIT" >&2
            git worktree add --detach "$BEFORE_TREE" "$BEFORE_COMMIT"
        fi
        head=$(git -C "$BEFORE_TREE" rev-parse HEAD)
        want=$(git rev-parse "$BEFORE_COMMIT^{commit}")
        if [[ $head != "$want" ]]; then
            echo "bench-burst: $BEFORE_TREE is at $head, not $BEFORE_COMMIT ($want)" >&2
            exit 2
        fi
        echo "== (in $BEFORE_TREE) CARGO_TARGET_DIR=$BEFORE_TARGET cargo build --release ${GUARDS[*]}" >&2
        (cd "$BEFORE_TREE" && CARGO_TARGET_DIR=$BEFORE_TARGET cargo build --release --locked "${GUARDS[@]}")
    fi
fi
make --no-print-directory -s venv

exec .venv/bin/python scripts/bench-burst.py --before-commit "$BEFORE_COMMIT" \
    --before-binaries "$BEFORE_TARGET/release" "$@"
