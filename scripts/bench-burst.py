#!/usr/bin/env python3
"""Bulk-change benchmark: a Terraform-like apply against the throttling emulator, without idc-guard and with it.

    .venv/bin/python scripts/bench-burst.py [--time-scale F] [--skip-before] [--json FILE] ...

Run it through scripts/bench-burst.sh (`make bench-burst`), which builds the guards in release,
the previous design's guards (commit 907c442, in a git worktree) and the emulator's venv first.
BENCHMARKS.md section 7 records the figures and explains the method; in short:

The apply. A Python process (`bench-burst.py apply-worker`) applies a saved plan the way the
Terraform AWS provider does, through ONE boto3 sso-admin client (the provider shares one client per
service) in the standard retry mode with the provider's default `max_retries = 25`
(total_max_attempts 26: botocore's standard mode, like aws-sdk-go-v2's, backs off
rand(0,1) x min(2^attempt, 20 s) and keeps a client-side retry quota), walking the resource graph
with Terraform's default `-parallelism=10` (a resource starts once its dependencies are done;
waiting resources start in first-come order, as Terraform's semaphore releases them). Each
resource makes the provider's calls (internal/service/ssoadmin of hashicorp/terraform-provider-aws):
  aws_ssoadmin_account_assignment: ListAccountAssignments (the duplicate check), CreateAccountAssignment,
      the creation waiter (retry.StateChangeConf: Delay 10 s, MinTimeout 5 s, so polls at 10 s,
      +5 s, then every +10 s, DescribeAccountAssignmentCreationStatus), then the read
      (ListAccountAssignments; not found on a new resource is an error);
  aws_ssoadmin_permission_set (create): CreatePermissionSet (tags included), then the read
      (DescribePermissionSet, ListTagsForResource); (update): UpdatePermissionSet, then
      ProvisionPermissionSet to ALL_PROVISIONED_ACCOUNTS and its waiter (Delay 5 s, no MinTimeout:
      DescribePermissionSetProvisioningStatus at 5 s, then +0.2, +0.4, ... capped at 10 s), then the read;
  aws_ssoadmin_permission_set_inline_policy: PutInlinePolicyToPermissionSet, provisioning and its
      waiter, GetInlinePolicyForPermissionSet;
  aws_ssoadmin_managed_policy_attachment / aws_ssoadmin_customer_managed_policy_attachment: the
      List... duplicate check, Attach..., provisioning and its waiter, the List... read;
  aws_ssoadmin_permissions_boundary_attachment: Put... (create) or Delete... (destroy),
      provisioning and its waiter, GetPermissionsBoundaryForPermissionSet (create only).
`--time-scale` multiplies every waiter duration (Delay, MinTimeout, the 100 ms start and the
10 s cap of the backoff); 1.0 is the provider's.

The workload (the issue's example): 50 accounts x 10 permission sets, 500 GROUP assignments; 20
new permission sets, each with five resources (the set with its tags, an inline policy, an AWS
managed policy, the permissions boundary, a customer managed policy); and, mixed in, 25 USER
assignments and 5 violating edits of existing sets (a 12-hour session, an inline policy with
iam:*, AdministratorAccess attached, the boundary removed, an inline policy with organizations:*),
each of which the shipped policy flags in enforce mode. The resources' order is shuffled with a
fixed seed, the same in every scenario.

The scenarios, each on a fresh emulator seeded the same way (tests/emulator/server.py with
--cloudtrail and --principal, limits switched on after seeding: 20 requests/s shared by all
sso-admin and identitystore callers, 10 outstanding assignment operations, 1 s IN_PROGRESS):
  without   the apply alone;
  with      the apply while every CloudTrail record is delivered as the deployment (template.yaml)
            delivers it: an EventBridge stand-in polls the emulator's records, wraps each in an
            EventBridge envelope, matches the rules' EventPatterns and sends it to the matching
            guard's SQS queue (real queues in moto, with the template's VisibilityTimeout and
            RedrivePolicy to a dead-letter queue); an event source mapping stand-in per guard runs
            up to MaximumConcurrency pollers, each owning one function process, gathers up to
            BatchSize messages or until MaximumBatchingWindowInSeconds, invokes with the SQS event
            and deletes the messages not listed in batchItemFailures (a function error returns
            the whole batch); returned messages become visible after the visibility timeout;
  before    the same with the previous design (commit 907c442's guards and template): EventBridge
            invokes each guard once per event, asynchronously, up to its reserved concurrency
            (assignment-guard 5, permission-set-guard 1, identity-guard unreserved: 2 processes
            here); a function error is retried by Lambda after 1 and then 2 minutes, then parked
            in the dead-letter queue.
The guard functions are the release binaries under bench-guard.py's Runtime API stand-in, with
its environment (function_env: the safety rails' state table and kill switch, the flap limit and
the breaker raised to 1000 per window, see below), each signing with its own access key that the
emulator maps to its role (and IDC_GUARD_OWN_ROLES names those roles), and IDC_GUARD_API_SHARE
from the template's ApiShare default.

Why the flap limit and the breaker are raised: the burst makes 30 corrections within minutes; the
deployed breaker (20 per 10 minutes) would open at the 21st and withhold the rest (a finding of
its own, reported by the breaker; here the benchmark measures the corrections).

Exit status: 0 when measured (a missed target is a FAIL line), 2 on a harness error.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("bench_guard", ROOT / "scripts" / "bench-guard.py")
assert _spec and _spec.loader
bg = importlib.util.module_from_spec(_spec)
sys.modules["bench_guard"] = bg
_spec.loader.exec_module(bg)

HarnessError = bg.HarnessError
log = bg.log
HOST = bg.HOST
REGION = bg.REGION
FUNCTIONS = bg.FUNCTIONS
PYTHON = bg.PYTHON
TARGET = bg.TARGET
SERVER = ROOT / "tests" / "emulator" / "server.py"

# The emulator's account (moto's default, MOTO_ACCOUNT_ID): CloudTrail's recipientAccountId, the
# account of every role below, and the account the rules' `account` patterns are resolved to (the
# delegated administrator's, AWS::AccountId, and the management account's, one account here).
ACCOUNT = "123456789012"

# Who signs what: the emulator maps each access key to an assumed role (--principal).
APPLY_KEY = "AKIABENCHTERRAFORM01"
APPLY_ROLE = f"arn:aws:sts::{ACCOUNT}:assumed-role/terraform/apply"
HARNESS_KEY = "AKIABENCHHARNESS0001"  # seeding, the stand-ins' SQS calls, the final checks
GUARD_KEYS = {
    "assignment-guard": "AKIABENCHASSIGNGUARD",
    "permission-set-guard": "AKIABENCHPSETGUARD01",
    "identity-guard": "AKIABENCHIDENTGUARD1",
}


def role_name(function: str) -> str:
    """The template's RoleName: !Sub idc-guard-<function>-${AWS::Region}."""
    return f"idc-guard-{function}-{REGION}"


def role_arn(function: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{role_name(function)}"


# Lambda's session for a function's role is named after the function.
GUARD_PRINCIPALS = {
    GUARD_KEYS[f]: f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name(f)}/{f}" for f in FUNCTIONS
}
# IDC_GUARD_OWN_ROLES as the template joins it: the three guards' roles and the reconciler's.
OWN_ROLES = ",".join(role_arn(f) for f in (*FUNCTIONS, "drift-reconciler"))

# The emulator's limits (tests/emulator/limits.py defaults; INTERFACES and the quotas page: a
# collective 20 requests/s for Identity Center's APIs, 10 outstanding assignment operations).
RATE = 20.0
OUTSTANDING = 10
ASYNC_SECONDS = 1.0

# The Terraform AWS provider's defaults.
PARALLELISM = 10  # terraform apply -parallelism (default 10)
MAX_RETRIES = 25  # provider max_retries (default 25)
ASSIGNMENT_WAITER = (10.0, 5.0)  # retry.StateChangeConf Delay, MinTimeout (account_assignment.go)
PROVISIONING_WAITER = (5.0, 0.0)  # waitPermissionSetProvisioned (permission_set.go)
WAITER_CAP = 10.0  # StateChangeConf's backoff cap
WAITER_START = 0.1  # StateChangeConf's first backoff step (doubled before use)
NOT_FOUND_CHECKS = 20  # StateChangeConf's default NotFoundChecks
ASSIGNMENT_TIMEOUT = 300.0  # schema.DefaultTimeout(5 * time.Minute)
PERMISSION_SET_TIMEOUT = 600.0  # 10 minutes

# The workload.
N_ACCOUNTS = 50
TEAM_SETS = 10
N_USERS = 25
NEW_SETS = 20
SEED = 15
BOUNDARY = {"CustomerManagedPolicyReference": {"Name": "platform-boundary", "Path": "/"}}
READ_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}
)
IAM_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"},
            {"Sid": "Escalate", "Effect": "Allow", "Action": "iam:*", "Resource": "*"},
        ],
    }
)
ORGS_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"},
            {"Sid": "Org", "Effect": "Allow", "Action": ["organizations:*"], "Resource": "*"},
        ],
    }
)
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"

# Targets (issue 15).
WALL_RATIO = 1.10
THROTTLE_RATIO = 1.10
CALLS_PER_RESOURCE = 1.5
SHARE = 0.25
CORRECTED_WITHIN_S = 120.0

# List prices, us-east-1 (the pricing pages: aws.amazon.com/lambda/pricing, /dynamodb/pricing/on-demand,
# /sqs/pricing, /cloudwatch/pricing; free tiers ignored).
PRICE = {
    "lambda_gb_s_arm64": 0.0000133334,  # first 7.5 billion GB-s per month
    "lambda_request": 0.20 / 1e6,
    "ddb_rru": 0.125 / 1e6,  # on-demand read request unit (strongly consistent read <= 4 KB)
    "ddb_wru": 0.625 / 1e6,  # on-demand write request unit (<= 1 KB)
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KB chunk
    "logs_gb": 0.50,  # CloudWatch Logs ingestion (standard class)
}
MEMORY_GB = 128 / 1024

# How an outcome's log line spells a correction the read-back verified (OutcomeKind's Display).
REMEDIATED = "remediated and verified"

EVENTBRIDGE_POLL_S = 0.25
TAIL_POLL_S = 0.2


def now() -> float:
    return time.time()


# ---------------------------------------------------------------------------------------------
# The plan: Terraform resources and their dependencies (names only; ids are resolved per world)
# ---------------------------------------------------------------------------------------------


def accounts() -> list[str]:
    return [f"{210000000000 + i:012d}" for i in range(1, N_ACCOUNTS + 1)]


def team_set(i: int) -> str:
    return f"Team{i:02d}"


def new_set(i: int) -> str:
    return f"Service{i:02d}"


# The five existing sets the apply edits in violation of the policy, and how.
VIOLATIONS = [
    {"set": "Ops00", "resource": "permission_set_update", "rule": "session-duration-cap", "what": "session PT12H"},
    {"set": "Ops01", "resource": "inline_policy", "policy": "iam", "rule": "inline-policy-forbidden-actions",
     "what": "inline policy with iam:*"},
    {"set": "Ops02", "resource": "managed_policy_attachment", "arn": ADMIN, "rule": "managed-policy-forbidden",
     "what": "AdministratorAccess attached"},
    {"set": "Ops03", "resource": "boundary_destroy", "rule": "permissions-boundary-required",
     "what": "permissions boundary removed"},
    {"set": "Ops04", "resource": "inline_policy", "policy": "orgs", "rule": "inline-policy-forbidden-actions",
     "what": "inline policy with organizations:*"},
]


def user_assignments() -> list[tuple[str, str, str]]:
    """(account, set, user) of the 25 USER assignments: spread over accounts and team sets."""
    acc = accounts()
    return [(acc[(7 * i + 3) % N_ACCOUNTS], team_set(i % TEAM_SETS), f"user-{i:02d}") for i in range(N_USERS)]


def make_plan() -> list[dict[str, Any]]:
    """The resources in the order Terraform starts them: the independent ones shuffled (a fixed
    seed), each new set's four attachments after the set."""
    tasks: list[dict[str, Any]] = []
    for a in accounts():
        for i in range(TEAM_SETS):
            tasks.append({"type": "assignment", "account": a, "set": team_set(i), "ptype": "GROUP",
                          "principal": f"team-{i:02d}"})
    for account, s, user in user_assignments():
        tasks.append({"type": "assignment", "account": account, "set": s, "ptype": "USER", "principal": user,
                      "violation": "assignment-principal-type"})
    for i in range(NEW_SETS):
        tasks.append({"type": "permission_set", "set": new_set(i)})
    for v in VIOLATIONS:
        task = {"type": v["resource"], "set": v["set"], "violation": v["rule"], "what": v["what"]}
        if v["resource"] == "inline_policy":
            task["policy"] = IAM_POLICY if v["policy"] == "iam" else ORGS_POLICY
        if v["resource"] == "managed_policy_attachment":
            task["arn"] = v["arn"]
        tasks.append(task)
    random.Random(SEED).shuffle(tasks)
    for n, t in enumerate(tasks):
        t["id"] = n
    # Each new set's attachments depend on it.
    dependents = []
    for t in tasks:
        if t["type"] == "permission_set":
            for kind in ("inline_policy", "managed_policy_attachment", "boundary_attachment", "cmp_attachment"):
                d = {"type": kind, "set": t["set"], "after": t["id"]}
                if kind == "inline_policy":
                    d["policy"] = READ_POLICY
                if kind == "managed_policy_attachment":
                    d["arn"] = READ_ONLY
                dependents.append(d)
    for n, d in enumerate(dependents, len(tasks)):
        d["id"] = n
    return tasks + dependents


def distinct_resources(plan: list[dict[str, Any]]) -> dict[str, int]:
    """What the apply touches, by kind: each assignment (account, set, principal) and each
    permission set (a new one with its four attachments is one set; an edited existing set is one)."""
    assignments = {(t["account"], t["set"], t["ptype"], t["principal"]) for t in plan if t["type"] == "assignment"}
    sets = {t["set"] for t in plan if t["type"] != "assignment"}
    return {"assignments": len(assignments), "permission sets": len(sets)}


# ---------------------------------------------------------------------------------------------
# The apply (a separate process: `bench-burst.py apply-worker`)
# ---------------------------------------------------------------------------------------------


class ApplyError(Exception):
    pass


def apply_worker(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench-burst.py apply-worker")
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--parallelism", type=int, default=PARALLELISM)
    args = parser.parse_args(argv)
    world = json.loads(args.world.read_text())
    plan: list[dict[str, Any]] = world["plan"]
    scale = args.time_scale

    import boto3
    from botocore.config import Config

    sso = boto3.client(
        "sso-admin",
        endpoint_url=world["endpoint"],
        region_name=REGION,
        aws_access_key_id=APPLY_KEY,
        aws_secret_access_key="testing",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": MAX_RETRIES + 1},
            max_pool_connections=args.parallelism * 2,
        ),
    )
    attempts: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    status_not_found = [0]
    not_found_s = [0.0]  # worker-seconds spent polling a status that answers NotFound
    lock = threading.Lock()

    current = threading.local()  # whether the resource's change call succeeded (per worker thread)

    def on_response(**kwargs: Any) -> None:
        parsed = kwargs.get("parsed_response") or {}
        code = (parsed.get("Error") or {}).get("Code") if isinstance(parsed, dict) else None
        op = kwargs.get("event_name", "").rsplit(".", 1)[-1]
        if not code and re.match(r"(Create|Update|Put|Attach|Delete)[A-Z]", op):
            current.made = True
        with lock:
            attempts[op] += 1
            if code:
                errors[code] += 1

    sso.meta.events.register("response-received.sso-admin", on_response)

    instance = world["instance"]
    set_arns: dict[str, str] = dict(world["sets"])
    principals: dict[str, str] = world["principals"]

    def wait(refresh: Callable[[], str], delay: float, min_timeout: float, timeout: float) -> None:
        """retry.StateChangeConf.WaitForStateContext with Pending IN_PROGRESS, Target SUCCEEDED:
        a status read that answers ResourceNotFoundException is a nil result (the find function's
        NotFoundError), tolerated NotFoundChecks (20) times in a row."""
        deadline = time.monotonic() + timeout
        time.sleep(delay * scale)
        wait_s = 0.0
        not_found = 0
        not_found_at = 0.0
        while True:
            if wait_s > 0:
                time.sleep(wait_s)
            else:
                wait_s = WAITER_START * scale
            try:
                state = refresh()
            except sso.exceptions.ResourceNotFoundException:
                if not_found == 0:
                    not_found_at = time.monotonic()
                not_found += 1
                with lock:
                    status_not_found[0] += 1
                if not_found > NOT_FOUND_CHECKS:
                    with lock:
                        not_found_s[0] += time.monotonic() - not_found_at
                    raise ApplyError(f"couldn't find resource ({not_found} retries)") from None
                state = "IN_PROGRESS"
            else:
                if not_found:
                    with lock:
                        not_found_s[0] += time.monotonic() - not_found_at
                not_found = 0
            if state == "SUCCEEDED":
                return
            if state != "IN_PROGRESS":
                raise ApplyError(f"unexpected state {state!r}")
            wait_s *= 2
            if wait_s < min_timeout * scale:
                wait_s = min_timeout * scale
            elif wait_s > WAITER_CAP * scale:
                wait_s = WAITER_CAP * scale
            if time.monotonic() + wait_s > deadline:
                raise ApplyError("timeout while waiting for state to become 'SUCCEEDED'")

    def provision(ps: str, timeout: float) -> None:
        out = sso.provision_permission_set(
            InstanceArn=instance, PermissionSetArn=ps, TargetType="ALL_PROVISIONED_ACCOUNTS"
        )
        request = out["PermissionSetProvisioningStatus"]["RequestId"]
        wait(
            lambda: sso.describe_permission_set_provisioning_status(
                InstanceArn=instance, ProvisionPermissionSetRequestId=request
            )["PermissionSetProvisioningStatus"]["Status"],
            *PROVISIONING_WAITER,
            timeout,
        )

    def find_assignment(account: str, ps: str, ptype: str, pid: str) -> bool:
        found = False
        for page in sso.get_paginator("list_account_assignments").paginate(
            InstanceArn=instance, AccountId=account, PermissionSetArn=ps
        ):
            found |= any(
                a["PrincipalId"] == pid and a["PrincipalType"] == ptype for a in page.get("AccountAssignments", [])
            )
        return found

    def read_set(ps: str) -> None:
        sso.describe_permission_set(InstanceArn=instance, PermissionSetArn=ps)
        for _ in sso.get_paginator("list_tags_for_resource").paginate(InstanceArn=instance, ResourceArn=ps):
            pass

    def managed(ps: str) -> list[str]:
        return [
            p["Arn"]
            for page in sso.get_paginator("list_managed_policies_in_permission_set").paginate(
                InstanceArn=instance, PermissionSetArn=ps
            )
            for p in page.get("AttachedManagedPolicies", [])
        ]

    def customer_managed(ps: str) -> list[str]:
        return [
            p["Name"]
            for page in sso.get_paginator("list_customer_managed_policy_references_in_permission_set").paginate(
                InstanceArn=instance, PermissionSetArn=ps
            )
            for p in page.get("CustomerManagedPolicyReferences", [])
        ]

    def apply_one(task: dict[str, Any]) -> None:
        kind = task["type"]
        if kind == "assignment":
            ps = set_arns[task["set"]]
            pid = principals[task["principal"]]
            if find_assignment(task["account"], ps, task["ptype"], pid):
                raise ApplyError("already exists")
            out = sso.create_account_assignment(
                InstanceArn=instance, TargetId=task["account"], TargetType="AWS_ACCOUNT",
                PermissionSetArn=ps, PrincipalType=task["ptype"], PrincipalId=pid,
            )
            request = out["AccountAssignmentCreationStatus"]["RequestId"]
            wait(
                lambda: sso.describe_account_assignment_creation_status(
                    InstanceArn=instance, AccountAssignmentCreationRequestId=request
                )["AccountAssignmentCreationStatus"]["Status"],
                *ASSIGNMENT_WAITER,
                ASSIGNMENT_TIMEOUT,
            )
            if not find_assignment(task["account"], ps, task["ptype"], pid):
                raise ApplyError("reading SSO Account Assignment: empty result (not found after creation)")
        elif kind == "permission_set":
            out = sso.create_permission_set(
                InstanceArn=instance, Name=task["set"], Description=f"{task['set']} service access",
                SessionDuration="PT1H", Tags=[{"Key": "owner", "Value": "platform"}],
            )
            ps = out["PermissionSet"]["PermissionSetArn"]
            with lock:
                set_arns[task["set"]] = ps
            read_set(ps)
        elif kind == "permission_set_update":
            ps = set_arns[task["set"]]
            sso.update_permission_set(
                InstanceArn=instance, PermissionSetArn=ps, Description=f"{task['set']} operations access",
                SessionDuration="PT12H",
            )
            provision(ps, PERMISSION_SET_TIMEOUT)
            read_set(ps)
        elif kind == "inline_policy":
            ps = set_arns[task["set"]]
            sso.put_inline_policy_to_permission_set(InstanceArn=instance, PermissionSetArn=ps, InlinePolicy=task["policy"])
            provision(ps, PERMISSION_SET_TIMEOUT)
            text = sso.get_inline_policy_for_permission_set(InstanceArn=instance, PermissionSetArn=ps).get("InlinePolicy")
            if not text:
                raise ApplyError("reading SSO Permission Set Inline Policy: empty result")
        elif kind == "managed_policy_attachment":
            ps = set_arns[task["set"]]
            if task["arn"] in managed(ps):
                raise ApplyError("already attached")
            sso.attach_managed_policy_to_permission_set(InstanceArn=instance, PermissionSetArn=ps, ManagedPolicyArn=task["arn"])
            provision(ps, PERMISSION_SET_TIMEOUT)
            if task["arn"] not in managed(ps):
                raise ApplyError("reading SSO Managed Policy Attachment: empty result")
        elif kind == "cmp_attachment":
            ps = set_arns[task["set"]]
            if "team-base" in customer_managed(ps):
                raise ApplyError("already attached")
            sso.attach_customer_managed_policy_reference_to_permission_set(
                InstanceArn=instance, PermissionSetArn=ps,
                CustomerManagedPolicyReference={"Name": "team-base", "Path": "/"},
            )
            provision(ps, PERMISSION_SET_TIMEOUT)
            if "team-base" not in customer_managed(ps):
                raise ApplyError("reading SSO Customer Managed Policy Attachment: empty result")
        elif kind == "boundary_attachment":
            ps = set_arns[task["set"]]
            sso.put_permissions_boundary_to_permission_set(
                InstanceArn=instance, PermissionSetArn=ps, PermissionsBoundary=BOUNDARY
            )
            provision(ps, PERMISSION_SET_TIMEOUT)
            sso.get_permissions_boundary_for_permission_set(InstanceArn=instance, PermissionSetArn=ps)
        elif kind == "boundary_destroy":
            ps = set_arns[task["set"]]
            sso.delete_permissions_boundary_from_permission_set(InstanceArn=instance, PermissionSetArn=ps)
            provision(ps, PERMISSION_SET_TIMEOUT)
        else:
            raise ApplyError(f"unknown resource type {kind}")

    # The graph walk: a resource is ready once its dependency succeeded; ready resources start in
    # order, at most `parallelism` at once (Terraform's semaphore).
    results: dict[int, dict[str, Any]] = {}
    waiting = {t["id"]: t for t in plan if "after" in t}
    ready: list[dict[str, Any]] = [t for t in plan if "after" not in t]
    cond = threading.Condition()
    running = 0

    def worker() -> None:
        nonlocal running
        while True:
            with cond:
                while not ready and (running or waiting_pending()):
                    cond.wait(0.5)
                if not ready:
                    return
                task = ready.pop(0)
                running += 1
            start = now()
            error = None
            current.made = False
            try:
                apply_one(task)
            except Exception as e:  # a resource's error: Terraform reports it and carries on
                error = f"{type(e).__name__}: {e}"
            end = now()
            with cond:
                results[task["id"]] = {"start": start, "end": end, "error": error, "made": current.made}
                running -= 1
                for d in list(waiting.values()):
                    if d["after"] == task["id"]:
                        del waiting[d["id"]]
                        if error is None:
                            ready.append(d)
                        else:
                            results[d["id"]] = {"start": end, "end": end, "error": "dependency failed"}
                cond.notify_all()

    def waiting_pending() -> bool:
        return bool(waiting)

    started = now()
    threads = [threading.Thread(target=worker, name=f"apply-{n}") for n in range(args.parallelism)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ended = now()
    args.out.write_text(
        json.dumps(
            {
                "start": started,
                "end": ended,
                "results": {str(k): v for k, v in results.items()},
                "attempts": dict(attempts),
                "errors": dict(errors),
                "status_not_found": status_not_found[0],
                "status_not_found_s": not_found_s[0],
                "sets": set_arns,
            }
        )
    )
    return 0


# ---------------------------------------------------------------------------------------------
# The deployment's delivery settings, read from the template (cfn-lint's decoder)
# ---------------------------------------------------------------------------------------------


@dataclass
class Delivery:
    """How one guard receives its events in a template."""

    function: str
    pattern: dict[str, Any]
    timeout: int
    reserved: int | None
    # SQS delivery (the queue and the event source mapping), None for direct asynchronous invocation.
    visibility_timeout: int | None = None
    max_receive_count: int | None = None
    has_dlq: bool = False
    batch_size: int | None = None
    window: float | None = None
    max_concurrency: int | None = None
    report_failures: bool = False
    api_share: int | None = None

    @property
    def sqs(self) -> bool:
        return self.batch_size is not None


def pascal(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("-"))


def resolve(value: Any, parameters: dict[str, Any]) -> Any:
    """Intrinsics the settings use: Ref (pseudo parameters, parameters' defaults), Fn::If (the
    conditions' default: ReservedConcurrency "true"), AWS::NoValue (None)."""
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            ref = value["Ref"]
            if ref == "AWS::NoValue":
                return None
            if ref in ("AWS::AccountId", "ManagementAccountId"):
                return ACCOUNT
            if ref == "AWS::Region":
                return REGION
            if ref in parameters:
                return parameters[ref]
            raise HarnessError(f"template: cannot resolve Ref {ref}")
        if set(value) == {"Fn::If"}:
            condition, yes, no = value["Fn::If"]
            return resolve(yes if condition == "ReservesConcurrency" else no, parameters)
        return {k: resolve(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, parameters) for v in value]
    return value


def read_template(path: Path) -> dict[str, Delivery]:
    from cfnlint.decode import decode

    template, problems = decode(str(path))
    if problems or template is None:
        raise HarnessError(f"cfn-lint cannot decode {path}: {problems}")
    template = json.loads(json.dumps(template))  # plain dicts and lists
    resources: dict[str, Any] = template["Resources"]
    parameters = {k: v.get("Default") for k, v in template.get("Parameters", {}).items()}
    deliveries = {}
    for name in FUNCTIONS:
        fn = resources[f"{pascal(name)}Function"]["Properties"]
        rule = resources[f"{pascal(name)}Rule"]["Properties"]
        targets = rule["Targets"]
        if len(targets) != 1:
            raise HarnessError(f"template: {pascal(name)}Rule has {len(targets)} targets, expected 1")
        target = targets[0]["Arn"]
        target_id = target["Fn::GetAtt"][0] if isinstance(target, dict) and "Fn::GetAtt" in target else None
        d = Delivery(
            function=name,
            pattern=resolve(rule["EventPattern"], parameters),
            timeout=int(fn.get("Timeout", 3)),
            reserved=resolve(fn.get("ReservedConcurrentExecutions"), parameters),
        )
        env = fn.get("Environment", {}).get("Variables", {})
        if "IDC_GUARD_API_SHARE" in env:
            d.api_share = int(resolve(env["IDC_GUARD_API_SHARE"], parameters))
        if target_id and resources[target_id]["Type"] == "AWS::SQS::Queue":
            queue = resources[target_id]["Properties"]
            d.visibility_timeout = int(queue.get("VisibilityTimeout", 30))
            redrive = queue.get("RedrivePolicy")
            if redrive:
                d.max_receive_count = int(redrive["maxReceiveCount"])
                d.has_dlq = True
            esm = find_mapping(resources, fn, name, target_id)
            d.batch_size = int(esm.get("BatchSize", 10))
            d.window = float(esm.get("MaximumBatchingWindowInSeconds", 0))
            d.max_concurrency = int((esm.get("ScalingConfig") or {}).get("MaximumConcurrency", 1000))
            d.report_failures = "ReportBatchItemFailures" in (esm.get("FunctionResponseTypes") or [])
        elif target_id != f"{pascal(name)}Function":
            raise HarnessError(f"template: {pascal(name)}Rule targets {target_id}, neither a queue nor the function")
        deliveries[name] = d
    return deliveries


def find_mapping(resources: dict[str, Any], fn: dict[str, Any], name: str, queue_id: str) -> dict[str, Any]:
    """The function's SQS event source: SAM `Events: {Type: SQS}` or an AWS::Lambda::EventSourceMapping."""

    def is_queue(ref: Any) -> bool:
        return isinstance(ref, dict) and ref.get("Fn::GetAtt", [None])[0] == queue_id

    for event in (fn.get("Events") or {}).values():
        if event.get("Type") == "SQS" and is_queue(event["Properties"].get("Queue")):
            return event["Properties"]
    for resource in resources.values():
        if resource["Type"] == "AWS::Lambda::EventSourceMapping":
            props = resource["Properties"]
            if is_queue(props.get("EventSourceArn")):
                return props
    raise HarnessError(f"template: no event source mapping reads {queue_id} for {name}")


# ---------------------------------------------------------------------------------------------
# EventBridge: envelopes and patterns
# ---------------------------------------------------------------------------------------------


def envelope(record: dict[str, Any]) -> dict[str, Any]:
    """The EventBridge event for a CloudTrail record (as events/*.json look)."""
    source = record.get("eventSource", "").removesuffix(".amazonaws.com")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": f"aws.{source}",
        "account": record.get("recipientAccountId", ACCOUNT),
        "time": record.get("eventTime"),
        "region": record.get("awsRegion", REGION),
        "resources": [],
        "detail": record,
    }


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """EventBridge pattern matching, for the operators the templates use (values, exists,
    prefix, anything-but, $or); anything else is a harness error rather than a silent miss."""
    for key, want in pattern.items():
        if key == "$or":
            if not any(matches(alternative, event) for alternative in want):
                return False
            continue
        present = isinstance(event, dict) and key in event and event[key] is not None
        value = event.get(key) if isinstance(event, dict) else None
        if isinstance(want, dict):
            if not present or not matches(want, value):
                return False
        elif isinstance(want, list):
            if not any(match_value(w, present, value) for w in want):
                return False
        else:
            raise HarnessError(f"event pattern: {key} is neither a list nor an object")
    return True


def match_value(want: Any, present: bool, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    if isinstance(want, dict):
        if set(want) == {"exists"}:
            return present == bool(want["exists"])
        if set(want) == {"prefix"}:
            return present and any(isinstance(v, str) and v.startswith(want["prefix"]) for v in values)
        if set(want) == {"anything-but"}:
            but = want["anything-but"] if isinstance(want["anything-but"], list) else [want["anything-but"]]
            return present and all(v not in but for v in values)
        raise HarnessError(f"event pattern: unsupported operator {want}")
    return present and want in values


# ---------------------------------------------------------------------------------------------
# The emulator
# ---------------------------------------------------------------------------------------------


class Emulator:
    """tests/emulator/server.py with CloudTrail records and the principals, on a free port."""

    def __init__(self, workdir: Path, tag: str) -> None:
        self.port = bg.free_port()
        self.log_path = workdir / f"emulator-{tag}.log"
        principals = {APPLY_KEY: APPLY_ROLE, **GUARD_PRINCIPALS}
        argv = [str(PYTHON), str(SERVER), "--port", str(self.port), "--cloudtrail"]
        for key, arn in principals.items():
            argv += ["--principal", f"{key}={arn}"]
        with open(self.log_path, "wb") as out:
            self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
            )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise HarnessError(f"the emulator exited with {self.proc.returncode}; log {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise HarnessError(f"the emulator did not answer within 30 s; log {self.log_path}")
            time.sleep(0.05)

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def control(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.endpoint}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise HarnessError(f"emulator {method} {path}: {e.code} {e.read()[:300]!r}") from e
        except (urllib.error.URLError, OSError) as e:
            raise HarnessError(f"emulator {method} {path}: {e}") from e

    def set_limits(self, **changes: Any) -> Any:
        return self.control("POST", "/idc-guard/limits", changes)

    def requests(self, after: int) -> tuple[list[dict[str, Any]], int]:
        out: list[dict[str, Any]] = []
        while True:
            page = self.control("GET", f"/idc-guard/requests?after={after}")
            out += page["requests"]
            if not page["requests"] or page["next"] == after:
                return out, after
            after = page["next"]

    def cloudtrail(self, after: int) -> tuple[list[dict[str, Any]], int]:
        page = self.control("GET", f"/idc-guard/cloudtrail?after={after}")
        return page["records"], page["next"]

    def close(self) -> None:
        bg.stop_process(self.proc)
        self.proc = None


def clients(endpoint: str, key: str = HARNESS_KEY) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "total_max_attempts": 10}, max_pool_connections=32)
    make = lambda service: boto3.client(  # noqa: E731
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=key,
        aws_secret_access_key="testing", config=config,
    )
    return {s: make(s) for s in ("sso-admin", "identitystore", "dynamodb", "ssm", "sqs")}


# ---------------------------------------------------------------------------------------------
# Seeding: the organisation before the apply
# ---------------------------------------------------------------------------------------------


def seed(c: dict[str, Any]) -> dict[str, Any]:
    """10 team sets with a group each, 5 ops sets (the violations' targets), 25 users, all
    compliant: boundary, a 4-hour session; the safety rails' table and kill switch (enforce)."""
    sso, ids = c["sso-admin"], c["identitystore"]
    instance = sso.list_instances()["Instances"][0]
    arn, store = instance["InstanceArn"], instance["IdentityStoreId"]
    sets: dict[str, str] = {}

    def create(name: str, inline: str | None = None) -> None:
        ps = sso.create_permission_set(
            InstanceArn=arn, Name=name, Description=f"{name} access", SessionDuration="PT4H",
            Tags=[{"Key": "owner", "Value": "platform"}],
        )["PermissionSet"]["PermissionSetArn"]
        sso.put_permissions_boundary_to_permission_set(InstanceArn=arn, PermissionSetArn=ps, PermissionsBoundary=BOUNDARY)
        if inline:
            sso.put_inline_policy_to_permission_set(InstanceArn=arn, PermissionSetArn=ps, InlinePolicy=inline)
        sets[name] = ps

    for i in range(TEAM_SETS):
        create(team_set(i))
    for v in VIOLATIONS:
        create(v["set"], READ_POLICY if v["resource"] == "inline_policy" else None)
    principals: dict[str, str] = {}
    for i in range(TEAM_SETS):
        name = f"team-{i:02d}"
        principals[name] = ids.create_group(IdentityStoreId=store, DisplayName=name)["GroupId"]
    for i in range(N_USERS):
        name = f"user-{i:02d}"
        principals[name] = ids.create_user(
            IdentityStoreId=store, UserName=name, DisplayName=f"User {i:02d}",
            Name={"GivenName": "User", "FamilyName": f"{i:02d}"},
        )["UserId"]
    ddb = c["dynamodb"]
    ddb.create_table(
        TableName=bg.STATE_TABLE,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.update_time_to_live(
        TableName=bg.STATE_TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    c["ssm"].put_parameter(Name=bg.KILL_SWITCH, Value="enforce", Type="String", Overwrite=True)
    return {"instance": arn, "store": store, "sets": sets, "principals": principals}


def policy_file(workdir: Path, instance: str, store: str) -> Path:
    """The shipped policy scoped to the instance, as tests/src/world.rs PolicyFile::scoped does."""
    shipped = (ROOT / "policy" / "guardrail.toml").read_text()
    unscoped = '# arn = "arn:aws:sso:::instance/ssoins-0123456789abcdef"\n# identity_store_id = "d-0123456789"'
    scoped = shipped.replace(unscoped, f'arn = "{instance}"\nidentity_store_id = "{store}"')
    if scoped == shipped:
        raise HarnessError("the shipped policy's [instance] lines changed: cannot scope it")
    path = workdir / "guardrail.toml"
    path.write_text(scoped)
    return path


# ---------------------------------------------------------------------------------------------
# The guard functions and what they log
# ---------------------------------------------------------------------------------------------


@dataclass
class LogLine:
    t: float
    function: str
    data: dict[str, Any]


class LogTail(threading.Thread):
    """Reads a function's log file as it grows and stamps each line with its arrival time (the
    guards log JSON without timestamps; CloudWatch adds them)."""

    def __init__(self, path: Path, function: str, sink: list[LogLine], lock: threading.Lock) -> None:
        super().__init__(name=f"tail-{path.name}", daemon=True)
        self.path, self.function, self.sink, self.lock = path, function, sink, lock
        self.stop = threading.Event()
        self.bytes = 0

    def run(self) -> None:
        buffer = b""
        with open(self.path, "rb") as f:
            while True:
                chunk = f.read()
                if chunk:
                    self.bytes += len(chunk)
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    t = now()
                    for line in lines:
                        try:
                            data = json.loads(line)
                        except ValueError:
                            data = {"raw": line.decode(errors="replace")}
                        with self.lock:
                            self.sink.append(LogLine(t, self.function, data))
                elif self.stop.is_set():
                    return
                else:
                    time.sleep(TAIL_POLL_S)


@dataclass
class InvocationRecord:
    function: str
    start: float
    duration_s: float
    events: int
    outcome: str
    failures: int = 0


class Functions:
    """The guard processes of one scenario, each under its own Runtime API stand-in."""

    def __init__(self, workdir: Path, binaries: Path, endpoint: str, policy: Path, counts: dict[str, int],
                 api_share: int | None, tag: str) -> None:
        self.processes: dict[str, list[Any]] = {f: [] for f in FUNCTIONS}
        self.lines: list[LogLine] = []
        self.lock = threading.Lock()
        self.tails: list[LogTail] = []
        self.invocations: list[InvocationRecord] = []
        try:
            for function in FUNCTIONS:
                for n in range(counts[function]):
                    extra = [f"AWS_ACCESS_KEY_ID={GUARD_KEYS[function]}", f"IDC_GUARD_OWN_ROLES={OWN_ROLES}"]
                    if api_share is not None:
                        extra.append(f"IDC_GUARD_API_SHARE={api_share}")
                    argv = ["/usr/bin/env", *extra, str(binaries / function)]
                    started = bg.start_function(argv, function, endpoint, policy, workdir, f"{tag}-{n}")
                    self.processes[function].append(started)
                    tail = LogTail(started.log_path, function, self.lines, self.lock)
                    tail.start()
                    self.tails.append(tail)
        except BaseException:
            self.close()
            raise

    def record(self, r: InvocationRecord) -> None:
        with self.lock:
            self.invocations.append(r)

    def log_bytes(self) -> int:
        return sum(t.bytes for t in self.tails)

    def close(self) -> None:
        for procs in self.processes.values():
            for started in procs:
                bg.stop_function(started)
        for tail in self.tails:
            tail.stop.set()
        for tail in self.tails:
            tail.join(timeout=5)


class DeployedRuntimeApi(bg.RuntimeApi):
    """bench-guard's Runtime API stand-in, answering each invocation's Lambda-Runtime-Deadline-Ms
    with the deployed function's Timeout (bench-guard gives every function 15 minutes); the guards
    stop starting work in a batch's last minute, so the deadline shapes what a batch returns."""

    timeouts: dict[str, int] = {}

    def __init__(self, function_name: str) -> None:
        super().__init__(function_name)
        seconds = self.timeouts.get(function_name)
        if not seconds:
            return
        base = self._server.RequestHandlerClass

        class Handler(base):  # type: ignore[misc, valid-type]
            def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                if headers and "Lambda-Runtime-Deadline-Ms" in headers:
                    headers = {**headers, "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + seconds * 1000)}
                super()._reply(status, body, headers)

        # socketserver makes a handler per request from this attribute; no request has come yet.
        self._server.RequestHandlerClass = Handler


# bench-guard's start_function makes its Runtime API through this module attribute.
bg.RuntimeApi = DeployedRuntimeApi


def invoke(started: Any, body: bytes, timeout: float) -> Any:
    return started.runtime.invoke(body, timeout, started.proc)


# ---------------------------------------------------------------------------------------------
# Delivery stand-ins
# ---------------------------------------------------------------------------------------------


@dataclass
class Routed:
    event_id: str
    event_name: str
    function: str
    t: float
    seq: int
    message_ids: list[str] = field(default_factory=list)


class Accounting:
    """What the stand-ins did with every record: routed where, deleted, returned, parked."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records = 0
        self.failed_records = 0
        self.unrouted: Counter[str] = Counter()
        self.routed: dict[str, Routed] = {}
        self.by_message: dict[str, str] = {}  # message id -> event id
        self.deleted: set[str] = set()  # message ids
        self.returned: Counter[str] = Counter()  # message id -> times returned (batch item failure or error)
        self.received_at: dict[str, float] = {}  # message id -> last receive
        self.answered: set[str] = set()  # event ids answered (async: the report in the response)
        self.parked: list[str] = []  # event ids in the (async) dead-letter queue
        self.sqs_calls: Counter[str] = Counter()
        self.empty_receives = 0
        self.function_errors = 0
        self.answers: dict[str, dict[str, Any]] = {}  # async: event id -> report


class EventBridge(threading.Thread):
    """Polls the emulator's CloudTrail records, wraps each in an EventBridge envelope and hands
    it to the first guard whose rule's pattern matches (the guards' patterns are disjoint)."""

    def __init__(self, emulator: Emulator, after: int, deliveries: dict[str, Delivery],
                 send: Callable[[str, dict[str, Any]], list[str]], acct: Accounting) -> None:
        super().__init__(name="eventbridge", daemon=True)
        self.emulator, self.after, self.deliveries, self.send, self.acct = emulator, after, deliveries, send, acct
        self.stop = threading.Event()
        self.idle_since = now()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                records, after = self.emulator.cloudtrail(self.after)
                for item in records:
                    self.route(item["seq"], item["record"])
                self.after = after
                if records:
                    self.idle_since = now()
                else:
                    time.sleep(EVENTBRIDGE_POLL_S)
        except BaseException as e:  # noqa: BLE001 (reported by the scenario)
            self.error = e

    def route(self, seq: int, record: dict[str, Any]) -> None:
        event = envelope(record)
        with self.acct.lock:
            self.acct.records += 1
            if record.get("errorCode"):
                self.acct.failed_records += 1
        targets = [f for f, d in self.deliveries.items() if matches(d.pattern, event)]
        if not targets:
            with self.acct.lock:
                why = record["errorCode"] if record.get("errorCode") else "no rule matches"
                self.acct.unrouted[f"{record.get('eventName', '?')} ({why})"] += 1
            return
        function = targets[0]
        routed = Routed(record["eventID"], record.get("eventName", "?"), function, now(), seq)
        with self.acct.lock:
            self.acct.routed[routed.event_id] = routed
        ids = self.send(function, event)
        with self.acct.lock:
            routed.message_ids += ids
            for m in ids:
                self.acct.by_message[m] = routed.event_id


class SqsDelivery:
    """The queues (moto, as the template configures them) and one event source mapping per guard."""

    def __init__(self, c: dict[str, Any], deliveries: dict[str, Delivery], functions: Functions,
                 acct: Accounting, visibility_override: int | None) -> None:
        self.sqs = c["sqs"]
        self.deliveries, self.functions, self.acct = deliveries, functions, acct
        self.urls: dict[str, str] = {}
        self.arns: dict[str, str] = {}
        self.dlq_urls: dict[str, str] = {}
        self.stop = threading.Event()
        self.busy = 0
        self.busy_lock = threading.Lock()
        self.errors: list[BaseException] = []
        for function, d in deliveries.items():
            visibility = visibility_override if visibility_override is not None else d.visibility_timeout
            attributes = {"VisibilityTimeout": str(visibility)}
            if d.has_dlq:
                dlq = self.sqs.create_queue(QueueName=f"idc-guard-{function}-dead-letters",
                                            Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
                self.dlq_urls[function] = dlq
                dlq_arn = self.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                attributes["RedrivePolicy"] = json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": d.max_receive_count}
                )
            url = self.sqs.create_queue(QueueName=f"idc-guard-{function}", Attributes=attributes)["QueueUrl"]
            self.urls[function] = url
            self.arns[function] = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"]["QueueArn"]
        self.visibility = {f: (visibility_override if visibility_override is not None else d.visibility_timeout)
                           for f, d in deliveries.items()}
        self.threads = [
            threading.Thread(target=self.poller, args=(f, started), name=f"esm-{f}-{n}", daemon=True)
            for f in FUNCTIONS
            for n, started in enumerate(functions.processes[f])
        ]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def send(self, function: str, event: dict[str, Any]) -> list[str]:
        out = self.sqs.send_message(QueueUrl=self.urls[function], MessageBody=json.dumps(event))
        with self.acct.lock:
            self.acct.sqs_calls["SendMessage"] += 1
        return [out["MessageId"]]

    def gather(self, function: str) -> list[dict[str, Any]]:
        d = self.deliveries[function]
        assert d.batch_size is not None and d.window is not None
        batch: list[dict[str, Any]] = []
        first: float | None = None
        while not self.stop.is_set() and len(batch) < d.batch_size:
            left = None if first is None else d.window - (now() - first)
            if left is not None and left <= 0:
                break
            wait = 1 if left is None or left >= 1 else 0
            got = self.sqs.receive_message(
                QueueUrl=self.urls[function], MaxNumberOfMessages=min(10, d.batch_size - len(batch)),
                WaitTimeSeconds=wait, AttributeNames=["All"], MessageAttributeNames=["All"],
            ).get("Messages", [])
            with self.acct.lock:
                if got:
                    self.acct.sqs_calls["ReceiveMessage"] += 1
                    for m in got:
                        self.acct.received_at[m["MessageId"]] = now()
                else:
                    self.acct.empty_receives += 1
            if got and first is None:
                first = now()
            batch += got
            if not got and left is not None and left < 1:
                time.sleep(min(0.1, max(left, 0)))
        return batch

    def poller(self, function: str, started: Any) -> None:
        d = self.deliveries[function]
        try:
            while not self.stop.is_set():
                batch = self.gather(function)
                if not batch:
                    continue
                with self.busy_lock:
                    self.busy += 1
                try:
                    self.handle(function, d, started, batch)
                finally:
                    with self.busy_lock:
                        self.busy -= 1
        except BaseException as e:  # noqa: BLE001 (reported by the scenario)
            self.errors.append(e)

    def handle(self, function: str, d: Delivery, started: Any, batch: list[dict[str, Any]]) -> None:
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.arns[function],
                    "awsRegion": REGION,
                }
                for m in batch
            ]
        }
        start = now()
        invocation = invoke(started, json.dumps(event).encode(), d.timeout + 60)
        assert invocation.delivered_at is not None and invocation.answered_at is not None
        failed: set[str] = set()
        if invocation.outcome == "response":
            answer = json.loads(invocation.answer or b"null") or {}
            if d.report_failures:
                failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
            outcome = "response"
        else:  # a function error returns the whole batch
            failed = {m["MessageId"] for m in batch}
            outcome = "error"
            with self.acct.lock:
                self.acct.function_errors += 1
        self.functions.record(InvocationRecord(function, start, invocation.answered_at - invocation.delivered_at,
                                               len(batch), outcome, len(failed)))
        done = [m for m in batch if m["MessageId"] not in failed]
        for i in range(0, len(done), 10):
            chunk = done[i:i + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.urls[function],
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)],
            )
            with self.acct.lock:
                self.acct.sqs_calls["DeleteMessageBatch"] += 1
        with self.acct.lock:
            self.acct.deleted |= {m["MessageId"] for m in done}
            for m in failed:
                self.acct.returned[m] += 1

    def depth(self) -> dict[str, dict[str, int]]:
        out = {}
        for function, url in self.urls.items():
            a = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            entry = {"visible": int(a["ApproximateNumberOfMessages"]),
                     "in_flight": int(a["ApproximateNumberOfMessagesNotVisible"])}
            if function in self.dlq_urls:
                b = self.sqs.get_queue_attributes(QueueUrl=self.dlq_urls[function], AttributeNames=["All"])["Attributes"]
                entry["dead_letters"] = int(b["ApproximateNumberOfMessages"]) + int(
                    b["ApproximateNumberOfMessagesNotVisible"])
            out[function] = entry
        return out

    def idle(self) -> bool:
        with self.busy_lock:
            return self.busy == 0

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=15)


class AsyncDelivery:
    """The previous design: EventBridge invokes the guard asynchronously, once per event; Lambda
    queues the event until a concurrency slot is free, retries a function error after 1 and then
    2 minutes, then parks it in the dead-letter queue."""

    RETRY_DELAYS = (60.0, 120.0)

    def __init__(self, deliveries: dict[str, Delivery], functions: Functions, acct: Accounting) -> None:
        self.deliveries, self.functions, self.acct = deliveries, functions, acct
        self.cond = threading.Condition()
        self.pending: dict[str, list[tuple[float, int, str, bytes]]] = {f: [] for f in FUNCTIONS}
        self.busy = 0
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self.worker, args=(f, started), name=f"async-{f}-{n}", daemon=True)
            for f in FUNCTIONS
            for n, started in enumerate(functions.processes[f])
        ]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def send(self, function: str, event: dict[str, Any]) -> list[str]:
        with self.cond:
            self.pending[function].append((now(), 1, event["detail"]["eventID"], json.dumps(event).encode()))
            self.cond.notify_all()
        return []

    def take(self, function: str) -> tuple[float, int, str, bytes] | None:
        with self.cond:
            while not self.stop.is_set():
                due = [p for p in self.pending[function] if p[0] <= now()]
                if due:
                    item = min(due)
                    self.pending[function].remove(item)
                    self.busy += 1
                    return item
                self.cond.wait(0.2)
            return None

    def worker(self, function: str, started: Any) -> None:
        d = self.deliveries[function]
        try:
            while True:
                item = self.take(function)
                if item is None:
                    return
                _, attempt, event_id, body = item
                try:
                    start = now()
                    invocation = invoke(started, body, d.timeout + 60)
                    assert invocation.delivered_at is not None and invocation.answered_at is not None
                    self.functions.record(InvocationRecord(
                        function, start, invocation.answered_at - invocation.delivered_at, 1, invocation.outcome or "?"))
                    if invocation.outcome == "response":
                        report = json.loads(invocation.answer or b"null")
                        with self.acct.lock:
                            self.acct.answered.add(event_id)
                            if report:
                                self.acct.answers[event_id] = report
                    else:
                        with self.acct.lock:
                            self.acct.function_errors += 1
                        with self.cond:
                            if attempt <= len(self.RETRY_DELAYS):
                                self.pending[function].append(
                                    (now() + self.RETRY_DELAYS[attempt - 1], attempt + 1, event_id, body))
                            else:
                                with self.acct.lock:
                                    self.acct.parked.append(event_id)
                finally:
                    with self.cond:
                        self.busy -= 1
                        self.cond.notify_all()
        except BaseException as e:  # noqa: BLE001 (reported by the scenario)
            self.errors.append(e)

    def outstanding(self) -> tuple[int, float | None]:
        """Events waiting (now or for a retry) and when the last of them is due."""
        with self.cond:
            items = [p for ps in self.pending.values() for p in ps]
            return len(items) + self.busy, max((p[0] for p in items), default=None)

    def close(self) -> None:
        self.stop.set()
        with self.cond:
            self.cond.notify_all()
        for t in self.threads:
            t.join(timeout=15)


# ---------------------------------------------------------------------------------------------
# A scenario
# ---------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str  # "without", "with", "before"
    title: str
    binaries: Path | None = None
    template: Path | None = None


def run_scenario(sc: Scenario, args: argparse.Namespace, workdir: Path, plan: list[dict[str, Any]]) -> dict[str, Any]:
    log(f"== scenario {sc.name}: {sc.title}")
    emulator = None
    functions = None
    delivery: SqsDelivery | AsyncDelivery | None = None
    bridge = None
    out: dict[str, Any] = {"name": sc.name, "title": sc.title}
    try:
        emulator = Emulator(workdir, sc.name)
        c = clients(emulator.endpoint)
        t0 = time.monotonic()
        world = seed(c)
        log(f"   emulator on {emulator.endpoint} (pid {emulator.proc.pid if emulator.proc else '?'}), "
            f"seeded in {time.monotonic() - t0:.1f} s")
        _, ct_mark = emulator.cloudtrail(0)
        while True:  # skip the seeding's records
            records, nxt = emulator.cloudtrail(ct_mark)
            if not records:
                break
            ct_mark = nxt
        acct = Accounting()
        deliveries: dict[str, Delivery] = {}
        if sc.template is not None:
            assert sc.binaries is not None
            deliveries = read_template(sc.template)
            policy = policy_file(workdir, world["instance"], world["store"])
            api_share = next((d.api_share for d in deliveries.values() if d.api_share is not None), None)
            if all(d.sqs for d in deliveries.values()):
                counts = {f: int(d.max_concurrency or 1) for f, d in deliveries.items()}
            elif not any(d.sqs for d in deliveries.values()):
                counts = {f: int(d.reserved or args.unreserved) for f, d in deliveries.items()}
            else:
                raise HarnessError(f"{sc.template}: some guards read queues, others do not")
            out["deliveries"] = {f: d.__dict__ | {"processes": counts[f]} for f, d in deliveries.items()}
            DeployedRuntimeApi.timeouts = {f: d.timeout for f, d in deliveries.items()}
            functions = Functions(workdir, sc.binaries, emulator.endpoint, policy, counts, api_share, sc.name)
            log(f"   functions from {sc.binaries}: " + ", ".join(f"{f} x{n}" for f, n in counts.items())
                + (f"; IDC_GUARD_API_SHARE={api_share}" if api_share is not None else ""))
            if all(d.sqs for d in deliveries.values()):
                delivery = SqsDelivery(c, deliveries, functions, acct, args.visibility_timeout)
                log("   delivery: EventBridge -> SQS -> event source mapping: " + "; ".join(
                    f"{f} batch {d.batch_size}, window {d.window:g} s, max concurrency {d.max_concurrency}, "
                    f"visibility {delivery.visibility[f]} s, maxReceiveCount {d.max_receive_count}"
                    for f, d in deliveries.items()))
            else:
                delivery = AsyncDelivery(deliveries, functions, acct)
                log("   delivery: EventBridge -> asynchronous invocation, one event each; reserved concurrency "
                    + ", ".join(f"{f} {d.reserved if d.reserved else 'unreserved'}" for f, d in deliveries.items()))
            delivery.start()
            bridge = EventBridge(emulator, ct_mark, deliveries, delivery.send, acct)
            bridge.start()
        _, req_mark = emulator.requests(0)
        limits = emulator.set_limits(enabled=True, rate=args.rate, burst=args.burst or args.rate,
                                     outstanding=args.outstanding, async_seconds=args.async_seconds)
        out["limits"] = limits
        world_file = workdir / f"world-{sc.name}.json"
        world_file.write_text(json.dumps({**world, "endpoint": emulator.endpoint, "plan": plan}))
        result_file = workdir / f"apply-{sc.name}.json"
        log(f"   apply: {len(plan)} resources, parallelism {args.parallelism}, waiters x{args.time_scale:g}")
        apply_proc = subprocess.Popen(
            [str(PYTHON), str(Path(__file__).resolve()), "apply-worker", "--world", str(world_file),
             "--out", str(result_file), "--time-scale", str(args.time_scale), "--parallelism", str(args.parallelism)],
            cwd=ROOT,
        )
        try:
            status = apply_proc.wait(timeout=args.apply_deadline)
        except subprocess.TimeoutExpired:
            bg.stop_process(apply_proc)
            raise HarnessError(f"the apply did not finish within {args.apply_deadline} s") from None
        finally:
            bg.stop_process(apply_proc)
        if status != 0 or not result_file.exists():
            raise HarnessError(f"the apply worker failed (status {status})")
        applied = json.loads(result_file.read_text())
        out["apply"] = applied
        wall = applied["end"] - applied["start"]
        failed = sum(1 for r in applied["results"].values() if r["error"])
        log(f"   apply done in {wall:.1f} s, {failed} resource(s) failed")
        drain_end = applied["end"]
        if delivery is not None and bridge is not None:
            drain_end = drain(delivery, bridge, acct, applied["end"], args)
        out["drain_end"] = drain_end
        # Stop delivering and the functions before reading the final state.
        if delivery is not None:
            delivery.close()
            errors = delivery.errors
            if errors:
                raise HarnessError(f"delivery stand-in failed: {errors[0]!r}")
        if bridge is not None:
            bridge.stop.set()
            bridge.join(timeout=5)
            if bridge.error:
                raise HarnessError(f"EventBridge stand-in failed: {bridge.error!r}")
        if isinstance(delivery, SqsDelivery):
            out["queues"] = delivery.depth()
        if isinstance(delivery, AsyncDelivery):
            out["async_pending"] = [p[2] for ps in delivery.pending.values() for p in ps]
        if functions is not None:
            functions.close()
            out["log_bytes"] = functions.log_bytes()
            out["invocations"] = [r.__dict__ for r in functions.invocations]
            out["log"] = [{"t": ln.t, "function": ln.function, **ln.data} for ln in functions.lines]
        requests, _ = emulator.requests(req_mark)
        out["requests"] = requests
        emulator.set_limits(enabled=False)
        out["final"] = final_state(c, world, applied["sets"], plan)
        out["world"] = {k: world[k] for k in ("instance", "store")} | {"sets": applied["sets"],
                                                                       "principals": world["principals"]}
        out["accounting"] = {
            "records": acct.records, "failed_records": acct.failed_records, "unrouted": dict(acct.unrouted),
            "routed": {k: v.__dict__ for k, v in acct.routed.items()}, "deleted": sorted(acct.deleted),
            "returned": dict(acct.returned), "answered": sorted(acct.answered), "parked": acct.parked,
            "sqs_calls": dict(acct.sqs_calls), "empty_receives": acct.empty_receives,
            "function_errors": acct.function_errors, "by_message": acct.by_message,
            "received_at": acct.received_at, "answers": acct.answers,
        }
        return out
    finally:
        if delivery is not None:
            delivery.close()
        if bridge is not None:
            bridge.stop.set()
        if functions is not None:
            functions.close()
        if emulator is not None:
            emulator.close()


def drain(delivery: SqsDelivery | AsyncDelivery, bridge: EventBridge, acct: Accounting, apply_end: float,
          args: argparse.Namespace) -> float:
    """Waits until every event is handled (the record stream quiet, nothing queued or running),
    or until nothing more can happen before the deadline (returned messages invisible past it,
    retries due past it), or the deadline; the time it ended."""
    deadline = apply_end + args.drain_seconds
    quiet = 0
    while now() < deadline:
        if bridge.error:
            raise HarnessError(f"EventBridge stand-in failed: {bridge.error!r}")
        time.sleep(1.0)
        stream_quiet = now() - bridge.idle_since > 2 * EVENTBRIDGE_POLL_S + 1
        if isinstance(delivery, SqsDelivery):
            if delivery.errors:
                raise HarnessError(f"event source mapping stand-in failed: {delivery.errors[0]!r}")
            depth = delivery.depth()
            visible = sum(q["visible"] for q in depth.values())
            in_flight = sum(q["in_flight"] for q in depth.values())
            if stream_quiet and visible == 0 and delivery.idle():
                if in_flight == 0:
                    quiet += 1
                else:
                    # Only returned messages are left: they come back after the visibility timeout.
                    with acct.lock:
                        back = [acct.received_at[m] + delivery.visibility[acct.routed[acct.by_message[m]].function]
                                for m in acct.returned if m not in acct.deleted and m in acct.by_message]
                    if back and min(back) > deadline:
                        log(f"   {in_flight} returned message(s) invisible until after the deadline: not waiting")
                        return now()
                    quiet = 0
            else:
                quiet = 0
        else:
            if delivery.errors:
                raise HarnessError(f"asynchronous invocation stand-in failed: {delivery.errors[0]!r}")
            waiting, last_due = delivery.outstanding()
            if stream_quiet and waiting == 0:
                quiet += 1
            else:
                quiet = 0
                if last_due is not None and last_due > deadline and delivery.busy == 0 and all(
                        p[0] > now() for ps in delivery.pending.values() for p in ps):
                    log(f"   {waiting} event(s) wait for a retry due after the deadline: not waiting")
                    return now()
        if quiet >= 3:
            log(f"   drained {now() - apply_end:.1f} s after the apply ended")
            return now() - 3
    log(f"   not drained {args.drain_seconds} s after the apply ended: stopping")
    return now()


def final_state(c: dict[str, Any], world: dict[str, Any], sets: dict[str, str], plan: list[dict[str, Any]]) -> dict[str, Any]:
    """What the organisation looks like once everything stopped: the planted violations, and the
    apply's compliant resources (which idc-guard must have left alone)."""
    sso = c["sso-admin"]
    instance = world["instance"]
    principals = world["principals"]
    out: dict[str, Any] = {}

    def assigned(account: str, ps: str) -> set[tuple[str, str]]:
        found = set()
        for page in sso.get_paginator("list_account_assignments").paginate(
                InstanceArn=instance, AccountId=account, PermissionSetArn=ps):
            found |= {(a["PrincipalType"], a["PrincipalId"]) for a in page["AccountAssignments"]}
        return found

    cache: dict[tuple[str, str], set[tuple[str, str]]] = {}
    users_left, groups_missing = [], []
    for t in plan:
        if t["type"] != "assignment":
            continue
        key = (t["account"], sets[t["set"]])
        if key not in cache:
            cache[key] = assigned(*key)
        present = (t["ptype"], principals[t["principal"]]) in cache[key]
        if t["ptype"] == "USER" and present:
            users_left.append(f"{t['principal']} {t['set']} {t['account']}")
        if t["ptype"] == "GROUP" and not present:
            groups_missing.append(f"{t['principal']} {t['set']} {t['account']}")
    out["user_assignments_left"] = users_left
    out["group_assignments_missing"] = groups_missing

    def state(name: str) -> dict[str, Any]:
        ps = sets[name]
        described = sso.describe_permission_set(InstanceArn=instance, PermissionSetArn=ps)["PermissionSet"]
        inline = sso.get_inline_policy_for_permission_set(InstanceArn=instance, PermissionSetArn=ps).get("InlinePolicy", "")
        managed = [p["Arn"] for p in sso.list_managed_policies_in_permission_set(
            InstanceArn=instance, PermissionSetArn=ps)["AttachedManagedPolicies"]]
        try:
            boundary = sso.get_permissions_boundary_for_permission_set(
                InstanceArn=instance, PermissionSetArn=ps).get("PermissionsBoundary")
        except sso.exceptions.ResourceNotFoundException:
            boundary = None
        cmp = [p["Name"] for p in sso.list_customer_managed_policy_references_in_permission_set(
            InstanceArn=instance, PermissionSetArn=ps)["CustomerManagedPolicyReferences"]]
        return {"session": described.get("SessionDuration"), "inline": inline, "managed": managed,
                "boundary": boundary, "cmp": cmp}

    violations = {}
    for v in VIOLATIONS:
        s = state(v["set"])
        if v["resource"] == "permission_set_update":
            ok = duration_hours(s["session"]) <= 8
        elif v["resource"] == "inline_policy":
            ok = ("iam:*" if v["policy"] == "iam" else "organizations:*") not in s["inline"]
        elif v["resource"] == "managed_policy_attachment":
            ok = v["arn"] not in s["managed"]
        else:
            ok = s["boundary"] == BOUNDARY
        violations[v["set"]] = {"what": v["what"], "corrected": ok, "state": s}
    out["violations"] = violations
    problems = []
    for i in range(NEW_SETS):
        name = new_set(i)
        if name not in sets:
            problems.append(f"{name}: not created")
            continue
        s = state(name)
        if s["boundary"] != BOUNDARY:
            problems.append(f"{name}: boundary {s['boundary']}")
        if READ_ONLY not in s["managed"]:
            problems.append(f"{name}: managed {s['managed']}")
        if "team-base" not in s["cmp"]:
            problems.append(f"{name}: customer managed {s['cmp']}")
        if "s3:GetObject" not in s["inline"]:
            problems.append(f"{name}: inline {s['inline'][:80]}")
    out["new_set_problems"] = problems
    return out


def duration_hours(iso: str | None) -> float:
    m = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?", iso or "")
    if not m:
        return float("inf")
    return int(m[1] or 0) + int(m[2] or 0) / 60


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


GUARD_KEY_SET = set(GUARD_KEYS.values())
IDENTITY_CENTER = ("sso-admin", "identitystore")


def analyse(run: dict[str, Any], plan: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of one scenario."""
    applied = run["apply"]
    start, end = applied["start"], applied["end"]
    requests = run["requests"]
    apply_reqs = [r for r in requests if r["key"] == APPLY_KEY]
    guard_reqs = [r for r in requests if r["key"] in GUARD_KEY_SET]
    guard_ic = [r for r in guard_reqs if r["service"] in IDENTITY_CENTER]
    failed = {k: v["error"] for k, v in applied["results"].items() if v["error"]}
    by_task = {str(t["id"]): t for t in plan}
    fig: dict[str, Any] = {
        "wall_s": end - start,
        "apply_requests": len(apply_reqs),
        "apply_throttled": sum(1 for r in apply_reqs if r.get("throttled")),
        "apply_throttled_by_op": dict(Counter(r["operation"] for r in apply_reqs if r.get("throttled"))),
        "apply_errors_seen": applied["errors"],
        "status_not_found": applied.get("status_not_found", 0),
        "status_not_found_s": applied.get("status_not_found_s", 0.0),
        "apply_failed": {f"{by_task[k]['type']} {by_task[k].get('set', '')} "
                         f"{by_task[k].get('account', '')} {by_task[k].get('principal', '')}".strip(): v
                         for k, v in failed.items()},
    }
    if not run.get("deliveries"):
        return fig
    sso_only = [r for r in guard_ic if r["service"] == "sso-admin"]
    fig["guard_sso_admin"] = len(sso_only)
    fig["guard_identitystore"] = len(guard_ic) - len(sso_only)
    fig["guard_throttled"] = sum(1 for r in guard_ic if r.get("throttled"))
    fig["guard_ops"] = dict(Counter(f"{r['service']}:{r['operation']}" for r in guard_ic).most_common())
    resources = distinct_resources(plan)
    fig["distinct_resources"] = resources
    fig["per_resource"] = len(sso_only) / sum(resources.values())
    # The budget: 20 requests/s for everyone; idc-guard's share in the worst 10 s and overall.
    times = sorted(r["t"] for r in guard_ic)
    worst, worst_at, j = 0, None, 0
    for i, t in enumerate(times):
        while times[j] < t - 10:
            j += 1
        if i - j + 1 > worst:
            worst, worst_at = i - j + 1, t - 10
    fig["share_worst_10s"] = worst / (RATE * 10)
    fig["share_worst_10s_at"] = (worst_at - start) if worst_at is not None else None
    during = [t for t in times if start <= t <= end]
    fig["share_burst"] = len(during) / (RATE * (end - start))
    accepted = [r["t"] for r in guard_ic if not r.get("throttled") and start <= r["t"] <= end]
    fig["share_burst_accepted"] = len(accepted) / (RATE * (end - start))
    fig["guard_requests_during_apply"] = len(during)
    fig["guard_requests_after_apply"] = sum(1 for t in times if t > end)
    # The safety rails.
    rails = [r for r in guard_reqs if r["service"] in ("dynamodb", "ssm")]
    ddb = Counter(r["operation"] for r in rails if r["service"] == "dynamodb")
    fig["rails_ops"] = dict(ddb.most_common())
    fig["ssm_calls"] = sum(1 for r in rails if r["service"] == "ssm")
    acct = run["accounting"]
    routed = acct["routed"]
    fig["events"] = len(routed)
    fig["events_by_function"] = dict(Counter(v["function"] for v in routed.values()))
    fig["records"] = acct["records"]
    fig["unrouted"] = acct["unrouted"]
    fig["ddb_per_event"] = sum(ddb.values()) / max(1, len(routed))
    fig["ddb_calls"] = sum(ddb.values())
    # What happened to each routed event.
    handled: dict[str, list[dict[str, Any]]] = defaultdict(list)
    outcomes = []
    for line in run["log"]:
        fields = line.get("fields") or {}
        if fields.get("message") == "handled" and "event_id" in fields:
            handled[fields["event_id"]].append(fields)
        if "outcome" in fields and "rule" in fields and "event_id" in fields:
            outcomes.append({"t": line["t"], "function": line["function"], **fields})
    reported = set(handled)
    if run["deliveries"] and not all(d.get("batch_size") for d in run["deliveries"].values()):
        reported |= set(acct["answered"])
    deleted_events = {acct["by_message"][m] for m in acct["deleted"] if m in acct["by_message"]}
    unaccounted = [e for e in routed if e not in reported and e not in deleted_events]
    # Not lost: returned to the queue (visible again after the visibility timeout) or waiting for
    # Lambda's next asynchronous retry when the run stopped.
    returned_events = {acct["by_message"][m] for m in acct["returned"] if m not in acct["deleted"]
                       and m in acct["by_message"]}
    waiting = set(run.get("async_pending", []))
    fig["still_queued"] = [e for e in unaccounted if e in returned_events or e in waiting]
    unaccounted = [e for e in unaccounted if e not in returned_events and e not in waiting]
    deleted_unreported = [e for e in routed if e not in reported and e in deleted_events]
    fig["reported"] = len([e for e in routed if e in reported])
    fig["deleted_without_report"] = deleted_unreported
    fig["unaccounted"] = unaccounted
    queues = run.get("queues") or {}
    fig["dead_letters"] = sum(q.get("dead_letters", 0) for q in queues.values()) + len(acct["parked"])
    fig["left_in_queues"] = {f: q for f, q in queues.items() if q["visible"] or q["in_flight"]}
    fig["returned_messages"] = len(acct["returned"])
    fig["function_errors"] = acct["function_errors"]
    fig["coalesced"] = sum(1 for hs in handled.values() if any(h.get("coalesced_with") for h in hs))
    fig["triaged"] = sum(1 for hs in handled.values() if any(h.get("triaged") for h in hs))
    fig["paced"] = sorted({json.dumps({k: v for k, v in (line.get("fields") or {}).items() if k != "message"})
                           for line in run["log"] if (line.get("fields") or {}).get("message") == "paced"})
    fig["verdicts"] = dict(Counter(str(hs[-1].get("verdict")) for hs in handled.values()))
    fig["outcomes"] = dict(Counter(f"{o['rule']}: {o['outcome']}" for o in outcomes))
    fig.update(corrections(run, outcomes, start, end))
    n_remediated = sum(1 for o in outcomes if o["outcome"] == REMEDIATED)
    fig["remediated"] = n_remediated
    fig["ddb_per_correction"] = sum(ddb.values()) / n_remediated if n_remediated else None
    # Cost.
    invocations = run["invocations"]
    gb_s = sum(math.ceil(i["duration_s"] * 1000) / 1000 for i in invocations) * MEMORY_GB
    rru = ddb["GetItem"] + ddb["Query"] + ddb["BatchGetItem"] + ddb["Scan"]
    wru = ddb["PutItem"] + ddb["DeleteItem"] + ddb["UpdateItem"] + ddb["BatchWriteItem"] + 2 * ddb["TransactWriteItems"]
    sqs = sum(acct["sqs_calls"].values())
    n = max(1, len(routed))
    cost = {
        "lambda_requests": len(invocations) * PRICE["lambda_request"],
        "lambda_duration": gb_s * PRICE["lambda_gb_s_arm64"],
        "dynamodb": rru * PRICE["ddb_rru"] + wru * PRICE["ddb_wru"],
        "sqs": sqs * PRICE["sqs_request"],
        "logs": run.get("log_bytes", 0) / 1e9 * PRICE["logs_gb"],
    }
    fig["cost_inputs"] = {"invocations": len(invocations), "gb_s": gb_s, "rru": rru, "wru": wru, "sqs_requests": sqs,
                          "empty_receives": acct["empty_receives"], "log_bytes": run.get("log_bytes", 0),
                          "batch_ops_unsized": ddb["BatchWriteItem"] + ddb["BatchGetItem"] + ddb["TransactWriteItems"]}
    fig["cost_per_1000"] = {k: v * 1000 / n for k, v in cost.items()}
    fig["cost_per_1000"]["total"] = sum(cost.values()) * 1000 / n
    fig["invocation_s"] = summarise([i["duration_s"] for i in invocations])
    fig["events_per_invocation"] = sum(i["events"] for i in invocations) / max(1, len(invocations))
    return fig


def summarise(values: list[float]) -> dict[str, float] | None:
    return bg.summary(values) if values else None


def corrections(run: dict[str, Any], outcomes: list[dict[str, Any]], start: float, end: float) -> dict[str, Any]:
    """Each planted violation: when the apply made it, when a guard reported it corrected and
    verified (`remediated`, found by rule and resource), and whether the final state shows it gone."""
    world = run["world"]
    sets, principals = world["sets"], world["principals"]
    final = run["final"]
    results = run["apply"]["results"]
    plan = make_plan()
    made_at = {}  # when the apply started the resource that made each violation
    for t in plan:
        result = results[str(t["id"])]
        if t.get("violation") and result.get("made", True):
            key = f"USER {t['principal']} {t['set']} {t['account']}" if t["type"] == "assignment" else t["set"]
            made_at[key] = result["start"]
    items = []
    remediated = [o for o in outcomes if o["outcome"] == REMEDIATED]
    for account, s, user in user_assignments():
        if f"USER {user} {s} {account}" not in made_at:
            continue  # the apply failed before making it: nothing to correct
        uid = principals[user]
        hit = [o for o in remediated if o["rule"] == "assignment-principal-type" and uid in str(o.get("resource", ""))
               and (account in str(o.get("resource", "")) or sets[s] in str(o.get("resource", "")))]
        left = f"{user} {s} {account}" in final["user_assignments_left"]
        items.append({"what": f"USER {user} {s} {account}", "corrected_at": min((o["t"] for o in hit), default=None),
                      "made_at": made_at.get(f"USER {user} {s} {account}"), "final_ok": not left})
    for v in VIOLATIONS:
        if v["set"] not in made_at:
            continue
        ps = sets[v["set"]]
        hit = [o for o in remediated if o["rule"] == v["rule"] and ps in str(o.get("resource", ""))]
        items.append({"what": f"{v['set']} {v['what']}", "corrected_at": min((o["t"] for o in hit), default=None),
                      "made_at": made_at.get(v["set"]), "final_ok": final["violations"][v["set"]]["corrected"]})
    # Corrections of things that were not planted (e.g. a new set seen before its boundary came).
    planted_rules = {"assignment-principal-type"} | {v["rule"] for v in VIOLATIONS}
    planted_resources = {principals[u] for _, _, u in user_assignments()} | {sets[v["set"]] for v in VIOLATIONS}
    other = [o for o in outcomes if not (o["rule"] in planted_rules and any(p in str(o.get("resource", ""))
                                                                            for p in planted_resources))]
    done = [i for i in items if i["corrected_at"] is not None and i["final_ok"]]
    last = max((i["corrected_at"] for i in done), default=None)
    latency = sorted(i["corrected_at"] - i["made_at"] for i in done if i["made_at"])
    return {
        "correction_latency_s": summarise(latency),
        "violations": items,
        "corrected": len(done),
        "planted": len(items),
        "last_corrected_after_apply_s": (last - end) if last is not None else None,
        "other_outcomes": [{k: o.get(k) for k in ("function", "rule", "outcome", "resource", "event_name")} for o in other],
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(runs: dict[str, dict[str, Any]], figs: dict[str, dict[str, Any]], args: argparse.Namespace,
           info: dict[str, Any]) -> list[str]:
    """Prints the tables; the FAIL lines."""
    without, with_ = figs["without"], figs["with"]
    before = figs.get("before")
    fails = []
    print()
    print(f"## Bulk change: {sum(distinct_resources(make_plan()).values())} distinct resources, "
          f"{len(make_plan())} Terraform resources, parallelism {args.parallelism}, waiters x{args.time_scale:g}, "
          f"emulator {args.rate:g} req/s, {args.outstanding} outstanding, {args.async_seconds:g} s async")
    print()
    cols = [("without", without), ("with (after)", with_)] + ([("with (before: 907c442)", before)] if before else [])
    print("| | " + " | ".join(c for c, _ in cols) + " |")
    print("|---|" + "---:|" * len(cols))

    def row(label: str, fn: Callable[[dict[str, Any]], str]) -> None:
        print(f"| {label} | " + " | ".join(fn(f) for _, f in cols) + " |")

    row("apply wall time", lambda f: f"{f['wall_s']:.1f} s")
    row("apply requests (sso-admin)", lambda f: f"{f['apply_requests']:,}")
    row("ThrottlingExceptions the apply saw", lambda f: f"{f['apply_throttled']:,}")
    row("apply resources failed", lambda f: str(len(f["apply_failed"])))
    row("apply status polls answered ResourceNotFound (worker-s)",
        lambda f: f"{f['status_not_found']} ({f['status_not_found_s']:.0f} s)")
    row("events routed to the guards", lambda f: f"{f.get('events', 0):,}" if "events" in f else "-")
    row("invocations (events per invocation)",
        lambda f: f"{f['cost_inputs']['invocations']:,} ({f['events_per_invocation']:.1f})" if "cost_inputs" in f else "-")
    row("idc-guard sso-admin requests (identitystore)",
        lambda f: f"{f['guard_sso_admin']:,} ({f['guard_identitystore']})" if "guard_sso_admin" in f else "-")
    row("  per distinct resource", lambda f: f"{f['per_resource']:.2f}" if "per_resource" in f else "-")
    row("  throttled", lambda f: f"{f['guard_throttled']}" if "guard_throttled" in f else "-")
    row("idc-guard share, worst 10 s", lambda f: f"{100 * f['share_worst_10s']:.1f}%" if "share_worst_10s" in f else "-")
    row("idc-guard share, during the apply", lambda f: f"{100 * f['share_burst']:.1f}%" if "share_burst" in f else "-")
    row("violations corrected and verified", lambda f: f"{f['corrected']}/{f['planted']}" if "corrected" in f else "-")
    row("last correction after the apply ended",
        lambda f: (f"{f['last_corrected_after_apply_s']:.1f} s" if f.get("last_corrected_after_apply_s") is not None
                   else "-") if "corrected" in f else "-")
    row("violation to its correction, median (max)",
        lambda f: f"{f['correction_latency_s']['median']:.1f} s ({f['correction_latency_s']['max']:.1f} s)"
        if f.get("correction_latency_s") else "-")
    row("events lost (dead letters; unaccounted)",
        lambda f: f"{f['dead_letters']}; {len(f['unaccounted'])}" if "dead_letters" in f else "-")
    row("messages returned to a queue (still queued at the end)",
        lambda f: f"{f['returned_messages']} ({len(f['still_queued'])})" if "returned_messages" in f else "-")
    row("rails: DynamoDB calls per event", lambda f: f"{f['ddb_per_event']:.2f}" if "ddb_per_event" in f else "-")
    row("rails: DynamoDB calls per correction (corrections)",
        lambda f: f"{f['ddb_per_correction']:.1f} ({f['remediated']})" if f.get("ddb_per_correction") else "-")
    row("cost per 1,000 events", lambda f: f"${f['cost_per_1000']['total']:.4f}" if "cost_per_1000" in f else "-")
    for part in ("lambda_requests", "lambda_duration", "dynamodb", "sqs", "logs"):
        row(f"  {part.replace('_', ' ')}", lambda f, p=part: f"${f['cost_per_1000'][p]:.4f}" if "cost_per_1000" in f else "-")

    print()
    print("## Targets (with idc-guard, the design after issue 15)")
    print()
    checks = []
    ratio = with_["wall_s"] / without["wall_s"]
    checks.append((ratio <= WALL_RATIO, f"apply wall time {with_['wall_s']:.1f} s vs {without['wall_s']:.1f} s without: "
                                        f"{ratio:.3f}x (target <= {WALL_RATIO:.2f}x)"))
    t_with, t_without = with_["apply_throttled"], without["apply_throttled"]
    t_ok = t_with <= THROTTLE_RATIO * t_without if t_without else t_with == 0
    checks.append((t_ok, f"ThrottlingExceptions the apply saw {t_with} vs {t_without} without"
                         + (f": {t_with / t_without:.3f}x" if t_without else "") + f" (target <= {THROTTLE_RATIO:.2f}x)"))
    checks.append((with_["per_resource"] <= CALLS_PER_RESOURCE,
                   f"idc-guard sso-admin requests per distinct resource {with_['per_resource']:.2f} "
                   f"({with_['guard_sso_admin']} / {sum(with_['distinct_resources'].values())}: "
                   f"{with_['distinct_resources']['assignments']} assignments + "
                   f"{with_['distinct_resources']['permission sets']} permission sets) (target <= {CALLS_PER_RESOURCE})"))
    share_ok = with_["share_worst_10s"] <= SHARE and with_["share_burst"] <= SHARE
    checks.append((share_ok, f"idc-guard share of the budget: worst 10 s {100 * with_['share_worst_10s']:.1f}%, "
                             f"during the apply {100 * with_['share_burst']:.1f}% (target <= {100 * SHARE:.0f}%)"))
    last = with_["last_corrected_after_apply_s"]
    corr_ok = with_["corrected"] == with_["planted"] and last is not None and last <= CORRECTED_WITHIN_S
    checks.append((corr_ok, f"violations corrected and verified {with_['corrected']}/{with_['planted']}, the last "
                            + (f"{last:.1f} s after the apply ended" if last is not None else "never")
                            + f" (target all, <= {CORRECTED_WITHIN_S:.0f} s)"))
    lost = with_["dead_letters"] + len(with_["unaccounted"])
    checks.append((lost == 0, f"events lost: {with_['dead_letters']} dead letters, {len(with_['unaccounted'])} of "
                              f"{with_['events']} routed events neither reported nor deleted (target 0)"))
    for ok, text in checks:
        line = f"- {verdict(ok)}: {text}"
        print(line)
        if not ok:
            fails.append(line)
    print()
    print("## Detail")
    print()
    for name, f in figs.items():
        print(f"### {name}")
        print(f"- apply: {f['apply_requests']} requests, throttled by operation {f['apply_throttled_by_op']}, "
              f"errors seen by botocore {f['apply_errors_seen']}")
        for what, err in list(f["apply_failed"].items())[:30]:
            print(f"  - failed: {what}: {err}")
        if "events" not in f:
            continue
        print(f"- events routed {f['events']} ({f['events_by_function']}) of {f['records']} records; "
              f"not routed {f['unrouted']}; reported {f['reported']}; verdicts {f['verdicts']}; "
              f"coalesced {f.get('coalesced')}; triaged (judged without a read) {f.get('triaged')}; "
              f"pacing {f.get('paced')}")
        print(f"- outcomes: {f['outcomes']}")
        for o in f["other_outcomes"][:20]:
            print(f"  - not planted: {o}")
        print(f"- idc-guard requests: {f['guard_ops']}; after the apply ended {f['guard_requests_after_apply']}; "
              f"share during the apply counting only the requests not throttled "
              f"{100 * f['share_burst_accepted']:.1f}%; the worst 10 s start "
              f"{f['share_worst_10s_at']:.0f} s into the apply" if f["share_worst_10s_at"] is not None else "")
        print(f"- rails: DynamoDB {f['rails_ops']}, SSM {f['ssm_calls']}")
        print(f"- invocations: {f['cost_inputs']['invocations']}, duration {f['invocation_s']}, "
              f"GB-s {f['cost_inputs']['gb_s']:.2f}, function errors {f['function_errors']}; SQS requests "
              f"{f['cost_inputs']['sqs_requests']} (+{f['cost_inputs']['empty_receives']} empty receives, not priced); "
              f"log bytes {f['cost_inputs']['log_bytes']:,}"
              + (f"; batch DynamoDB calls priced as 1 unit each: {f['cost_inputs']['batch_ops_unsized']}"
                 if f["cost_inputs"]["batch_ops_unsized"] else ""))
        if f["left_in_queues"]:
            print(f"- left in the queues: {f['left_in_queues']}")
        if f["deleted_without_report"]:
            print(f"- deleted without a report line: {len(f['deleted_without_report'])}")
        if f["unaccounted"]:
            print(f"- unaccounted events (first 10): {f['unaccounted'][:10]}")
        late = [i for i in f["violations"] if i["corrected_at"] is None or not i["final_ok"]]
        for i in late:
            print(f"  - not corrected: {i['what']} (reported {'yes' if i['corrected_at'] else 'no'}, "
                  f"final state {'ok' if i['final_ok'] else 'still violating'})")
        times = sorted(i["corrected_at"] - runs[name]["apply"]["end"] for i in f["violations"] if i["corrected_at"])
        if times:
            print(f"- corrections relative to the apply's end: first {times[0]:.1f} s, median "
                  f"{times[len(times) // 2]:.1f} s, last {times[-1]:.1f} s")
    final = runs["with"]["final"]
    print()
    print(f"- final state with idc-guard: USER assignments left {len(final['user_assignments_left'])}, GROUP assignments "
          f"missing {len(final['group_assignments_missing'])}, new sets with problems {final['new_set_problems'][:5]}")
    print(f"- machine: {info['cores']} cores, {info['cpu']}, load average {info['loadavg']} before, "
          f"{info.get('loadavg_after')} after; commit {info['commit']}")
    return fails


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def before_template(workdir: Path, commit: str) -> Path:
    text = subprocess.run(["git", "show", f"{commit}:template.yaml"], cwd=ROOT, capture_output=True, text=True)
    if text.returncode != 0:
        raise HarnessError(f"git show {commit}:template.yaml: {text.stderr.strip()}")
    path = workdir / f"template-{commit}.yaml"
    path.write_text(text.stdout)
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["apply-worker"]:
        return apply_worker(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="multiplies the provider's waiter durations (default 1, the provider's own; "
                             "0.3 compresses the apply until it saturates the budget by itself)")
    parser.add_argument("--parallelism", type=int, default=PARALLELISM)
    parser.add_argument("--rate", type=float, default=RATE)
    parser.add_argument("--burst", type=float, default=None)
    parser.add_argument("--outstanding", type=int, default=OUTSTANDING)
    parser.add_argument("--async-seconds", type=float, default=ASYNC_SECONDS)
    parser.add_argument("--visibility-timeout", type=int, default=None,
                        help="override the template's queue VisibilityTimeout (default: the template's)")
    parser.add_argument("--drain-seconds", type=float, default=240.0,
                        help="how long to wait after the apply for the guards to finish (default 240)")
    parser.add_argument("--apply-deadline", type=float, default=1800.0)
    parser.add_argument("--unreserved", type=int, default=2,
                        help="processes for a guard without reserved concurrency in the previous design (default 2)")
    parser.add_argument("--binaries", type=Path, default=bg.RELEASE,
                        help="the guards measured as 'with' (default: target/release)")
    parser.add_argument("--before-commit", default="907c442")
    parser.add_argument("--before-binaries", type=Path, default=ROOT / "target-before" / "release")
    parser.add_argument("--skip-before", action="store_true", help="measure without and with only")
    parser.add_argument("--only", choices=("without", "with", "before"), action="append",
                        help="run only these scenarios (the targets need without and with)")
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    args = parser.parse_args(argv)

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)

    binaries = args.binaries
    missing = [p for p in [PYTHON, *(binaries / f for f in FUNCTIONS)] if not p.exists()]
    if not args.skip_before:
        missing += [args.before_binaries / f for f in FUNCTIONS if not (args.before_binaries / f).exists()]
    if missing:
        log("bench-burst: missing " + ", ".join(map(str, missing)) + " (run scripts/bench-burst.sh)")
        return 2
    info = bg.machine()
    log(f"== machine: {info['cores']} cores, {info['cpu']}, Python {info['python']}, boto3 {info['boto3']}, "
        f"moto {info['moto']}, commit {info['commit']}, load average {info['loadavg']}")
    plan = make_plan()
    workdir = Path(tempfile.mkdtemp(prefix="bench-burst-"))
    scenarios = [Scenario("without", "the apply alone")]
    scenarios.append(Scenario("with", "idc-guard as template.yaml deploys it", binaries, ROOT / "template.yaml"))
    if not args.skip_before:
        scenarios.append(Scenario("before", f"idc-guard as commit {args.before_commit} deployed it",
                                  args.before_binaries, before_template(workdir, args.before_commit)))
    if args.only:
        scenarios = [s for s in scenarios if s.name in args.only]
    runs: dict[str, dict[str, Any]] = {}
    ok = False
    try:
        for sc in scenarios:
            runs[sc.name] = run_scenario(sc, args, workdir, plan)
        info["loadavg_after"] = bg.loadavg()
        ok = True
    except (Exception, KeyboardInterrupt) as e:
        if not isinstance(e, HarnessError):
            traceback.print_exc()
        log(f"bench-burst: harness error: {e!r}")
        log(f"   logs kept in {workdir}")
        return 2
    figs = {name: analyse(run, plan) for name, run in runs.items()}
    if "without" in figs and "with" in figs:
        fails = report(runs, figs, args, info)
    else:
        fails = []
        print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk not in ("violations",)} for k, v in figs.items()},
                         indent=1, default=str)[:20000])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": info, "args": vars(args) | {"json": str(args.json)},
                                         "figures": figs, "runs": runs},
                                        indent=1, default=str) + "\n")
        log(f"== measurements written to {args.json}")
    if ok:
        for p in sorted(workdir.iterdir()):
            p.unlink()
        workdir.rmdir()
    log(f"== {'all targets met' if not fails else f'{len(fails)} target(s) missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
