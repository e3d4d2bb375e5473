"""Bearer authentication before GraphQL runs: `Authorization: Bearer <JWT>` → account id.

A token that cannot be trusted rejects the whole request with 401 UNAUTHENTICATED: no
field of it, public or not, is executed. The middleware also gives every HTTP request its
id (the `X-Request-Id` header, the log records) and counts requests for /metrics. What it
found is left for the GraphQL view as one typed `Caller` (`caller_of`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from villagegraph.logs import request_id_var
from villagegraph.metrics import Metrics
from villagegraph.server.responses import unauthenticated
from villagegraph.tenants.auth import Credential, InvalidToken, TokenService

_CALLER = "villagegraph.caller"


@dataclass(frozen=True)
class Caller:
    """Who sent an HTTP request, as far as its bearer token says."""

    request_id: str
    credential: Credential | None


def caller_of(scope: Scope) -> Caller | None:
    """The caller BearerAuth found for this request (None outside it: websockets, probes)."""
    caller = scope.get(_CALLER)
    return caller if isinstance(caller, Caller) else None


class BearerAuth:
    def __init__(self, app: ASGIApp, tokens: TokenService, metrics: Metrics) -> None:
        self.app = app
        self.tokens = tokens
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        request_id_var.set(request_id)
        header = Request(scope).headers.get("authorization", "")
        scope[_CALLER] = Caller(request_id, None)
        if header:
            try:
                credential = await self.tokens.credential_for_header(header)
            except InvalidToken:
                self.metrics.count_request("unauthenticated")
                await unauthenticated(request_id)(scope, receive, send)
                return
            scope[_CALLER] = Caller(request_id, credential)
        started = time.perf_counter()

        async def send_with_request_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
                self.metrics.count_request(str(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            self.metrics.observe_latency(time.perf_counter() - started)
