#!/usr/bin/env python3
"""The baseline `idc-guard usage` is measured against (BENCHMARKS.md): the last use per (user,
permission set, account) from CloudTrail log files, as a team would write it in a few lines of
Python with no peer tool to reuse: `json.load` each file (plain or gzipped), keep the latest
successful GetRoleCredentials or Federate per key in a dict.

Prints CSV on standard output, sorted: user_id,permission_set,account_id,last_used,channel,event_id
(the columns of `idc-guard usage --format csv`). Times are compared as the strings CloudTrail
writes (whole seconds, `Z`), which favours this baseline: idc-guard parses each one.

Usage: scripts/bench-usage-baseline.py FILE...
"""

import gzip
import json
import sys

NAMES = {"GetRoleCredentials": "credentials", "Federate": "console"}
SOURCES = {"sso.amazonaws.com", "signin.amazonaws.com"}


def main() -> None:
    last = {}
    for path in sys.argv[1:]:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            records = json.load(f)["Records"]
        for r in records:
            channel = NAMES.get(r.get("eventName"))
            if channel is None or r.get("eventSource") not in SOURCES or "errorCode" in r:
                continue
            details = r["serviceEventDetails"]
            if isinstance(details, str):
                details = json.loads(details)
            key = (r["userIdentity"]["onBehalfOf"]["userId"], details["role_name"], details["account_id"])
            at = r["eventTime"]
            known = last.get(key)
            if known is None or at > known[0]:
                last[key] = (at, channel, r["eventID"])
        del records
    out = sys.stdout
    out.write("user_id,permission_set,account_id,last_used,channel,event_id\n")
    for key in sorted(last):
        at, channel, event_id = last[key]
        out.write(",".join((*key, at, channel, event_id)) + "\n")


if __name__ == "__main__":
    main()
