"""Helpers for the tests of the API layer: a service with settings of the test's own."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from villagegraph.config import Settings
from villagegraph.database import Database
from villagegraph.server import create_app


@contextlib.asynccontextmanager
async def service(
    database: Database, settings: Settings, **changes: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A running app (pool and all) with `changes` applied to the settings."""
    application = create_app(dataclasses.replace(settings, **changes), database)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://villagegraph") as http:
            yield http


async def login(http: httpx.AsyncClient, phone: str) -> dict[str, str]:
    response = await http.post(
        "/graphql",
        json={
            "query": 'mutation($p: String!) { login(phone: $p, password: "demo") { token } }',
            "variables": {"p": phone},
        },
    )
    return {"Authorization": "Bearer " + response.json()["data"]["login"]["token"]}


class LiveServer:
    """An ASGI app served by uvicorn on a free local port, in a thread with its own loop."""

    def __init__(self, app: Any) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


NODE_DIR = Path(__file__).resolve().parent / "federation"


def node_or_skip() -> str:
    """The node binary with the test tools installed; skip only where Node is absent."""
    import shutil

    import pytest

    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed on this machine (CI has it)")
    if not (NODE_DIR / "node_modules").is_dir():
        raise AssertionError(
            "Node is here but tests/federation has no node_modules: run scripts/test"
        )
    return node
