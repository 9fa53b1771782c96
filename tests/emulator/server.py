"""The local AWS for idc-guard's integration tests: moto's server, with idc-guard's sso-admin extension.

    .venv/bin/python tests/emulator/server.py --port N [--limits] [--rate R] [--burst B]
        [--outstanding N] [--async-seconds S] [--cloudtrail] [--principal AKID=ROLE_ARN ...]

Binds 127.0.0.1:N only, serves until SIGTERM or SIGINT, then exits with status 0. It writes
nothing but moto's and werkzeug's own log lines (to stderr); the test harness sends those to a
file, so nothing here can block on a full pipe. Readiness: `GET /moto-api/` answers 200.

Every request passes through gateway.Gateway: the limits mode (IAM Identity Center's collective
request rate and outstanding assignment operations, limits.py), a log of every request, and
CloudTrail records of Identity Center and account access manager writes (cloudtrail.py). The
gateway also answers account access manager itself (account_access.py), which moto lacks. All of it is off unless the options
above, or `POST /idc-guard/limits`, turn it on; gateway.py documents the control endpoints,
including `POST /idc-guard/member-policies` (the policies member accounts hold, member_policies.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any

# The emulator's modules sit next to this script; they import one another by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cloudtrail import Principal, parse_principal  # noqa: E402
from limits import Settings  # noqa: E402

HOST = "127.0.0.1"


def _stop(signum: int, frame: Any) -> None:
    # SystemExit unwinds serve_forever() in the main thread; request threads are daemons.
    sys.exit(0)


def _configuration(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> tuple[Settings, dict[str, Principal]]:
    """The limits settings and the principal mapping the options give; a bad value ends the
    program with argparse's usage message."""
    settings = Settings()
    try:
        settings.update(
            {
                "enabled": args.limits,
                "rate": args.rate,
                "outstanding": args.outstanding,
                "async_seconds": args.async_seconds,
                "cloudtrail": args.cloudtrail,
            }
        )
        if args.burst is not None:
            settings.update({"burst": args.burst})
        principals = dict(parse_principal(option) for option in args.principal)
    except ValueError as error:  # SettingsError is a ValueError
        parser.error(str(error))
    return settings, principals


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="loopback port to listen on")
    parser.add_argument("--limits", action="store_true", help="start in limits mode")
    parser.add_argument(
        "--rate", type=float, default=20.0, help="requests/s shared by all sso-admin and identitystore callers"
    )
    parser.add_argument("--burst", type=float, default=None, help="the token bucket's capacity (default: the rate)")
    parser.add_argument(
        "--outstanding", type=int, default=10, help="outstanding account assignment operations per instance"
    )
    parser.add_argument(
        "--async-seconds", type=float, default=1.0, help="how long an assignment operation stays IN_PROGRESS"
    )
    parser.add_argument("--cloudtrail", action="store_true", help="record CloudTrail records of Identity Center writes")
    parser.add_argument(
        "--principal",
        action="append",
        default=[],
        metavar="AKID=ROLE_ARN",
        help="the assumed role requests signed with AKID appear as in CloudTrail (repeatable)",
    )
    args = parser.parse_args(argv)
    settings, principals = _configuration(parser, args)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    # moto builds some URLs from MOTO_PORT, as its own `moto_server` entry point sets it.
    os.environ["MOTO_PORT"] = str(args.port)

    import idc_guard_moto
    from gateway import Gateway
    from member_policies import MemberPolicies
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    # The same application and request handler as moto's `moto_server` (moto/server.py), without
    # the reloader, debugger and console banner.
    member_policies = MemberPolicies()
    app = Gateway(DomainDispatcherApplication(create_backend_app), settings, principals, member_policies)
    idc_guard_moto.apply(member_policies=member_policies, in_progress=app.assignment_in_progress)
    server = make_server(HOST, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
