#!/usr/bin/env python3
"""Generate a CloudTrail log file as delivered to S3, for benchmarking `idc-guard check`.

The file is one JSON object, {"Records":[...]}, holding N CloudTrail records (default 100,000).
Records are the `detail` objects of the EventBridge fixtures in events/, taken round-robin in
file-name order so the mix of event sources, event names and verdicts is the fixtures' mix; each
copy gets a fresh, unique eventID and requestID (UUIDs from a seeded generator, so the output is
byte-for-byte reproducible). `--gzip` writes it gzip-compressed, as CloudTrail does.

Usage: scripts/gen-cloudtrail-log.py OUTPUT [--records N] [--gzip] [--seed S] [--events DIR]

Python 3.11+, standard library only.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import sys
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="the file to write")
    parser.add_argument("-n", "--records", type=int, default=100_000, help="number of records (default 100000)")
    parser.add_argument("--gzip", action="store_true", help="gzip the output, as CloudTrail delivers it")
    parser.add_argument("--seed", type=int, default=20261127, help="random seed for the ids (default 20261127)")
    parser.add_argument("--events", type=Path, default=REPO_ROOT / "events", help="fixture directory (default events/)")
    args = parser.parse_args()
    if args.records < 0:
        parser.error("--records must not be negative")

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
