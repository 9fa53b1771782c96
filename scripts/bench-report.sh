#!/usr/bin/env bash
# Benchmark the access-review page (issue #18): a synthetic review of ACCOUNTS accounts x SETS
# permission sets (scripts/gen-review.py: every cell held by one to four groups, one in twenty
# also by a user directly, usage data on every assignment), rendered by
# `idc-guard report --from-json … --html …`, then loaded by headless Chromium.
#
# Measures (a) idc-guard's render time (its own figure, and the process's wall time and peak RSS
# including reading the model), (b) the page's size in bytes and gzipped, (c) the time Chromium
# takes to load, parse, draw the matrix and lay it out: the page's script writes
# `performance.now()` (from navigation start) into `data-rendered-ms` once the first matrix rows
# are laid out, read with --dump-dom; RUNS times (default 5), median reported; and the same with
# `#all` (every account drawn, as before printing). Target: under 2 s.
#
# Usage: scripts/bench-report.sh          (from anywhere)
# Env:   ACCOUNTS=N SETS=N RUNS=N BIN=path/to/idc-guard (default: $CARGO_TARGET_DIR/release/idc-guard,
#        else debug) CHROMIUM=/usr/bin/chromium
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
ACCOUNTS=${ACCOUNTS:-1000}
SETS=${SETS:-50}
RUNS=${RUNS:-5}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
if [[ -z ${BIN:-} ]]; then
    BIN=$TARGET_DIR/release/idc-guard
    [[ -x $BIN ]] || BIN=$TARGET_DIR/debug/idc-guard
fi
[[ -x $BIN ]] || { echo "bench-report: no idc-guard binary (build the workspace, or set BIN)" >&2; exit 2; }
[[ -x $CHROMIUM ]] || { echo "bench-report: $CHROMIUM not found (make browser)" >&2; exit 2; }

DATA=bench-data/report-${ACCOUNTS}x${SETS}
mkdir -p "$DATA"
if [[ ! -s $DATA/review.json || scripts/gen-review.py -nt $DATA/review.json ]]; then
    echo "== generating $DATA/review.json" >&2
    python3 scripts/gen-review.py --accounts "$ACCOUNTS" --sets "$SETS" > "$DATA/review.json"
fi

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), binary $BIN"
echo "== (a) render: idc-guard report --from-json $DATA/review.json --html $DATA/report.html"
echo "   the model: $(stat -c %s "$DATA/review.json") bytes of JSON"
if command -v /usr/bin/time > /dev/null; then
    /usr/bin/time -f "   process: wall %e s, peak RSS %M KB (reading the model included)" \
        "$BIN" report --from-json "$DATA/review.json" --html "$DATA/report.html"
else
    "$BIN" report --from-json "$DATA/review.json" --html "$DATA/report.html"
fi
size=$(stat -c %s "$DATA/report.html")
gz=$(gzip -9 -c "$DATA/report.html" | wc -c)
echo "== (b) page: $size bytes, $gz gzipped"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
load() { # load FRAGMENT: RUNS loads, one data-rendered-ms per line
    for _ in $(seq "$RUNS"); do
        timeout 300 "$CHROMIUM" --headless --no-sandbox --disable-gpu --user-data-dir="$DATA/profile" \
            --window-size=1400,1000 --dump-dom "file://$ROOT/$DATA/report.html$1" 2> /dev/null \
            | grep -o 'data-rendered-ms="[0-9.]*"' | grep -o '[0-9.]*' || echo "failed"
    done
}
for fragment in "" "#all"; do
    times=$(load "$fragment")
    echo "== (c) chromium, ${fragment:-first view}: ms to parse, draw and lay out: $(echo $times)"
    echo "   median $(echo "$times" | grep -v failed | median) ms (target 2000 ms for the first view)"
done
