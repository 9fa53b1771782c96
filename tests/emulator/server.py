"""The local AWS for idc-guard's integration tests: moto's server, with idc-guard's sso-admin extension.

    .venv/bin/python tests/emulator/server.py --port N

Binds 127.0.0.1:N only, serves until SIGTERM or SIGINT, then exits with status 0. It writes
nothing but moto's and werkzeug's own log lines (to stderr); the test harness sends those to a
file, so nothing here can block on a full pipe. Readiness: `GET /moto-api/` answers 200.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


def _stop(signum: int, frame: Any) -> None:
    # SystemExit unwinds serve_forever() in the main thread; request threads are daemons.
    sys.exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="loopback port to listen on")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    # moto builds some URLs from MOTO_PORT, as its own `moto_server` entry point sets it.
    os.environ["MOTO_PORT"] = str(args.port)

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import idc_guard_moto
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    idc_guard_moto.apply()

    # The same application and request handler as moto's `moto_server` (moto/server.py), without
    # the reloader, debugger and console banner.
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(HOST, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
