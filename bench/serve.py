"""The service as the benchmark runs it: one uvicorn worker, no access log.

The same app as `villagegraph serve`; only the per-request access log line is off, as a
production deployment behind a proxy that logs would have it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import uvicorn

from villagegraph.app import create_app
from villagegraph.config import Settings
from villagegraph.database import resolve_database


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = Settings.from_env()
    db = asyncio.run(resolve_database(settings))
    # Stop cleanly on SIGTERM so the embedded database's last user stops it.
    signal.signal(signal.SIGTERM, _exit)
    try:
        uvicorn.run(
            create_app(settings, db),
            host="127.0.0.1",
            port=args.port,
            log_level="warning",
            access_log=False,
        )
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
