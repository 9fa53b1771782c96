#!/usr/bin/env bash
# Function size and init time (BENCHMARKS.md section 5), for every functions/* crate:
#
# - size: `cargo lambda build --release --arm64` (the template's architecture; zig from the
#   venv cross-links), then each bootstrap zipped as `sam deploy` ships it. Target: under 6 MB.
# - init: the same code built natively (`cargo build --release`; this machine cannot run
#   aarch64), started under a minimal Lambda Runtime API stand-in (scripts/bench-guard.py's),
#   timed from exec to its first `GET /runtime/invocation/next`. Target: under 20 ms.
#
# Usage: scripts/bench-functions.sh [--cold-starts N] [--json FILE]
# Env:   SKIP_BUILD=1 to reuse target/lambda/*/bootstrap and target/release/* as they are.
# Exit status: 0 when everything was measured (a missed target prints FAIL), 2 on a harness error.
set -euo pipefail

cd "$(dirname "$0")/.."
make --no-print-directory -s venv
# cargo-lambda finds zig through `python3 -m ziglang`: the venv's python3 must come first.
export PATH="$PWD/.venv/bin:$PATH"

packages=()
for dir in functions/*/; do
    [[ -f $dir/Cargo.toml ]] && packages+=(-p "$(basename "$dir")")
done

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    echo "== cargo lambda build --release --arm64 ${packages[*]}" >&2
    cargo lambda build --release --arm64 --locked "${packages[@]}"
    echo "== cargo build --release ${packages[*]}" >&2
    cargo build --release --locked "${packages[@]}"
fi

exec .venv/bin/python scripts/bench-functions.py "$@"
