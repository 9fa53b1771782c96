#!/usr/bin/env python3
"""Benchmark the guard functions as Lambda runs them: API calls and wall time per revert, init, memory.

    .venv/bin/python scripts/bench-guard.py [--cold-starts N] [--repeats N] [--json FILE]

Run it through scripts/bench-guard.sh, which builds the three release binaries and the test
world's server first. Python 3.11 standard library, plus boto3 (moto brings it into .venv) for the
boto3 comparison.

The organisation, the emulator and the call counting are the Rust test harness's
(tests/src/world.rs, served by tests/src/bin/bench-world.rs, the same builder the integration
tests and `make demo` use): this script starts `bench-world guard` and asks it over a pipe for
each violation's event and for the calls counted around each invocation. What stays here is what
has no counterpart there: the Lambda Runtime API stand-in, starting and timing the functions and
the boto3 handler, and the report. scripts/bench-export.py and scripts/bench-functions.py use
these pieces too.

The functions run with the safety rails configured as deployed: the state table
`IDC_GUARD_STATE_TABLE` (DynamoDB, keys pk/sk, TTL attribute expires_at) and the kill switch
`IDC_GUARD_KILL_SWITCH` (SSM, value `enforce`), both created by the world before any function
starts. The benchmark repeats every kind of revert on the same resource (5 events in each
of two passes) and makes 70 remediations within a few minutes, so the flap limit (default 3/1h)
and the breaker (default 20/10m) would withhold most of them: it sets IDC_GUARD_FLAP_LIMIT and
IDC_GUARD_BREAKER_LIMIT to 1000 per the same windows. Every other rail (kill switch, idempotency
claim, the counting itself) runs as in production.

What it starts, all on 127.0.0.1 and free ports, and stops at the end (also on errors):
- `target/debug/bench-world guard`: the AWS emulator (moto + idc-guard's sso-admin extension),
  seeded, and a counting HTTP proxy in front of it (`AWS_ENDPOINT_URL` points a guard at it) that
  records every request's `X-Amz-Target` as `service:Operation` (sso-admin, identitystore, and
  the safety rails' own DynamoDB and SSM calls, counted apart); it stops both when its stdin
  closes;
- a minimal Lambda Runtime API per function process (`GET /2018-06-01/runtime/invocation/next`,
  `POST .../invocation/<id>/response|error`, `POST .../runtime/init/error`);
- the release binaries `target/release/{assignment,permission-set,identity}-guard`, and a
  boto3 handler (a script in a temporary directory) for the init comparison; these are stopped
  by PID.

Targets (the remediation issue):
1. per event against the emulator: a USER assignment revert makes at most one read, one delete,
   its status polls and one read-back; API calls and wall time for every kind of revert;
2. init (process start to the first `GET /next`) under 20 ms, side by side with a Python boto3
   handler doing the same client set-up;
3. peak RSS (VmHWM) under 32 MB (32,000,000 bytes).

Exit status: 0 when everything was measured (a target missed is a FAIL line, not an error),
2 on a harness error (the emulator or a function did not start, crashed or timed out).
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
RELEASE = TARGET / "release"
# The test world, served by tests/src/bin/bench-world.rs (a debug build: it only seeds and counts).
WORLD_BIN = TARGET / "debug" / "bench-world"
HOST = "127.0.0.1"
REGION = "eu-west-1"  # the test world's (tests/src/emulator.rs)
RUNTIME_PREFIX = "/2018-06-01/runtime"

INIT_TARGET_MS = 20.0
RSS_TARGET_BYTES = 32_000_000
INIT_DEADLINE_S = 15.0
EVENT_DEADLINE_S = 120.0

FUNCTIONS = ("assignment-guard", "permission-set-guard", "identity-guard")

# The safety rails, as deployed (shared/src/lambda.rs) and as the test world creates them
# (tests/src/world.rs), with the flap limit and the breaker raised so that the benchmark's
# repetitions on one resource (and 70 remediations in a few minutes) are all remediated; the
# windows are the defaults'.
STATE_TABLE = "idc-guard-state"
KILL_SWITCH = "/idc-guard/mode"
FLAP_LIMIT = "1000/1h"  # default 3/1h
BREAKER_LIMIT = "1000/10m"  # default 20/10m

# The services of the calls the proxy counts (tests/src/calls.rs names them): sso-admin and
# identitystore are the guard's own calls; ssm and dynamodb are the safety rails' (kill switch;
# breaker, flap window, idempotency claim).
GUARD_SERVICES = ("sso-admin", "identitystore")
RAIL_SERVICES = ("ssm", "dynamodb")

# The boto3 side of the init comparison: the same client set-up as the guard (sso-admin,
# identitystore, and the safety rails' ssm and dynamodb; endpoint and region from the environment),
# then the runtime's first request.
BOTO3_HANDLER = '''\
import os
import urllib.request

import boto3

endpoint = os.environ.get("AWS_ENDPOINT_URL")
region = os.environ["AWS_REGION"]
sso_admin = boto3.client("sso-admin", endpoint_url=endpoint, region_name=region)
identity_store = boto3.client("identitystore", endpoint_url=endpoint, region_name=region)
ssm = boto3.client("ssm", endpoint_url=endpoint, region_name=region)
dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)

api = os.environ["AWS_LAMBDA_RUNTIME_API"]
with urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next") as response:
    response.read()
'''

# The interpreter alone (no boto3): how much of the boto3 handler's init is Python starting.
BARE_HANDLER = '''\
import os
import urllib.request

api = os.environ["AWS_LAMBDA_RUNTIME_API"]
with urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next") as response:
    response.read()
'''


class HarnessError(Exception):
    """Something the benchmark needs did not work: nothing can be concluded."""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def vm_hwm_kib(pid: int) -> int | None:
    """The process's peak resident set size (VmHWM), in KiB; None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def stop_process(proc: subprocess.Popen[Any] | None, grace: float = 3.0) -> None:
    """SIGTERM the process by PID, then SIGKILL if it lingers; always reaps it."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()


def read_body(handler: http.server.BaseHTTPRequestHandler) -> bytes:
    """The request body: Content-Length or chunked."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(body)
            body += handler.rfile.read(size)
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(server: http.server.ThreadingHTTPServer, name: str) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True)
    thread.start()
    return thread


# ---------------------------------------------------------------------------------------------
# The Lambda Runtime API
# ---------------------------------------------------------------------------------------------


@dataclass
class Invocation:
    request_id: str
    body: bytes
    delivered_at: float | None = None  # after the /next response was written
    answered_at: float | None = None  # when the /response or /error POST arrived
    outcome: str | None = None  # "response" | "error"
    answer: bytes = b""
    done: threading.Event = field(default_factory=threading.Event)


class RuntimeApi:
    """A minimal Lambda Runtime API for one function process."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.port = free_port()
        self.first_next_at: float | None = None
        self.first_next = threading.Event()
        self.init_errors: list[bytes] = []
        self.unexpected: list[str] = []
        self._pending: list[Invocation] = []
        self._cond = threading.Condition()
        self._by_id: dict[str, Invocation] = {}
        self._stop = threading.Event()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # TCP_NODELAY: headers and body go out as two writes, and Nagle's algorithm would hold
            # the second until the peer's delayed ACK (~40 ms) arrives.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def do_GET(self) -> None:  # noqa: N802
                arrived = time.perf_counter()
                if self.path != f"{RUNTIME_PREFIX}/invocation/next":
                    api.unexpected.append(f"GET {self.path}")
                    self._reply(404, b'{"errorMessage":"not found"}')
                    return
                if api.first_next_at is None:
                    api.first_next_at = arrived
                    api.first_next.set()
                invocation = api._take()
                if invocation is None:  # stopping: drop the connection
                    self.close_connection = True
                    return
                deadline_ms = int(time.time() * 1000) + 900_000
                self._reply(
                    200,
                    invocation.body,
                    {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": (
                            f"arn:aws:lambda:{REGION}:111111111111:function:{api.function_name}"
                        ),
                        "Lambda-Runtime-Trace-Id": (
                            f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};"
                            f"Parent={uuid.uuid4().hex[:16]};Sampled=0"
                        ),
                    },
                )
                # The function may answer (on another thread) before this line runs: then its
                # answer's arrival stands for the delivery too.
                delivered = time.perf_counter()
                if invocation.delivered_at is None:
                    invocation.delivered_at = delivered

            def do_POST(self) -> None:  # noqa: N802
                arrived = time.perf_counter()
                body = read_body(self)
                if self.path == f"{RUNTIME_PREFIX}/init/error":
                    api.init_errors.append(body)
                    self._reply(202, b'{"status":"OK"}')
                    return
                m = re.fullmatch(rf"{RUNTIME_PREFIX}/invocation/([^/]+)/(response|error)", self.path)
                invocation = api._by_id.get(m.group(1)) if m else None
                if invocation is None:
                    api.unexpected.append(f"POST {self.path}")
                    self._reply(404, b'{"errorMessage":"unknown request id"}')
                    return
                if invocation.delivered_at is None:
                    invocation.delivered_at = arrived
                invocation.answered_at = arrived
                invocation.outcome = m.group(2)
                invocation.answer = body
                self._reply(202, b'{"status":"OK"}')
                invocation.done.set()

        self._server = QuietServer((HOST, self.port), Handler)
        self._thread = serve(self._server, f"runtime-api-{function_name}")

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def _take(self) -> Invocation | None:
        with self._cond:
            while not self._pending:
                if self._stop.is_set():
                    return None
                self._cond.wait(0.05)
            return self._pending.pop(0)

    def invoke(self, body: bytes, timeout: float, proc: subprocess.Popen[Any]) -> Invocation:
        """Queues one event and waits for the function's answer (or its death, or the timeout)."""
        invocation = Invocation(str(uuid.uuid4()), body)
        self._by_id[invocation.request_id] = invocation
        with self._cond:
            self._pending.append(invocation)
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        while not invocation.done.wait(0.05):
            if proc.poll() is not None:
                raise HarnessError(f"{self.function_name} exited with status {proc.returncode} during an invocation")
            if time.monotonic() > deadline:
                raise HarnessError(f"{self.function_name}: no answer within {timeout:.0f} s")
        return invocation

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# ---------------------------------------------------------------------------------------------
# The world: the emulator, seeded, behind a counting proxy (tests/src/bin/bench-world.rs)
# ---------------------------------------------------------------------------------------------


def service_of(call: str) -> str:
    return call.split(":", 1)[0]


def op_of(call: str) -> str:
    return call.split(":", 1)[1]


def world_binary() -> Path:
    """tests/src/bin/bench-world.rs, built (debug, like `make demo`) if it is not there yet."""
    if not WORLD_BIN.exists():
        log("== cargo build -p idc-guard-tests --bin bench-world")
        built = subprocess.run(
            ["cargo", "build", "--locked", "-q", "-p", "idc-guard-tests", "--bin", "bench-world"], cwd=ROOT
        )
        if built.returncode != 0 or not WORLD_BIN.exists():
            raise HarnessError(f"could not build {WORLD_BIN}")
    return WORLD_BIN


@dataclass
class Kind:
    """One kind of revert (the world's `kinds`): the event reporting it, the function that gets
    it, and what it must do."""

    key: str
    title: str
    function: str
    fixture: str
    mutating: list[str]
    rule: str


class World:
    """`bench-world <scenario>`: the AWS emulator seeded by the test world builder (the same as
    the integration tests and the demo), with a counting proxy in front of it. Requests go to its
    stdin, one JSON line each, and it answers on stdout; closing its stdin stops it and the
    emulator."""

    def __init__(self, scenario: str, *args: str) -> None:
        self.proc: subprocess.Popen[str] | None = subprocess.Popen(
            [str(world_binary()), scenario, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self._lock = threading.Lock()
        hello = self._read()
        self.info: dict[str, Any] = hello
        self.endpoint: str = hello["endpoint"]
        self.port: int = hello["port"]
        self.emulator_pid: int = hello["emulator_pid"]
        self.proxy_endpoint: str = hello["proxy"]
        self.instance: str = hello["instance"]
        self.store: str = hello["store"]
        self.kinds = [Kind(**k) for k in hello.get("kinds", [])]
        self.policies = {name: Path(path) for name, path in hello.get("policies", {}).items()}

    def _read(self) -> dict[str, Any]:
        assert self.proc and self.proc.stdout
        line = self.proc.stdout.readline()
        if not line:
            status = self.proc.wait()
            raise HarnessError(f"bench-world ended (status {status}); its stderr is above")
        answer = json.loads(line)
        if "error" in answer:
            raise HarnessError(f"bench-world: {answer['error']}")
        return answer

    def _ask(self, **request: Any) -> dict[str, Any]:
        assert self.proc and self.proc.stdin
        with self._lock:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            return self._read()

    def violate(self, kind: Kind) -> bytes:
        """Makes the violation of `kind`; the event reporting it (fresh ids every time)."""
        return self._ask(op="violate", kind=kind.key)["event"].encode()

    def mark(self) -> int:
        """How many requests went through the proxy so far."""
        return self._ask(op="mark")["mark"]

    def since(self, mark: int) -> list[str]:
        """The requests through the proxy after `mark`, as `service:Operation`."""
        return self._ask(op="since", mark=mark)["calls"]

    def close(self) -> None:
        """Closes its stdin, so it stops the emulator and exits; SIGTERM (by PID) if it lingers."""
        if self.proc is None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            stop_process(self.proc)
        self.proc = None


class Emulator(World):
    """The emulator alone, for scripts/bench-functions.py: `endpoint`, `close()`."""

    def __init__(self, workdir: Path) -> None:  # noqa: ARG002 (its log is the world's business)
        super().__init__("bare")


# ---------------------------------------------------------------------------------------------
# Processes under test
# ---------------------------------------------------------------------------------------------


def function_env(name: str, runtime: RuntimeApi, endpoint: str, policy: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RUST_LOG", "IDC_GUARD_"))}
    env.update(
        AWS_LAMBDA_RUNTIME_API=runtime.address,
        AWS_LAMBDA_FUNCTION_NAME=name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
        AWS_LAMBDA_FUNCTION_VERSION="1",
        AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{name}",
        AWS_LAMBDA_LOG_STREAM_NAME="bench",
        AWS_ENDPOINT_URL=endpoint,
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        IDC_GUARD_POLICY=str(policy),
        IDC_GUARD_STATE_TABLE=STATE_TABLE,
        IDC_GUARD_KILL_SWITCH=KILL_SWITCH,
        IDC_GUARD_FLAP_LIMIT=FLAP_LIMIT,
        IDC_GUARD_BREAKER_LIMIT=BREAKER_LIMIT,
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


@dataclass
class Started:
    proc: subprocess.Popen[bytes]
    runtime: RuntimeApi
    init_ms: float
    init_hwm_kib: int | None
    log_path: Path


def start_function(
    argv: list[str], name: str, endpoint: str, policy: Path, workdir: Path, tag: str
) -> Started:
    """Starts a function; returns once its first GET /next arrived (the end of init)."""
    runtime = RuntimeApi(name)
    log_path = workdir / f"{name}-{tag}.log"
    env = function_env(name, runtime, endpoint, policy)
    proc = None
    try:
        with open(log_path, "wb") as out:
            start = time.perf_counter()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + INIT_DEADLINE_S
        while not runtime.first_next.wait(0.01):
            if proc.poll() is not None or runtime.init_errors:
                raise HarnessError(
                    f"{name} ended its init without GET /next (status {proc.returncode}, "
                    f"init errors {runtime.init_errors!r}); log {log_path}"
                )
            if time.monotonic() > deadline:
                raise HarnessError(f"{name}: no GET /next within {INIT_DEADLINE_S:.0f} s; log {log_path}")
        assert runtime.first_next_at is not None
        init_ms = (runtime.first_next_at - start) * 1000
        return Started(proc, runtime, init_ms, vm_hwm_kib(proc.pid), log_path)
    except BaseException:
        stop_process(proc)
        runtime.close()
        raise


def stop_function(started: Started) -> None:
    stop_process(started.proc)
    started.runtime.close()


# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "p90": percentile(values, 90),
        "min": min(values),
        "max": max(values),
    }


def mb(kib: int | None) -> float:
    return (kib or 0) * 1024 / 1e6


def is_mutating(op: str) -> bool:
    return not op.startswith(("List", "Get", "Describe"))


# Reads made only to name a finding's user and permission set (issue #13): once per finding.
NAME_READS = ("DescribeUser", "DescribeGroup")


def classify_guard(ops: list[str]) -> dict[str, list[str]]:
    """Splits the guard's own calls (sso-admin, identitystore) of one event: reads before the
    first mutation, of which the names (the user's, and the set's when the read-back does not
    read the set again) are apart; the read-back is the trailing block that repeats the other
    reads (same operations, any order: some reads run concurrently); the non-mutating calls in
    between are status polls. After a removal (a first mutation that deletes), the revocation of
    the live sessions it leaves behind (issue #14) starts at the first read once the removal's
    status polls are done, and is counted apart."""
    first = next((i for i, op in enumerate(ops) if is_mutating(op)), len(ops))
    before, rest = ops[:first], ops[first:]
    names = [op for op in before if op in NAME_READS]
    reads = [op for op in before if op not in NAME_READS]

    def split(reads: list[str]) -> tuple[list[str], list[str]]:
        n = len(reads)
        if rest and n and len(rest) >= n and sorted(rest[-n:]) == sorted(reads):
            return rest[:-n], rest[-n:]
        return rest, []

    middle, read_back = split(reads)
    if not read_back:
        # A read repeated before the first mutation (the inline policy read again under the
        # set's lease, issue #14) is not repeated by the read-back.
        middle, read_back = split(list(dict.fromkeys(reads)))
    if names and "DescribePermissionSet" in reads:
        # The set's name, read for the finding, when the read-back does not repeat it.
        fewer = list(reads)
        fewer.remove("DescribePermissionSet")
        m, rb = split(fewer)
        if rb and not read_back:
            reads, middle, read_back = fewer, m, rb
            names.append("DescribePermissionSet")
    revocation: list[str] = []
    if middle and middle[0].startswith("Delete"):
        start = next(
            (i for i, op in enumerate(middle) if i > 0 and not is_mutating(op) and "Status" not in op),
            len(middle),
        )
        middle, revocation = middle[:start], middle[start:]
    return {
        "reads": reads,
        "names": names,
        "mutating": [op for op in middle if is_mutating(op)],
        "polls": [op for op in middle if not is_mutating(op)],
        "revocation": revocation,
        "read_back": read_back,
    }


def classify(calls: list[str]) -> dict[str, Any]:
    """One event's calls (`service:Operation`, in order): the guard's own, split as
    `classify_guard` does; the safety rails' (SSM, DynamoDB), split into those made before the
    first mutating guard call (the gate's decision) and after it (settling the claim); anything
    else."""
    guard = [op_of(c) for c in calls if service_of(c) in GUARD_SERVICES]
    first_mutation = next(
        (i for i, c in enumerate(calls) if service_of(c) in GUARD_SERVICES and is_mutating(op_of(c))), len(calls)
    )
    rails = {
        when: {svc: [op_of(c) for c in part if service_of(c) == svc] for svc in RAIL_SERVICES}
        for when, part in (("gate", calls[:first_mutation]), ("settle", calls[first_mutation:]))
    }
    return {
        **classify_guard(guard),
        "guard_calls": len(guard),
        "rails": rails,
        "other": [c for c in calls if service_of(c) not in GUARD_SERVICES + RAIL_SERVICES],
    }


def fmt_counts(ops: list[str]) -> str:
    """`GetItem ×4, PutItem ×3`, operations in first-call order."""
    counts: dict[str, int] = {}
    for op in ops:
        counts[op] = counts.get(op, 0) + 1
    return ", ".join(f"{op} ×{n}" if n > 1 else op for op, n in counts.items()) or "-"


def fmt_spans(indices: list[int]) -> str:
    """1-based event numbers as runs: `1`, `2–5`, `1, 3–5`."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)


def fmt_per_event(per_event: list[list[str]]) -> str:
    """The same calls in every event: `7: GetItem ×4, PutItem ×3`; otherwise each variant with the
    events (1-based) that made it: `1: GetParameter (event 1); 0 (events 2–5)`."""
    variants: dict[str, list[int]] = {}
    for i, ops in enumerate(per_event, 1):
        text = f"{len(ops)}: {fmt_counts(ops)}" if ops else "0"
        variants.setdefault(text, []).append(i)
    if len(variants) == 1:
        return next(iter(variants))
    return "; ".join(
        f"{text} (event{'s' if len(ix) > 1 else ''} {fmt_spans(ix)})" for text, ix in variants.items()
    )


def cold_starts(
    runs: int, endpoint: str, policy: Path, workdir: Path, handler: Path, bare: Path
) -> dict[str, dict[str, Any]]:
    """`runs` cold starts of every function and of the Python handlers, interleaved (one warm-up
    round first, not recorded), so all see the same machine load."""
    argvs = {name: [str(RELEASE / name)] for name in FUNCTIONS}
    argvs["boto3 handler"] = [str(PYTHON), str(handler)]
    argvs["python, no boto3"] = [str(PYTHON), str(bare)]
    results: dict[str, dict[str, Any]] = {name: {"init_ms": [], "hwm_kib": []} for name in argvs}
    for round_ in range(runs + 1):
        for name, argv in argvs.items():
            fname = name if name in FUNCTIONS else name.replace(" ", "-").replace(",", "")
            started = start_function(argv, fname, endpoint, policy, workdir, f"cold-{round_}")
            try:
                if round_ > 0:
                    results[name]["init_ms"].append(started.init_ms)
                    results[name]["hwm_kib"].append(started.init_hwm_kib or 0)
            finally:
                stop_function(started)
            started.log_path.unlink(missing_ok=True)
        if round_ == 0:
            log(f"   warm-up round done; measuring {runs} rounds")
    return results


@dataclass
class EventResult:
    kind: Kind
    wall_ms: list[float] = field(default_factory=list)
    calls: list[list[str]] = field(default_factory=list)
    hwm_kib_after: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def check_answer(kind: Kind, invocation: Invocation) -> str | None:
    """None when the function reports the violation remediated and verified with the expected calls."""
    if invocation.outcome != "response":
        return f"the function answered /error: {invocation.answer[:300]!r}"
    report = json.loads(invocation.answer or b"null")
    if not report:
        return "the function answered no report (malformed event?)"
    outcomes = report.get("outcomes", [])
    got = [(o.get("finding", {}).get("rule"), o.get("outcome"), o.get("calls")) for o in outcomes]
    want = [(kind.rule, "remediated", kind.mutating)]
    if got != want:
        return f"outcomes {got}, expected {want}"
    return None


def run_events(
    world: World, kinds: list[Kind], proxied: bool, workdir: Path, repeats: int, tag: str,
) -> tuple[dict[str, EventResult], dict[str, dict[str, Any]]]:  # fmt: skip
    """Each function process gets its kinds' events, `repeats` rounds, through the counting proxy
    (`proxied`) or straight to the emulator; per event: calls (proxied), wall time, VmHWM after;
    per process: init and VmHWM once all its events are handled."""
    endpoint = world.proxy_endpoint if proxied else world.endpoint
    results = {k.key: EventResult(k) for k in kinds}
    processes: dict[str, dict[str, Any]] = {}
    for name in FUNCTIONS:
        mine = [k for k in kinds if k.function == name]
        if not mine:
            continue
        policy = world.policies["scim-enforce" if name == "identity-guard" else "base"]
        started = start_function([str(RELEASE / name)], name, endpoint, policy, workdir, tag)
        try:
            events = 0
            for _ in range(repeats):
                for kind in mine:
                    body = world.violate(kind)
                    mark = world.mark() if proxied else 0
                    invocation = started.runtime.invoke(body, EVENT_DEADLINE_S, started.proc)
                    events += 1
                    r = results[kind.key]
                    assert invocation.delivered_at is not None and invocation.answered_at is not None
                    r.wall_ms.append((invocation.answered_at - invocation.delivered_at) * 1000)
                    r.hwm_kib_after.append(vm_hwm_kib(started.proc.pid) or 0)
                    if proxied:
                        r.calls.append(world.since(mark))
                    problem = check_answer(kind, invocation)
                    if problem:
                        r.failures.append(problem)
            processes[name] = {
                "init_ms": started.init_ms,
                "init_hwm_kib": started.init_hwm_kib,
                "final_hwm_kib": vm_hwm_kib(started.proc.pid),
                "events": events,
                "unexpected_requests": started.runtime.unexpected,
            }
        finally:
            stop_function(started)
    return results, processes


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def fmt_ops(ops: list[str]) -> str:
    return ", ".join(ops) if ops else "-"


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> dict[str, str]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, cwd=ROOT).stdout
    import boto3
    import botocore
    import moto

    return {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "kernel": platform.release(),
        "rustc": rustc,
        "python": platform.python_version(),
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
        "moto": moto.__version__,
        "commit": commit + (" (uncommitted changes)" if dirty.strip() else ""),
        "loadavg": loadavg(),
        "binaries": ", ".join(
            f"{name} {(RELEASE / name).stat().st_size:,} B" for name in FUNCTIONS if (RELEASE / name).exists()
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-starts", type=int, default=20, help="cold starts per binary (default 20)")
    parser.add_argument("--repeats", type=int, default=5, help="events per kind of revert (default 5)")
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    parser.add_argument("--skip-direct", action="store_true", help="skip the wall-time pass without the proxy")
    args = parser.parse_args(argv)

    def on_term(signum: int, frame: Any) -> None:
        # Unwinds through the finally blocks, which stop everything started so far.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)

    missing = [p for p in [PYTHON, *(RELEASE / f for f in FUNCTIONS)] if not p.exists()]
    if missing:
        log("bench-guard: missing " + ", ".join(map(str, missing)) + " (run scripts/bench-guard.sh)")
        return 2

    info = machine()
    log(
        f"== machine: {info['cores']} cores, {info['cpu']}, Linux {info['kernel']}, {info['rustc']}, "
        f"Python {info['python']}, boto3 {info['boto3']}, moto {info['moto']}, commit {info['commit']}, "
        f"load average {info['loadavg']}"
    )
    log(f"== binaries ({RELEASE}): {info['binaries']}")
    world = None
    workdir = Path(tempfile.mkdtemp(prefix="bench-guard-"))
    ok = False
    try:
        log("== starting the emulator")
        world = World("guard")
        log(
            f"   moto on {world.endpoint} (pid {world.emulator_pid}), counting proxy on {world.proxy_endpoint}, "
            f"seeded by {WORLD_BIN.name}"
        )
        kinds = world.kinds
        log(f"   instance {world.instance}, identity store {world.store}")
        log(
            f"   safety rails: table {STATE_TABLE}, kill switch {KILL_SWITCH} = enforce, "
            f"flap limit {FLAP_LIMIT}, breaker {BREAKER_LIMIT}"
        )

        log(f"== init: {args.cold_starts} cold starts of each binary and of the boto3 handler, interleaved")
        handler = workdir / "boto3_handler.py"
        handler.write_text(BOTO3_HANDLER)
        bare = workdir / "bare_handler.py"
        bare.write_text(BARE_HANDLER)
        inits = cold_starts(args.cold_starts, world.endpoint, world.policies["base"], workdir, handler, bare)

        log(f"== events through the counting proxy: {args.repeats} rounds of {len(kinds)} kinds")
        proxied, proxied_procs = run_events(world, kinds, True, workdir, args.repeats, "proxied")
        direct: dict[str, EventResult] = {}
        direct_procs: dict[str, dict[str, Any]] = {}
        if not args.skip_direct:
            log(f"== events straight to the emulator (wall time without the proxy): {args.repeats} rounds")
            direct, direct_procs = run_events(world, kinds, False, workdir, args.repeats, "direct")
        info["loadavg_after"] = loadavg()
        ok = True
    except Exception as e:  # HarnessError, or a failed seeding call
        if not isinstance(e, HarnessError):
            import traceback

            traceback.print_exc()
        log(f"bench-guard: harness error: {e}")
        log(f"   logs kept in {workdir}")
        return 2
    finally:
        if world:
            world.close()
        if ok:
            for p in workdir.iterdir():
                p.unlink()
            workdir.rmdir()

    # ---- report ----
    out: dict[str, Any] = {
        "machine": info,
        "cold_starts": args.cold_starts,
        "repeats": args.repeats,
        "safety_rails": {
            "IDC_GUARD_STATE_TABLE": STATE_TABLE,
            "IDC_GUARD_KILL_SWITCH": KILL_SWITCH,
            "IDC_GUARD_FLAP_LIMIT": FLAP_LIMIT,
            "IDC_GUARD_BREAKER_LIMIT": BREAKER_LIMIT,
        },
    }
    failures = 0
    print()
    print(f"## 1. Per event against the emulator ({args.repeats} events per kind; wall = /next response written")
    print("##    to /response POST received; calls counted by the proxy)")
    print()
    print("| revert | function | reads | names | mutating | status polls | revocation (#14) | read-back | guard calls "
          "| rails: SSM | rails: DynamoDB, gate | rails: DynamoDB, settle | all calls "
          "| wall ms median (min–max) | wall ms, no proxy | peak RSS after | outcome |")
    print("|---|---|---|---|---|---|---|---|---:|---|---|---|---|---:|---:|---:|---|")
    out["events"] = {}
    for kind in kinds:
        r = proxied[kind.key]
        shapes = [classify(c) for c in r.calls]
        guard_calls = [[c for c in calls if service_of(c) in GUARD_SERVICES] for calls in r.calls]
        # The guard's own calls must be the same in every event (concurrent reads in any order);
        # the rails' vary (the kill switch is read once per 30 s per process).
        same = all(sorted(g) == sorted(guard_calls[0]) for g in guard_calls)
        shape = shapes[0]
        w = summary(r.wall_ms)
        d = summary(direct[kind.key].wall_ms) if direct else None
        hwm = max(r.hwm_kib_after + (direct[kind.key].hwm_kib_after if direct else []))
        problems = list(dict.fromkeys(r.failures + (direct[kind.key].failures if direct else [])))
        if not same:
            problems.append(f"the guard's calls differ between events: {guard_calls}")
        revoking = [op for op in shape["revocation"] if is_mutating(op)]
        if sorted(shape["mutating"] + revoking) != sorted(kind.mutating):
            problems.append(f"mutating calls {shape['mutating'] + revoking}, expected {kind.mutating}")
        for other in sorted({c for sh in shapes for c in sh["other"]}):
            problems.append(f"a call to no expected service: {other}")
        if not all(sh["rails"]["gate"]["dynamodb"] for sh in shapes):
            problems.append("an event made no DynamoDB call before its correction (the rails were not consulted)")
        status = verdict(not problems)
        failures += bool(problems)
        ssm = fmt_per_event([sh["rails"]["gate"]["ssm"] + sh["rails"]["settle"]["ssm"] for sh in shapes])
        ddb_gate = fmt_per_event([sh["rails"]["gate"]["dynamodb"] for sh in shapes])
        ddb_settle = fmt_per_event([sh["rails"]["settle"]["dynamodb"] for sh in shapes])
        totals = sorted({len(c) for c in r.calls})
        total = str(totals[0]) if len(totals) == 1 else f"{totals[0]}–{totals[-1]}"
        print(
            f"| {kind.title} | {kind.function} | {len(shape['reads'])}: {fmt_ops(shape['reads'])} "
            f"| {len(shape['names'])}: {fmt_ops(shape['names'])} "
            f"| {len(shape['mutating'])}: {fmt_ops(shape['mutating'])} | {len(shape['polls'])}: {fmt_ops(shape['polls'])} "
            f"| {len(shape['revocation'])}: {fmt_ops(shape['revocation'])} "
            f"| {len(shape['read_back'])}: {fmt_ops(shape['read_back'])} | {shape['guard_calls']} "
            f"| {ssm} | {ddb_gate} | {ddb_settle} | {total} "
            f"| {w['median']:.1f} ({w['min']:.1f}–{w['max']:.1f}) "
            f"| {'%.1f' % d['median'] if d else '-'} | {mb(hwm):.1f} MB | {status} |"
        )
        for p in problems:
            print(f"    problem: {p}")
        out["events"][kind.key] = {
            "title": kind.title,
            "function": kind.function,
            "calls": r.calls,
            "classified": shapes,
            "wall_ms": r.wall_ms,
            "wall_ms_direct": direct[kind.key].wall_ms if direct else None,
            "hwm_kib_after": r.hwm_kib_after,
            "problems": problems,
        }

    user = classify(proxied["user"].calls[0])
    user_ok = (
        len(user["reads"]) <= 1
        and len(user["names"]) <= 2
        and user["mutating"] == ["DeleteAccountAssignment"]
        and all(op == "DescribeAccountAssignmentDeletionStatus" for op in user["polls"])
        and [op for op in user["revocation"] if is_mutating(op)]
        == ["PutInlinePolicyToPermissionSet", "ProvisionPermissionSet"]
        and len(user["read_back"]) == 1
        and not proxied["user"].failures
        and all(
            sorted(classify(c)["reads"] + classify(c)["names"] + classify(c)["read_back"])
            == sorted(user["reads"] + user["names"] + user["read_back"])
            for c in proxied["user"].calls
        )
    )
    failures += not user_ok

    print()
    print(f"## 2. Init: process start (before Popen) to the first GET /next, {args.cold_starts} cold starts each")
    print()
    print("| process | median ms | p90 ms | min ms | max ms | peak RSS at init (median) | target | result |")
    print("|---|---:|---:|---:|---:|---:|---|---|")
    out["init"] = {}
    for name, res in inits.items():
        s = summary(res["init_ms"])
        hwm_med = statistics.median(res["hwm_kib"])
        is_guard = name in FUNCTIONS
        ok_init = s["median"] < INIT_TARGET_MS
        target = f"< {INIT_TARGET_MS:.0f} ms" if is_guard else "(comparison)"
        result = verdict(ok_init) if is_guard else "-"
        if is_guard:
            failures += not ok_init
        print(
            f"| {name} | {s['median']:.1f} | {s['p90']:.1f} | {s['min']:.1f} | {s['max']:.1f} "
            f"| {mb(int(hwm_med)):.1f} MB | {target} | {result} |"
        )
        out["init"][name] = {**res, **{f"{k}_ms": v for k, v in s.items()}}

    print()
    print("## 3. Peak RSS (VmHWM) of each function process, target < 32 MB (32,000,000 bytes)")
    print()
    print("| function | after init only (median of cold starts) | after all its events (proxied run) "
          "| after all its events (direct run) | events handled | result |")
    print("|---|---:|---:|---:|---:|---|")
    out["rss"] = {}
    for name in FUNCTIONS:
        init_hwm = int(statistics.median(inits[name]["hwm_kib"]))
        p = proxied_procs.get(name, {})
        d = direct_procs.get(name, {})
        worst = max(init_hwm, p.get("final_hwm_kib") or 0, d.get("final_hwm_kib") or 0)
        ok_rss = worst * 1024 < RSS_TARGET_BYTES
        failures += not ok_rss
        print(
            f"| {name} | {mb(init_hwm):.1f} MB ({init_hwm} KiB) "
            f"| {mb(p.get('final_hwm_kib')):.1f} MB ({p.get('final_hwm_kib')} KiB) "
            f"| {mb(d.get('final_hwm_kib')):.1f} MB ({d.get('final_hwm_kib')} KiB) "
            f"| {p.get('events', 0)} + {d.get('events', 0)} | {verdict(ok_rss)} |"
        )
        out["rss"][name] = {"init_hwm_kib_median": init_hwm, "proxied": p, "direct": d}
        for request in p.get("unexpected_requests", []) + d.get("unexpected_requests", []):
            print(f"    note: {name} made an unexpected Runtime API request: {request}")

    print()
    print("## Targets")
    print()
    guard_inits = {n: summary(inits[n]["init_ms"]) for n in FUNCTIONS}
    boto = summary(inits["boto3 handler"]["init_ms"])
    worst_init = max(s["median"] for s in guard_inits.values())
    worst_rss = max(
        max(
            int(statistics.median(inits[n]["hwm_kib"])),
            proxied_procs.get(n, {}).get("final_hwm_kib") or 0,
            direct_procs.get(n, {}).get("final_hwm_kib") or 0,
        )
        for n in FUNCTIONS
    )
    print(
        f"- USER assignment revert: {len(user['reads'])} read, {len(user['names'])} name read(s) "
        f"({fmt_ops(user['names'])}), {len(user['mutating'])} delete, "
        f"{len(user['polls'])} status poll(s), {len(user['read_back'])} read-back "
        f"(<= 1 read, <= 2 name reads, 1 delete, its polls, 1 read-back): {verdict(user_ok)}; "
        f"then the revocation of its live sessions (issue #14): {len(user['revocation'])} calls "
        f"({fmt_ops(user['revocation'])}); plus the safety rails' "
        f"{len(user['rails']['gate']['dynamodb'])} + {len(user['rails']['settle']['dynamodb'])} DynamoDB calls "
        f"(gate + settle) and {len(user['rails']['gate']['ssm'])} SSM call(s) in its first event"
    )
    all_shapes = [classify(c) for k in kinds for c in proxied[k.key].calls]
    n_events = len(all_shapes)
    ssm_calls = sum(len(sh["rails"]["gate"]["ssm"]) + len(sh["rails"]["settle"]["ssm"]) for sh in all_shapes)
    ddb = sorted({len(sh["rails"]["gate"]["dynamodb"]) + len(sh["rails"]["settle"]["dynamodb"]) for sh in all_shapes})
    print(
        f"- safety rails, proxied run: {ssm_calls} SSM GetParameter over {n_events} events "
        f"(kill switch cached 30 s per process); DynamoDB {ddb[0]}{'' if len(ddb) == 1 else f'–{ddb[-1]}'} "
        f"calls per event; flap limit {FLAP_LIMIT}, breaker {BREAKER_LIMIT} (raised for the benchmark)"
    )
    print(
        f"- every revert remediated and verified with the expected mutating calls: "
        f"{verdict(all(not out['events'][k.key]['problems'] for k in kinds))}"
    )
    worst_p90 = max(s["p90"] for s in guard_inits.values())
    print(
        f"- guard init (judged on the median), slowest median of the three binaries {worst_init:.1f} ms, "
        f"slowest p90 {worst_p90:.1f} ms "
        f"(boto3 handler median {boto['median']:.1f} ms), target < {INIT_TARGET_MS:.0f} ms: "
        f"{verdict(worst_init < INIT_TARGET_MS)}"
    )
    print(f"- peak RSS, worst function process {mb(worst_rss):.1f} MB, target < 32 MB: "
          f"{verdict(worst_rss * 1024 < RSS_TARGET_BYTES)}")
    print(f"- load average before {info['loadavg']}, after {info['loadavg_after']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")
        log(f"== measurements written to {args.json}")
    log(f"== {'all targets met' if not failures else f'{failures} target(s) missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
