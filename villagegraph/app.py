"""The Starlette application, assembled in one visible place.

/graphql  GraphQL over HTTP (GraphiQL on GET in a browser); Bearer token → account
/health   200 when the database answers
/metrics  Prometheus text
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL

from schema import build_schema
from schema.context import Context
from tenants.auth import InvalidToken, TokenService
from tenants.session import ScopedSession
from villagegraph.config import Settings
from villagegraph.database import Database, create_request_pool
from villagegraph.http_limits import HttpLimits
from villagegraph.metrics import Metrics


class VillageGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with our per-request context."""

    def __init__(self, settings: Settings, tokens: TokenService, state: dict[str, Any]) -> None:
        super().__init__(build_schema(settings.max_depth), graphql_ide="graphiql")
        self.settings = settings
        self.tokens = tokens
        self.state = state

    async def get_context(self, request: Any, response: Any) -> Context:
        account_id = request.scope.get("vg.account_id")
        session = request.scope["vg.session"] = ScopedSession(self.state["pool"], account_id)
        return Context(
            request=request,
            response=response,
            db=session,
            settings=self.settings,
            tokens=self.tokens,
            request_id=request.scope["vg.request_id"],
        )


class BearerAuth:
    """Turn `Authorization: Bearer <JWT>` into an account id before GraphQL runs.

    A token that cannot be trusted rejects the whole request with UNAUTHENTICATED: no
    field of it, public or not, is executed.
    """

    def __init__(self, app: ASGIApp, tokens: TokenService, metrics: Metrics) -> None:
        self.app = app
        self.tokens = tokens
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope["vg.request_id"] = request_id
        header = Request(scope).headers.get("authorization", "")
        scope["vg.account_id"] = None
        if header:
            scheme, _, token = header.partition(" ")
            try:
                if scheme.lower() != "bearer" or not token.strip():
                    raise InvalidToken("not a bearer token")
                scope["vg.account_id"] = self.tokens.account_id(token.strip())
            except InvalidToken:
                self.metrics.count_request("unauthenticated")
                response = JSONResponse(
                    {
                        "errors": [
                            {
                                "message": "Your token is invalid or expired; log in again.",
                                "extensions": {"code": "UNAUTHENTICATED", "requestId": request_id},
                            }
                        ]
                    },
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer", "X-Request-Id": request_id},
                )
                await response(scope, receive, send)
                return
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


def create_app(settings: Settings, database: Database) -> Starlette:
    state: dict[str, Any] = {}
    tokens = TokenService(settings)
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await create_request_pool(database, settings)
        try:
            yield
        finally:
            await state["pool"].close()

    async def health(request: Request) -> Response:
        try:
            async with state["pool"].acquire() as conn:
                await conn.fetchval("select 1")
        except (OSError, asyncpg.PostgresError):
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def metrics_endpoint(request: Request) -> Response:
        return PlainTextResponse(
            metrics.render(state.get("pool")), media_type="text/plain; version=0.0.4"
        )

    graphql = BearerAuth(VillageGraphQL(settings, tokens, state), tokens, metrics)
    return Starlette(
        routes=[
            Route("/health", health),
            Route("/metrics", metrics_endpoint),
            Route("/graphql", graphql, methods=["GET", "POST"]),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(
                HttpLimits,
                max_body_bytes=settings.max_body_bytes,
                timeout_seconds=settings.request_timeout_seconds,
            )
        ],
    )
