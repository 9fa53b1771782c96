"""Size and init time of every function (BENCHMARKS.md section 5). Run by scripts/bench-functions.sh.

    .venv/bin/python scripts/bench-functions.py [--cold-starts N] [--json FILE] [--only NAME...] [--init-only]

Size: each `target/lambda/<function>/bootstrap` (cargo lambda build --release --arm64) zipped
with deflate, as `sam deploy` packages it; the zip's size is judged against 6 MB (6,000,000 B).

Init: each native release binary (`target/release/<function>`) is started N times (interleaved,
after one unrecorded warm-up round) under the minimal Lambda Runtime API of
scripts/bench-guard.py; init is the time from exec to the first `GET /runtime/invocation/next`,
judged on the median against 20 ms. The guards get the environment the template gives them
(policy file, state table, kill switch, limits, topic); slack-notifier gets its webhook
secret, which it reads from the emulator's Secrets Manager during init (one GetSecretValue);
usage-recorder gets the state table only.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
SIZE_TARGET_BYTES = 6_000_000
INIT_TARGET_MS = 20.0
EM_MACHINE_AARCH64 = 183

spec = importlib.util.spec_from_file_location("bench_guard", ROOT / "scripts" / "bench-guard.py")
assert spec and spec.loader
bg = importlib.util.module_from_spec(spec)
sys.modules["bench_guard"] = bg
spec.loader.exec_module(bg)


def functions() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "functions").glob("*/Cargo.toml"))


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        raise bg.HarnessError(f"{path} is not an ELF binary")
    return int.from_bytes(header[18:20], "little")


def sizes(names: list[str], workdir: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for name in names:
        bootstrap = TARGET / "lambda" / name / "bootstrap"
        if not bootstrap.exists():
            raise bg.HarnessError(f"{bootstrap} is missing: run without SKIP_BUILD=1")
        if elf_machine(bootstrap) != EM_MACHINE_AARCH64:
            raise bg.HarnessError(f"{bootstrap} is not an aarch64 binary")
        archive = workdir / f"{name}.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = 0o755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, bootstrap.read_bytes())
        out[name] = {"bootstrap_bytes": bootstrap.stat().st_size, "zip_bytes": archive.stat().st_size}
    return out


def write_policy(workdir: Path) -> Path:
    path = workdir / "guardrail.toml"
    path.write_text((ROOT / "policy" / "guardrail.toml").read_text())
    return path


def env_for(name: str, runtime: Any, endpoint: str, policy: Path, secret_arn: str, topic_arn: str) -> dict[str, str]:
    env = bg.function_env(name, runtime, endpoint, policy)
    if name == "slack-notifier":
        env = {k: v for k, v in env.items() if not k.startswith("IDC_GUARD_")}
        env["IDC_GUARD_SLACK_SECRET"] = secret_arn
    elif name == "usage-recorder":
        # The template gives it the state table only (config::variables_of(UsageRecorder)).
        env = {k: v for k, v in env.items() if not k.startswith("IDC_GUARD_") or k == "IDC_GUARD_STATE_TABLE"}
    else:
        env["IDC_GUARD_TOPIC_ARN"] = topic_arn
    return env


def cold_start(name: str, endpoint: str, policy: Path, workdir: Path, secret_arn: str, topic_arn: str) -> float:
    runtime = bg.RuntimeApi(name)
    log_path = workdir / f"{name}.log"
    env = env_for(name, runtime, endpoint, policy, secret_arn, topic_arn)
    proc = None
    try:
        with open(log_path, "wb") as out:
            start = bg.time.perf_counter()
            proc = bg.subprocess.Popen(
                [str(TARGET / "release" / name)], stdin=bg.subprocess.DEVNULL, stdout=out, stderr=bg.subprocess.STDOUT, env=env
            )
        deadline = bg.time.monotonic() + bg.INIT_DEADLINE_S
        while not runtime.first_next.wait(0.01):
            if proc.poll() is not None or runtime.init_errors:
                raise bg.HarnessError(f"{name} ended its init without GET /next; log {log_path}")
            if bg.time.monotonic() > deadline:
                raise bg.HarnessError(f"{name}: no GET /next within {bg.INIT_DEADLINE_S:.0f} s; log {log_path}")
        return (runtime.first_next_at - start) * 1000
    finally:
        bg.stop_process(proc)
        runtime.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-starts", type=int, default=20)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="measure only these functions")
    parser.add_argument(
        "--init-only", action="store_true", help="skip the arm64 sizes (no cross-built bootstraps needed)"
    )
    args = parser.parse_args()
    names = functions()
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            raise SystemExit(f"no such function: {', '.join(unknown)} (functions/*: {', '.join(names)})")
        names = [n for n in names if n in args.only]
    with tempfile.TemporaryDirectory(prefix="bench-functions-") as tmp:
        workdir = Path(tmp)
        size = (
            {n: {"bootstrap_bytes": 0, "zip_bytes": 0} for n in names} if args.init_only else sizes(names, workdir)
        )
        emulator = bg.Emulator(workdir)
        try:
            import boto3

            session = boto3.session.Session(
                aws_access_key_id="testing", aws_secret_access_key="testing", region_name=bg.REGION
            )
            secret_arn = session.client("secretsmanager", endpoint_url=emulator.endpoint).create_secret(
                Name="idc-guard/slack", SecretString=json.dumps({"default": "http://127.0.0.1:9/never"})
            )["ARN"]
            topic_arn = session.client("sns", endpoint_url=emulator.endpoint).create_topic(Name="idc-guard-findings")[
                "TopicArn"
            ]
            policy = write_policy(workdir)
            init: dict[str, list[float]] = {n: [] for n in names}
            for round_ in range(args.cold_starts + 1):
                for name in names:
                    ms = cold_start(name, emulator.endpoint, policy, workdir, secret_arn, topic_arn)
                    if round_ > 0:
                        init[name].append(ms)
        finally:
            emulator.close()

    results = {}
    print(f"{'function':<22} {'bootstrap B':>12} {'zip B':>11} {'size':>5}   "
          f"{'init median ms':>14} {'p90':>6} {'min':>6} {'max':>6} {'init':>5}")
    for name in names:
        values = init[name]
        s = bg.summary(values)
        size_ok = args.init_only or size[name]["zip_bytes"] < SIZE_TARGET_BYTES
        init_ok = s["median"] < INIT_TARGET_MS
        results[name] = {**size[name], "init_ms": s, "size_pass": size_ok, "init_pass": init_ok}
        print(
            f"{name:<22} {size[name]['bootstrap_bytes']:>12,} {size[name]['zip_bytes']:>11,} "
            f"{'n/a' if args.init_only else 'PASS' if size_ok else 'FAIL':>5}   {s['median']:>14.1f} {s['p90']:>6.1f} {s['min']:>6.1f} "
            f"{s['max']:>6.1f} {'PASS' if init_ok else 'FAIL':>5}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"cold_starts": args.cold_starts, "functions": results}, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except bg.HarnessError as e:
        print(f"harness error: {e}", file=sys.stderr)
        sys.exit(2)
