"""Benchmark `idc-guard export` against `aws-sso-util admin assignments` (BENCHMARKS.md section 4).

Starts the AWS emulator (moto with idc-guard's extension) seeded with an organisation (120
accounts, 40 permission sets, 25 groups, 1,000 group assignments spread over random (account,
permission set, group) triples with a fixed seed) by the Rust test harness's world builder
(`bench-world export`, tests/src/bin/bench-world.rs, through scripts/bench-guard.py's `World`),
then runs, against the same server through its counting HTTP proxy:

- `idc-guard export --format csv` (the release binary), at the default pacing (15 sso-admin
  requests per second) and at `--rate 20` (Identity Center's collective limit), and with
  `--routed-owners` (one ListTagsForResource more per permission set);
- `aws-sso-util admin assignments` (the venv's, 4.33.0);
- `idc-guard scan --format json --assignments <the export as toml>`: the full reconcile plan
  (a dry run), for its time and calls.

Each is measured for wall time (perf_counter around the process), API calls (the proxy's count
of requests, by `X-Amz-Target` service) and peak RSS (VmHWM sampled from /proc; see `measure`). Both exports must
list the same 1,000 assignments. The world stops the emulator when this script closes its stdin.

Usage: .venv/bin/python scripts/bench-export.py [--json FILE] [--bin target/release/idc-guard]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The harness pieces shared with the guard benchmark: the seeded world (with its counting proxy),
# VmHWM.
_spec = importlib.util.spec_from_file_location("bench_guard", ROOT / "scripts" / "bench-guard.py")
assert _spec and _spec.loader
bg = importlib.util.module_from_spec(_spec)
sys.modules["bench_guard"] = bg
_spec.loader.exec_module(bg)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def measure(cmd: list[str], env: dict[str, str], world: Any) -> dict[str, Any]:
    """Runs `cmd` once: wall time, requests seen by the proxy, peak RSS.

    Peak RSS is the process's VmHWM, sampled every 2 ms until it exits. VmHWM belongs to the
    memory image the exec created, so it counts the measured program alone. (`ru_maxrss` from
    wait4 does not: Linux carries the forking Python process's high-water mark across the exec,
    so every program measured that way seemed to peak at this script's own size, about 65 MB.)
    """
    mark = world.mark()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            hwm = bg.vm_hwm_kib(proc.pid)
            if hwm is not None:
                peak[0] = max(peak[0], hwm)
            done.wait(0.002)

    t_rss = threading.Thread(target=sample)
    t_rss.start()
    out_chunks: list[bytes] = []
    err_chunks: list[bytes] = []
    t_out = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()))  # type: ignore[union-attr]
    t_err = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()))  # type: ignore[union-attr]
    t_out.start()
    t_err.start()
    _, status, _ = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    t_rss.join()
    t_out.join()
    t_err.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    calls = world.since(mark)
    return {
        "command": " ".join(cmd[:1] and [Path(cmd[0]).name] + cmd[1:]),
        "exit": proc.returncode,
        "wall_s": round(wall, 3),
        "calls": len(calls),
        "calls_by_service": dict(Counter(c.split(":")[0] for c in calls)),
        "calls_by_operation": dict(sorted(Counter(calls).items())),
        "peak_rss_mb": round(peak[0] * 1024 / 1e6, 1),
        "stdout": b"".join(out_chunks).decode(),
        "stderr": b"".join(err_chunks).decode()[-2000:],
    }


def rows_of(csv_text: str, principal: str, ps: str, account: str) -> set[tuple[str, str, str]]:
    return {(r[principal], r[ps], r[account]) for r in csv.DictReader(io.StringIO(csv_text))}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "target/release/idc-guard"))
    ap.add_argument("--sso-util", default=str(ROOT / ".venv/bin/aws-sso-util"))
    ap.add_argument("--accounts", type=int, default=120)
    ap.add_argument("--permission-sets", type=int, default=40)
    ap.add_argument("--groups", type=int, default=25)
    ap.add_argument("--assignments", type=int, default=1000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-export-"))
    # The world logs what it seeded, and how long that took, to stderr.
    world = bg.World(
        "export",
        *("--accounts", str(args.accounts), "--permission-sets", str(args.permission_sets)),
        *("--groups", str(args.groups), "--assignments", str(args.assignments)),
    )
    try:
        region = world.info["region"]
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(workdir),
            "AWS_ENDPOINT_URL": world.proxy_endpoint,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        results: dict[str, Any] = {}
        results["idc-guard export (15/s)"] = measure([args.bin, "export", "--format", "csv"], env, world)
        results["idc-guard export --rate 20"] = measure([args.bin, "export", "--format", "csv", "--rate", "20"], env, world)
        results["idc-guard export --routed-owners"] = measure(
            [args.bin, "export", "--format", "csv", "--routed-owners"], env, world
        )
        results["aws-sso-util admin assignments"] = measure([args.sso_util, "admin", "assignments"], env, world)
        toml = measure([args.bin, "export", "--format", "toml"], env, world)
        (workdir / "assignments.toml").write_text(toml["stdout"])
        results["idc-guard scan (full plan, dry run)"] = measure(
            [args.bin, "scan", "--format", "json", "--assignments", str(workdir / "assignments.toml")], env, world
        )
        # Both exports list the same assignments.
        ours = rows_of(results["idc-guard export (15/s)"]["stdout"], "principal_name", "permission_set_name", "account_id")
        theirs = rows_of(
            results["aws-sso-util admin assignments"]["stdout"], "principal_name", "permission_set_name", "target_id"
        )
        if len(ours) != args.assignments or ours != theirs:
            log(f"MISMATCH: idc-guard {len(ours)} rows, aws-sso-util {len(theirs)} rows, "
                f"{len(ours ^ theirs)} differ")
            for name, r in results.items():
                log(f"{name}: exit {r['exit']}; stderr: {r['stderr']}")
            return 2
        scan = json.loads(results["idc-guard scan (full plan, dry run)"]["stdout"])
        sso_calls = results["idc-guard scan (full plan, dry run)"]["calls_by_service"].get("sso-admin", 0)
        summary = {
            "world": {**vars(args), "json": None, "pairs": world.info["pairs"]},
            "results": {k: {kk: vv for kk, vv in v.items() if kk not in ("stdout",)} for k, v in results.items()},
            "scan": {
                "planned": scan["counts"]["planned"],
                "protected_groups": scan["counts"]["protected_groups"],
                "strategy": scan["strategy"],
                "sso_admin_calls": sso_calls,
                "seconds_at_20_per_s": round(sso_calls / 20, 1),
            },
        }
        print_table(summary)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(summary, indent=2))
        return 0
    finally:
        world.close()


def print_table(s: dict[str, Any]) -> None:
    r = s["results"]
    print(f"{'run':<40} {'wall s':>8} {'calls':>6} {'sso-admin':>9} {'idstore':>8} {'orgs':>5} {'peak RSS MB':>11}")
    for name, v in r.items():
        b = v["calls_by_service"]
        print(
            f"{name:<40} {v['wall_s']:>8.2f} {v['calls']:>6} {b.get('sso-admin', 0):>9} "
            f"{b.get('identitystore', 0):>8} {b.get('organizations', 0):>5} {v['peak_rss_mb']:>11.1f}"
        )
    ours, theirs = r["idc-guard export (15/s)"], r["aws-sso-util admin assignments"]
    print(f"export vs aws-sso-util: {theirs['wall_s'] / ours['wall_s']:.1f}x faster, "
          f"{ours['calls'] / theirs['calls']:.2f} of the calls, peak RSS {ours['peak_rss_mb']} MB")
    fast = r["idc-guard export --rate 20"]
    print(f"export --rate 20 vs aws-sso-util: {theirs['wall_s'] / fast['wall_s']:.1f}x faster")
    sc = s["scan"]
    print(f"full reconcile plan: {r['idc-guard scan (full plan, dry run)']['wall_s']} s, {sc['sso_admin_calls']} sso-admin "
          f"calls = {sc['seconds_at_20_per_s']} s at 20 requests/s on AWS (strategy {sc['strategy']}, "
          f"{sc['planned']} planned, {sc['protected_groups']} protected groups' members read)")


if __name__ == "__main__":
    sys.exit(main())
