#!/usr/bin/env python3
"""A synthetic access review (the model `idc-guard report --format json` writes), for
scripts/bench-report.sh: ACCOUNTS accounts x SETS permission sets, every cell held by one to four
of the account's team groups (2.5 on average), one cell in twenty also by a user directly (a
finding), usage data on every assignment, protected groups with members, drift and exceptions.
Deterministic (seeded).

Usage: scripts/gen-review.py [--accounts 1000] [--sets 50] > review.json
"""

import argparse
import json
import random

SET_NAMES = [
    "AdministratorAccess", "ReadOnly", "PowerUser", "Billing", "SecurityAudit", "DataEngineer",
    "DataScientist", "NetworkAdmin", "DatabaseAdmin", "SupportUser", "ViewOnly", "Developer",
    "Deployer", "IncidentResponder", "BreakGlass", "CostExplorer", "LogReader", "S3Reader",
    "KmsOperator", "EksAdmin", "EcsDeployer", "LambdaDeveloper", "SagemakerUser", "GlueEngineer",
    "AthenaAnalyst", "QuickSightAuthor", "RedshiftAnalyst", "Route53Admin", "IamReader",
    "CloudFormationDeployer", "BackupOperator", "SsmOperator", "SecretsReader", "WafAdmin",
    "GuardDutyAnalyst", "InspectorAnalyst", "MacieAnalyst", "ConfigAuditor", "OrganizationsReader",
    "ServiceCatalogUser", "StepFunctionsDeveloper", "ApiGatewayAdmin", "CloudFrontAdmin",
    "DynamoDbDeveloper", "ElastiCacheAdmin", "OpenSearchAdmin", "MskOperator", "TransferFamilyUser",
    "WorkspacesUser", "Auditor",
]
TEAMS = ["payments", "search", "identity", "data", "ml", "platform", "mobile", "web", "risk",
         "ledger", "growth", "infra"]
STAGES = ["prod", "staging", "dev", "sandbox"]
DORMANCY = ["active", "active", "active", "dormant", "not-yet-observed"]
RULES = ["assignment-principal-type", "session-duration-cap", "dormant-access",
         "permissions-boundary-required", "inline-policy-forbidden-actions"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--sets", type=int, default=50)
    args = ap.parse_args()
    rnd = random.Random(18)

    accounts = []
    for i in range(args.accounts):
        team = TEAMS[i % len(TEAMS)]
        stage = STAGES[(i // len(TEAMS)) % len(STAGES)]
        accounts.append({"id": f"{100000000000 + i * 7919:012d}",
                         "name": f"{team}-{stage}-{i:04d}", "complete": True})
    accounts.sort(key=lambda a: (a["name"].lower(), a["id"]))
    sets = []
    for i in range(args.sets):
        name = SET_NAMES[i] if i < len(SET_NAMES) else f"Custom{i:03d}"
        sets.append({"arn": f"arn:aws:sso:::permissionSet/ssoins-7223b1c4d5e6f708/ps-{i:016x}",
                     "name": name, "privileged": name in ("AdministratorAccess", "BreakGlass",
                                                          "NetworkAdmin", "IamReader"),
                     "complete": True})
    sets.sort(key=lambda s: (s["name"].lower(), s["arn"]))

    # Groups: per team and role, e.g. "payments-engineers", plus some organisation-wide ones.
    roles = ["admins", "engineers", "oncall", "readers", "analysts", "auditors", "leads",
             "contractors", "sre", "finance", "security", "support", "release", "data",
             "breakglass", "observers", "qa", "architects", "interns", "partners"]
    groups = [f"{t}-{r}" for t in TEAMS for r in roles]
    users = [f"user{i:04d}@example.com" for i in range(400)]
    principals = ([{"kind": "GROUP", "id": f"g-{i:08x}", "name": g, "complete": True}
                   for i, g in enumerate(sorted(groups))]
                  + [{"kind": "USER", "id": f"u-{i:08x}", "name": u, "complete": True}
                     for i, u in enumerate(sorted(users))])
    gindex = {p["name"]: i for i, p in enumerate(principals) if p["kind"] == "GROUP"}
    first_user = len(groups)
    owners = sorted(TEAMS + ["security"])
    oindex = {o: i for i, o in enumerate(owners)}

    assignments = []
    findings = []
    for a, acct in enumerate(accounts):
        team = acct["name"].split("-")[0]
        for s in range(len(sets)):
            k = rnd.choice([1, 2, 2, 3, 3, 4])
            chosen = sorted({gindex[f"{team}-{rnd.choice(roles)}"] for _ in range(k)})
            if rnd.random() < 0.05:
                chosen.append(first_user + rnd.randrange(len(users)))
            owner = oindex["security" if sets[s]["privileged"] else team]
            for p in chosen:
                is_user = p >= first_user
                d = rnd.choice(DORMANCY)
                usage = {"last_use": None if d == "dormant" else
                         f"2026-{rnd.randint(9, 11):02d}-{rnd.randint(1, 28):02d}T{rnd.randint(0, 23):02d}:14:05Z",
                         "last_user": None, "dormancy": d, "window_days": 90}
                assignments.append({"account": a, "set": s, "principal": p, "owner": owner,
                                    "findings": 1 if is_user else 0, "usage": usage})
                if is_user:
                    findings.append({"rule": "assignment-principal-type", "severity": "high",
                                     "mode": "enforce",
                                     "resource": f"user {principals[p]['name']} · {sets[s]['name']} · {acct['name']} ({acct['id']})",
                                     "reason": "assigned to a user directly; assign a group",
                                     "owner": owners[owner], "skipped": False})
    # Only principals that hold an assignment are listed, as `idc-guard report` lists them.
    used = sorted({x["principal"] for x in assignments})
    remap = {old: new for new, old in enumerate(used)}
    principals = [principals[i] for i in used]
    for x in assignments:
        x["principal"] = remap[x["principal"]]
    for i in range(200):
        findings.append({"rule": rnd.choice(RULES[1:]), "severity": rnd.choice(["low", "medium", "high"]),
                         "mode": "detect", "resource": f"permission set {sets[i % len(sets)]['name']}",
                         "reason": "synthetic", "owner": rnd.choice(owners), "skipped": False})
    privileged = []
    for t in TEAMS:
        for r in ("admins", "breakglass"):
            members = sorted(rnd.sample(range(len(users)), rnd.randint(3, 25)))
            privileged.append({"id": f"g-{gindex[f'{t}-{r}']:08x}", "name": f"{t}-{r}",
                               "reasons": ["assigned AdministratorAccess"],
                               "members": [[f"u-{m:08x}", users[m]] for m in members]})
    drift = [{"change": rnd.choice(["extra", "missing"]), "principal": f"group {rnd.choice(groups)}",
              "permission_set": rnd.choice(sets)["name"], "account": accounts[i % len(accounts)]["name"],
              "owner": rnd.choice(owners)} for i in range(60)]
    exceptions = [{"rule": rnd.choice(RULES), "owner": rnd.choice(owners), "reason": f"ticket SEC-{i}",
                   "expires": f"2027-{(i % 12) + 1:02d}-15", "days_left": 40 + i * 30 - 60,
                   "status": "active", "scope": "permission sets: ReadOnly; accounts: any; principals: any",
                   "line": 100 + i} for i in range(12)]
    for e in exceptions:
        e["status"] = "expired" if e["days_left"] < 0 else "soon" if e["days_left"] <= 30 else "active"
    exceptions.sort(key=lambda e: (e["days_left"], e["rule"], e["line"]))
    review = {
        "generated_at": "2026-12-06T03:00:00Z", "today": "2026-12-06",
        "instance": "arn:aws:sso:::instance/ssoins-7223b1c4d5e6f708", "run_id": "reconcile-bench",
        "desired": "used", "usage": {"data": "used", "recording_since": "2026-06-01T00:00:00Z"},
        "accounts": accounts, "permission_sets": sets, "principals": principals, "owners": owners,
        "assignments": assignments, "privileged": privileged, "findings": findings,
        "drift": drift, "exceptions": exceptions, "unknown": [],
    }
    json.dump(review, __import__("sys").stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()
