#!/usr/bin/env python3
"""Generate a CloudTrail log file as delivered to S3, for benchmarking `idc-guard check`.

The file is one JSON object, {"Records":[...]}, holding N CloudTrail records (default 100,000).
Records are the `detail` objects of the EventBridge fixtures in events/, taken round-robin in
file-name order so the mix of event sources, event names and verdicts is the fixtures' mix; each
copy gets a fresh, unique eventID and requestID (UUIDs from a seeded generator, so the output is
byte-for-byte reproducible). `--gzip` writes it gzip-compressed, as CloudTrail does.

`--usage` generates the records `idc-guard usage` reads instead (issue #17): uses by many users
of many permission sets in many accounts, each user with a fixed handful of (set, account)
assignments; 50% GetRoleCredentials, 25% Federate (half from sso.amazonaws.com, half from
signin.amazonaws.com), 5% failed GetRoleCredentials (errorCode), 20% other events (the
fixtures' records round-robin). Times are spread at random over the 90 days before
2026-11-27, in no order, so late records are common. Shapes are the usage fixtures'
(events/sso.GetRoleCredentials-*, events/*.Federate-*). `--files K` splits the records over K
log files in the directory OUTPUT, named as CloudTrail names them, as S3 holds them.

Usage: scripts/gen-cloudtrail-log.py OUTPUT [--records N] [--gzip] [--seed S] [--events DIR]
       scripts/gen-cloudtrail-log.py OUTPUT --usage [--records N] [--files K] [--gzip]
           [--users U] [--sets S] [--accounts A] [--seed S] [--events DIR]

Python 3.11+, standard library only.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import sys
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def load_details(events_dir: Path) -> list[dict]:
    paths = sorted(events_dir.glob("*.json"))
    if not paths:
        sys.exit(f"gen-cloudtrail-log: no *.json fixtures in {events_dir}")
    details = []
    for path in paths:
        with path.open(encoding="utf-8") as f:
            event = json.load(f)
        detail = event.get("detail")
        if not isinstance(detail, dict):
            sys.exit(f"gen-cloudtrail-log: {path}: no `detail` object")
        details.append(detail)
    return details


def fresh_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate(out, details: list[dict], count: int, seed: int) -> None:
    rng = random.Random(seed)
    seen: set[str] = set()
    out.write('{"Records":[')
    for i in range(count):
        # A shallow copy is enough: only top-level members change.
        record = dict(details[i % len(details)])
        event_id = fresh_uuid(rng)
        while event_id in seen:
            event_id = fresh_uuid(rng)
        seen.add(event_id)
        record["eventID"] = event_id
        record["requestID"] = fresh_uuid(rng)
        if i:
            out.write(",")
        out.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False))
    out.write("]}\n")

# --usage: the records `idc-guard usage` reads.

USAGE_FIXTURES = {
    "credentials": "sso.GetRoleCredentials-service-event-ignored.json",
    "console-sso": "sso.Federate-service-event-ignored.json",
    "console-signin": "signin.Federate-service-event-ignored.json",
    "failed": "sso.GetRoleCredentials-failed-ignored.json",
}
USAGE_END = 1795737600  # 2026-11-27T00:00:00Z
USAGE_SPAN = 90 * 86_400
STORE_PREFIX = "9067a1b2c3"


def usage_templates(events_dir: Path) -> dict[str, str]:
    """Each usage fixture's record as a %-template of (userId, eventTime, eventID, requestID,
    role_name, account_id)."""
    templates = {}
    for kind, name in USAGE_FIXTURES.items():
        path = events_dir / name
        if not path.exists():
            sys.exit(f"gen-cloudtrail-log: {path}: the usage fixture is missing")
        detail = json.loads(path.read_text(encoding="utf-8"))["detail"]
        detail["userIdentity"]["onBehalfOf"]["userId"] = "@USER@"
        detail["eventTime"] = "@TIME@"
        detail["eventID"] = "@ID@"
        detail["requestID"] = "@REQ@"
        detail["serviceEventDetails"] = {"role_name": "@SET@", "account_id": "@ACCOUNT@"}
        text = json.dumps(detail, separators=(",", ":"), ensure_ascii=False).replace("%", "%%")
        for sentinel in ("@USER@", "@TIME@", "@ID@", "@REQ@", "@SET@", "@ACCOUNT@"):
            text = text.replace(sentinel, "%s", 1)
        templates[kind] = text
    return templates


def usage_world(rng: random.Random, users: int, sets: int, accounts: int) -> list[tuple[str, list]]:
    """Each user's id and assignments, (set name, account id): 2 to 12, the sets skewed to the
    first few (a handful of sets are held by most users, as in most organisations)."""
    set_names = [f"Team{i:03d}ReadWrite" if i % 3 else f"Team{i:03d}ReadOnly" for i in range(sets)]
    account_ids = [f"{300000000000 + i * 1_000_003:012d}" for i in range(accounts)]
    world = []
    for i in range(users):
        user_id = f"{STORE_PREFIX}-{i:08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-8{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}"
        held = [
            (set_names[min(int((rng.paretovariate(1.2) - 1) * 4), sets - 1)], rng.choice(account_ids))
            for _ in range(rng.randint(2, 12))
        ]
        world.append((user_id, held))
    return world


def utc(secs: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(secs))


def generate_usage(out, templates: dict[str, str], others: list[str], world, count: int, rng: random.Random) -> None:
    out.write('{"Records":[')
    for i in range(count):
        if i:
            out.write(",")
        roll = rng.random()
        if roll < 0.20:
            out.write(others[i % len(others)] % (fresh_uuid(rng), fresh_uuid(rng)))
            continue
        if roll < 0.70:
            kind = "credentials"
        elif roll < 0.825:
            kind = "console-sso"
        elif roll < 0.95:
            kind = "console-signin"
        else:
            kind = "failed"
        user_id, held = world[int(rng.paretovariate(1.1)) % len(world)] if rng.random() < 0.5 else rng.choice(world)
        set_name, account = rng.choice(held)
        at = utc(USAGE_END - rng.randrange(USAGE_SPAN))
        out.write(templates[kind] % (user_id, at, fresh_uuid(rng), fresh_uuid(rng), set_name, account))
    out.write("]}\n")


def other_templates(details: list[dict]) -> list[str]:
    """The other fixtures' records as %-templates of (eventID, requestID)."""
    templates = []
    for detail in details:
        if detail.get("eventName") in ("GetRoleCredentials", "Federate"):
            continue
        record = dict(detail, eventID="@ID@", requestID="@REQ@")
        text = json.dumps(record, separators=(",", ":"), ensure_ascii=False).replace("%", "%%")
        templates.append(text.replace("@ID@", "%s", 1).replace("@REQ@", "%s", 1))
    return templates


def open_output(path: Path, gz: bool):
    if gz:
        # mtime=0 and no file name in the header keep the output reproducible.
        raw = open(path, "wb")
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename=""), encoding="utf-8", newline="\n"), raw
    return path.open("w", encoding="utf-8", newline="\n"), None


def write_usage(args) -> None:
    rng = random.Random(args.seed)
    templates = usage_templates(args.events)
    others = other_templates(load_details(args.events))
    world = usage_world(rng, args.users, args.sets, args.accounts)
    if args.files == 1:
        paths = [args.output]
        args.output.parent.mkdir(parents=True, exist_ok=True)
    else:
        args.output.mkdir(parents=True, exist_ok=True)
        suffix = ".json.gz" if args.gzip else ".json"
        paths = [
            args.output / f"111111111111_CloudTrail_eu-west-1_{utc(USAGE_END - USAGE_SPAN + i * 300)[:16].replace('-', '').replace(':', '')}Z_{i:05d}{suffix}"
            for i in range(args.files)
        ]
    size = 0
    for i, path in enumerate(paths):
        count = args.records // len(paths) + (1 if i < args.records % len(paths) else 0)
        out, raw = open_output(path, args.gzip)
        with out:
            generate_usage(out, templates, others, world, count, rng)
        if raw is not None:
            raw.close()
        size += path.stat().st_size
    print(
        f"{args.output}: {args.records} usage records in {len(paths)} file(s), {args.users} users, "
        f"{args.sets} sets, {args.accounts} accounts, {size} bytes",
        file=sys.stderr,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="the file to write")
    parser.add_argument("-n", "--records", type=int, default=100_000, help="number of records (default 100000)")
    parser.add_argument("--gzip", action="store_true", help="gzip the output, as CloudTrail delivers it")
    parser.add_argument("--seed", type=int, default=20261127, help="random seed for the ids (default 20261127)")
    parser.add_argument("--events", type=Path, default=REPO_ROOT / "events", help="fixture directory (default events/)")
    parser.add_argument("--usage", action="store_true", help="usage records (GetRoleCredentials, Federate) instead")
    parser.add_argument("--files", type=int, default=1, help="with --usage: split over this many files in the directory OUTPUT")
    parser.add_argument("--users", type=int, default=5000, help="with --usage: users (default 5000)")
    parser.add_argument("--sets", type=int, default=60, help="with --usage: permission sets (default 60)")
    parser.add_argument("--accounts", type=int, default=300, help="with --usage: accounts (default 300)")
    args = parser.parse_args()
    if args.records < 0:
        parser.error("--records must not be negative")
    if args.usage:
        if args.files < 1 or args.users < 1 or args.sets < 1 or args.accounts < 1:
            parser.error("--files, --users, --sets and --accounts must be at least 1")
        write_usage(args)
        return
    if args.files != 1:
        parser.error("--files needs --usage")

    details = load_details(args.events)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if args.gzip:
        # mtime=0 and no file name in the header keep the output reproducible.
        with (
            open(args.output, "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz,
            io.TextIOWrapper(gz, encoding="utf-8", newline="\n") as out,
        ):
            generate(out, details, args.records, args.seed)
    else:
        with args.output.open("w", encoding="utf-8", newline="\n") as out:
            generate(out, details, args.records, args.seed)
    print(
        f"{args.output}: {args.records} records from {len(details)} fixtures, {args.output.stat().st_size} bytes",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
