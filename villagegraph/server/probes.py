"""/health and /metrics: what operators and Prometheus poll. They read the pool and the
outbox depth; they never touch tenant data. With Settings.metrics_token, /metrics answers
only `Authorization: Bearer <that token>` (401 otherwise): operation names and failed-login
counts are not for the public."""

from __future__ import annotations

import hmac
import logging

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from villagegraph.server.state import AppState

log = logging.getLogger("villagegraph.requests")


class Probes:
    def __init__(self, state: AppState) -> None:
        self.state = state

    async def health(self, request: Request) -> Response:
        """200 when the database answers a trivial query, else 503."""
        try:
            async with self.state.request_pool().acquire() as conn:
                await conn.fetchval("select 1")
        except (OSError, asyncpg.PostgresError):
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def metrics(self, request: Request) -> Response:
        """Prometheus text; the outbox depth is left out when the database does not answer."""
        expected = self.state.settings.metrics_token
        if expected:
            presented = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(presented, f"Bearer {expected}".encode()):
                return PlainTextResponse(
                    "metrics need the bearer token\n",
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        outbox: dict[str, int] | None = None
        try:
            async with self.state.request_pool().acquire() as conn:
                rows = await conn.fetch("select status, messages from vg.outbox_depth()")
            outbox = {row["status"]: int(row["messages"]) for row in rows}
        except (OSError, asyncpg.PostgresError):
            log.warning("outbox depth unavailable for /metrics", exc_info=True)
        return PlainTextResponse(
            self.state.metrics.render(self.state.pool, outbox),
            media_type="text/plain; version=0.0.4",
        )
