"""The service as the benchmark runs it: `villagegraph serve`'s processes without the access log.

The same app and the same process model as `villagegraph serve --workers N`
(villagegraph/server/processes.py): the parent starts the database and binds the port, N
workers serve it. Only the per-request access log line is off, as a production
deployment behind a proxy that logs would have it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from villagegraph.config import Settings
from villagegraph.database import resolve_database
from villagegraph.server.processes import ServeOptions, bind, serve


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    settings = Settings.from_env()
    db = asyncio.run(resolve_database(settings))
    sock = bind("127.0.0.1", args.port)
    # Stop cleanly on SIGTERM so the embedded database's last user stops it.
    signal.signal(signal.SIGTERM, _exit)
    options = ServeOptions(
        "127.0.0.1", args.port, args.workers, access_log=False, log_level="warning"
    )
    try:
        serve(settings, db, sock, options)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
