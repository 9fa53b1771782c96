#!/usr/bin/env bash
# Benchmark `idc-guard usage` over 1,000,000 CloudTrail records, plain and gzipped, side by side
# with a Python baseline doing the same aggregation (scripts/bench-usage-baseline.py).
#
# Targets (issue #17): under 10 s wall time and under 100 MB peak RSS for 1,000,000 records.
# Builds the CLI in release once, generates bench-data/usage-<N>k/ and bench-data/usage-<N>k-gz/
# with `scripts/gen-cloudtrail-log.py --usage` (FILES log files each, as S3 holds a trail's
# files; deterministic; regenerated only when missing or older than the fixtures or the
# generator), checks once that idc-guard and the baseline find the same last uses, then times
# RUNS runs of idc-guard per input (default 3; the median is judged) and BASELINE_RUNS of the
# baseline (default 1) under /usr/bin/time -v, or a Python wrapper sampling VmHWM without it.
#
# Usage: scripts/bench-usage.sh            (from anywhere; works in the repository root)
# Env:   RECORDS=N  FILES=N  RUNS=N  BASELINE_RUNS=N  SKIP_BUILD=1
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
RECORDS=${RECORDS:-1000000}
FILES=${FILES:-100}
RUNS=${RUNS:-3}
BASELINE_RUNS=${BASELINE_RUNS:-1}
TARGET_SECS=10
TARGET_MB=100 # decimal megabytes
DATA=bench-data
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/idc-guard

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    echo "== cargo build --release -p idc-guard-cli" >&2
    cargo build --release -p idc-guard-cli
fi
[[ -x $BIN ]] || { echo "bench-usage: $BIN not found" >&2; exit 2; }

name=usage-$((RECORDS / 1000))k
PLAIN=$DATA/$name
GZ=$DATA/$name-gz
stale() { # stale DIR: missing, or older than a fixture or the generator
    [[ ! -f $1/.complete ]] && return 0
    [[ -n $(find events scripts/gen-cloudtrail-log.py -newer "$1/.complete" -print -quit) ]]
}
generate() { # generate DIR [--gzip]
    rm -rf "$1"
    scripts/gen-cloudtrail-log.py "$1" --usage --records "$RECORDS" --files "$FILES" "${@:2}"
    touch "$1/.complete"
}
if stale "$PLAIN"; then generate "$PLAIN"; fi
if stale "$GZ"; then generate "$GZ" --gzip; fi

# measure CMD... -> prints "<wall seconds> <max RSS KiB> <user s> <sys s> <exit status>"
if [[ -x /usr/bin/time ]]; then
    MEASURED_WITH="/usr/bin/time -v"
    measure() {
        local log status=0
        log=$(mktemp)
        /usr/bin/time -v -o "$log" "$@" >/dev/null 2>/dev/null || status=$?
        awk -v status="$status" -F': ' '
            /Elapsed \(wall clock\) time/ {
                n = split($NF, p, ":"); wall = 0
                for (i = 1; i <= n; i++) wall = wall * 60 + p[i]
            }
            /Maximum resident set size/ { rss = $NF }
            /User time \(seconds\)/ { user = $NF }
            /System time \(seconds\)/ { sys = $NF }
            END { printf "%.2f %d %.2f %.2f %d\n", wall, rss, user, sys, status }' "$log"
        rm -f "$log"
    }
else
    # VmHWM of the exec'd image, sampled from /proc every 2 ms (getrusage of children would
    # carry the Python wrapper's own high-water mark across exec).
    MEASURED_WITH="python3 wrapper: time.perf_counter, /proc/PID/status VmHWM sampled every 2 ms"
    measure() {
        python3 - "$@" <<'PY'
import resource, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
hwm = 0
while child.poll() is None:
    try:
        with open(f"/proc/{child.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    hwm = max(hwm, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.002)
wall = time.perf_counter() - start
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall:.3f} {hwm} {ru.ru_utime:.2f} {ru.ru_stime:.2f} {child.returncode}")
PY
    }
fi

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }'; }

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(rustc --version), $(python3 --version)"
echo "== measured with: $MEASURED_WITH; idc-guard $RUNS runs per input, baseline $BASELINE_RUNS"
echo "== idc-guard: ${BIN#"$ROOT/"} usage --format csv DIR/*.json[.gz] > /dev/null"
echo "== baseline:  python3 scripts/bench-usage-baseline.py DIR/*.json[.gz] > /dev/null"

# A sanity pass (also warms the page cache): both find the same last use for every key; every
# record is read and none is unreadable.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
"$BIN" usage --format csv "$PLAIN"/*.json >"$tmp/idc-guard.csv" 2>"$tmp/idc-guard.err" || status=$?
python3 scripts/bench-usage-baseline.py "$PLAIN"/*.json >"$tmp/baseline.csv"
summary=$(tail -n 1 "$tmp/idc-guard.err")
echo "== sanity: $summary; exit status $status"
cut -d, -f1-4 "$tmp/idc-guard.csv" >"$tmp/a"
cut -d, -f1-4 "$tmp/baseline.csv" >"$tmp/b"
if [[ $status != 0 ]] || ! grep -q "^idc-guard usage: $RECORDS records read, " <<<"$summary" || ! cmp -s "$tmp/a" "$tmp/b"; then
    echo "bench-usage: FAIL: expected exit 0, $RECORDS records read, and the baseline's last uses" >&2
    diff "$tmp/a" "$tmp/b" | head -5 >&2 || true
    exit 2
fi
echo "== sanity: idc-guard and the baseline agree on $(($(wc -l <"$tmp/a") - 1)) last uses"

overall=PASS
# run LABEL RUNS JUDGE CMD... : times RUNS runs; prints each and the median; JUDGE=1 judges it.
run() {
    local label=$1 runs=$2 judge=$3
    shift 3
    local walls=() rsss=() wall rss user sys status
    for i in $(seq 1 "$runs"); do
        read -r wall rss user sys status < <(measure "$@")
        printf '%-9s run %d: wall %6.2f s  user %5.2f s  sys %5.2f s  peak RSS %7.1f MB  exit %d\n' \
            "$label" "$i" "$wall" "$user" "$sys" "$(mb "$rss")" "$status"
        [[ $status == 0 ]] || { echo "$label: exit status $status: FAIL" >&2; overall=FAIL; }
        walls+=("$wall") rsss+=("$rss")
    done
    local wall_med rss_max rate
    wall_med=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    rss_max=$(printf '%s\n' "${rsss[@]}" | sort -g | tail -n 1)
    rate=$(awk -v n="$RECORDS" -v w="$wall_med" 'BEGIN { printf "%.0f", (w > 0 ? n / w : 0) }')
    local verdict=""
    if [[ $judge == 1 ]]; then
        local w r
        w=$(awk -v x="$wall_med" -v t="$TARGET_SECS" 'BEGIN { print (x < t ? "PASS" : "FAIL") }')
        r=$(awk -v x="$(mb "$rss_max")" -v t="$TARGET_MB" 'BEGIN { print (x < t ? "PASS" : "FAIL") }')
        verdict=" (targets < ${TARGET_SECS} s: $w, < ${TARGET_MB} MB: $r)"
        [[ $w == PASS && $r == PASS ]] || overall=FAIL
    fi
    echo "$label median wall ${wall_med} s, ${rate} records/s, peak RSS $(mb "$rss_max") MB$verdict"
}

for dir in "$PLAIN" "$GZ"; do
    files=("$dir"/*.json*)
    size=$(du -sb "$dir" | cut -f1)
    echo
    echo "-- $dir: ${#files[@]} files, $((size / 1000000)) MB on disk, $RECORDS records"
    run idc-guard "$RUNS" 1 "$BIN" usage --format csv "${files[@]}"
    run baseline "$BASELINE_RUNS" 0 python3 scripts/bench-usage-baseline.py "${files[@]}"
done
echo
echo "== idc-guard usage, $RECORDS CloudTrail records: $overall"
[[ $overall == PASS ]]
