"""The service as the benchmark runs it: uvicorn without the access log, 1-N workers.

The same app as `villagegraph serve`; only the per-request access log line is off, as a
production deployment behind a proxy that logs would have it. With --workers N the
parent resolves (starts) the database and the workers connect to it by URL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

import uvicorn
from starlette.applications import Starlette

from villagegraph import roles
from villagegraph.config import Settings
from villagegraph.database import Database, resolve_database
from villagegraph.server import create_app


def app() -> Starlette:
    """The app factory each worker calls (VILLAGEGRAPH_DATABASE_URL set by main)."""
    settings = Settings.from_env()
    assert settings.database_url is not None
    passwords = roles.passwords(settings.home, settings.role_passwords)
    return create_app(settings, Database(settings.database_url, passwords=passwords))


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    db = asyncio.run(resolve_database(Settings.from_env()))
    os.environ["VILLAGEGRAPH_DATABASE_URL"] = db.admin_dsn
    # Stop cleanly on SIGTERM so the embedded database's last user stops it.
    signal.signal(signal.SIGTERM, _exit)
    try:
        uvicorn.run(
            "bench.serve:app",
            factory=True,
            host="127.0.0.1",
            port=args.port,
            workers=args.workers,
            log_level="warning",
            access_log=False,
        )
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
