"""The Starlette application, assembled in one visible place.

/graphql  GraphQL over HTTP (GraphiQL on GET in a browser); Bearer token → account.
          Before execution: the persisted document (APQ or trusted), the per-principal rate
          limit and the document limits of the caller's role (villagegraph/limits.py);
          GET results carry ETag/Cache-Control. WebSocket: graphql-transport-ws
          subscriptions, logged in by the connection_init payload.
/health   200 when the database answers
/metrics  Prometheus text
/graphiql-assets/  the GraphiQL page's scripts and styles (villagegraph/graphiql.py)
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

import asyncpg
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from villagegraph.config import Settings
from villagegraph.database import Database, create_request_pool
from villagegraph.graphiql import LocalGraphiQL, assets_route
from villagegraph.http_limits import HttpLimits
from villagegraph.limits import (
    RateLimiter,
    check_introspection,
    check_overrides,
    limits_for,
    measure_document,
    rate_limited,
    tier_of,
)
from villagegraph.logs import request_id_var
from villagegraph.metrics import Metrics
from villagegraph.persisted import PersistedDocuments
from villagegraph.schema import build_schema
from villagegraph.schema.context import Context
from villagegraph.schema.errors import Unauthenticated, VillageGraphError
from villagegraph.schema.extensions import INTERNAL_MESSAGE
from villagegraph.schema.subscriptions import SocketSession
from villagegraph.subscriptions import NoticeHub
from villagegraph.tenants.auth import InvalidToken, TokenService
from villagegraph.tenants.session import ScopedSession, UnknownAccount

log = logging.getLogger("villagegraph.requests")

MAX_SUBSCRIPTIONS_PER_SOCKET = 10


class LimitedTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with the HTTP side's limits: a subscribe message takes from the
    principal's rate-limit bucket (the same one its HTTP requests use) and its document is
    measured (as a resident when signed in, else anonymous) before it starts."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        view = cast(VillageGraphQL, self.view)
        payload = message.get("payload") or {}
        account = getattr(self.context.db, "account_id", None)
        tier = "anonymous" if account is None else "resident"
        limits = limits_for(view.settings.limits, tier)
        client = getattr(self.context.request, "client", None)
        key = (
            f"account:{account}"
            if account is not None
            else f"address:{client.host if client else '-'}"
        )
        try:
            wait = view.rate_limiter.take(key, limits)
            if wait > 0:
                raise rate_limited(wait)
            measure_document(
                str(payload.get("query") or ""),
                view.graphql_schema,
                payload.get("operationName"),
                payload.get("variables"),
                limits,
            )
        except VillageGraphError as refusal:
            error = GraphQLError(refusal.message, extensions=refusal.extensions)
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)


@dataclasses.dataclass
class SocketContext(Context):
    """A websocket's context: strawberry fills connection_params from connection_init."""

    connection_params: dict[str, Any] = dataclasses.field(default_factory=dict)


class VillageGraphQL(LocalGraphiQL, GraphQL[Context, None]):
    """Strawberry's ASGI view with our per-request context, persisted documents, limits,
    per-operation metrics and HTTP caching of GET queries."""

    graphql_transport_ws_handler_class = LimitedTransportWS

    def __init__(
        self, settings: Settings, tokens: TokenService, state: dict[str, Any], metrics: Metrics
    ) -> None:
        super().__init__(
            build_schema(settings.max_depth),
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_SOCKET,
        )
        check_overrides(settings.limits)
        self.settings = settings
        self.tokens = tokens
        self.state = state
        self.metrics = metrics
        self.persisted = PersistedDocuments(
            settings.automatic_persisted_queries, settings.trusted_documents
        )
        self.rate_limiter = RateLimiter()
        self.graphql_schema = self.schema._schema  # type: ignore[attr-defined]

    async def get_context(self, request: Any, response: Any) -> Context:
        account_id = request.scope.get("vg.account_id")
        request.scope["vg.state"] = self.state
        request_id = request.scope.get("vg.request_id") or uuid.uuid4().hex
        if isinstance(request, WebSocket):
            return SocketContext(
                request=request,
                response=response,
                db=cast(ScopedSession, SocketSession(None)),
                settings=self.settings,
                tokens=self.tokens,
                request_id=request_id,
            )
        # Kept in the scope so the HTTP timeout can roll back and release it (http_limits).
        session = request.scope["vg.session"] = ScopedSession(self.state["pool"], account_id)
        return Context(
            request=request,
            response=response,
            db=session,
            settings=self.settings,
            tokens=self.tokens,
            request_id=request_id,
        )

    async def on_ws_connect(self, context: Any) -> Any:
        """graphql-transport-ws login: `{"Authorization": "Bearer <JWT>"}` in connection_init
        (no payload: anonymous). An untrustworthy token closes the socket with 4403."""
        params = getattr(context, "connection_params", None) or {}
        header = params.get("Authorization") or params.get("authorization")
        if header:
            try:
                account_id = await self.tokens.account_for_header(str(header))
            except InvalidToken as error:
                raise ConnectionRejectionError({"code": "UNAUTHENTICATED"}) from error
            context.db = SocketSession(account_id)
        return await super().on_ws_connect(context)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET carrying only a persisted-query hash is an API call, not a browser.
        if request.query_params.get("extensions") is not None:
            return False
        return bool(super().should_render_graphql_ide(request))

    async def execute_single(  # type: ignore[override]
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        started = time.perf_counter()
        operation = request_data.operation_name
        try:
            query = self.persisted.resolve(request_data.query, request_data.extensions)
            if query is not None:
                operation = await self._admit(request, sub_response, context, query, request_data)
        except VillageGraphError as refusal:
            await context.db.close(commit=False)
            result = ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        refusal.message,
                        extensions={**refusal.extensions, "requestId": context.request_id},
                    )
                ],
            )
        else:
            request_data = dataclasses.replace(request_data, query=query)
            try:
                result = await super().execute_single(
                    request, request_adapter, sub_response, context, root_value, request_data
                )
            except HTTPException as refused:
                await context.db.close(commit=False)
                if request.method == "GET" and "mutations" in refused.reason:
                    # GraphQL over HTTP: a mutation over GET is a wrong method, not a bad request.
                    raise HTTPException(405, "Mutations must use POST.") from refused
                raise
        outcome = "ok"
        if result.errors:
            outcome = str((result.errors[0].extensions or {}).get("code", "ERROR"))
        self.metrics.observe_operation(operation, outcome, time.perf_counter() - started)
        log.info(
            "operation",
            extra={
                "operation": operation,
                "outcome": outcome,
                "ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return result

    async def _admit(
        self,
        request: Request,
        sub_response: Response,
        context: Context,
        query: str,
        request_data: GraphQLRequestData,
    ) -> str | None:
        """Rate limit, then measure the document against the caller's tier. Returns the
        operation name for metrics."""
        try:
            principal = await context.db.principal()
        except UnknownAccount as error:
            raise Unauthenticated("Your account no longer exists; log in again.") from error
        except DATABASE_UNAVAILABLE as error:
            # The database is unreachable (a restart, a failover): a clean error, not a 500.
            log.error("database unavailable", exc_info=error)
            raise VillageGraphError(INTERNAL_MESSAGE) from error
        tier = tier_of(principal)
        limits = limits_for(self.settings.limits, tier)
        key = (
            f"account:{principal.account_id}"
            if principal is not None
            else f"address:{request.client.host if request.client else '-'}"
        )
        wait = self.rate_limiter.take(key, limits)
        if wait > 0:
            refusal = rate_limited(wait)
            sub_response.status_code = 429
            sub_response.headers["Retry-After"] = str(refusal.extensions["retryAfterSeconds"])
            raise refusal
        measure = measure_document(
            query, self.graphql_schema, request_data.operation_name, request_data.variables, limits
        )
        check_introspection(measure, tier, self.settings.anonymous_introspection)
        if tier == "analyst":
            await context.db.execute(
                f"set local statement_timeout = {int(self.settings.analyst_statement_timeout_ms)}"
            )
        if measure is not None and measure.operation:
            return measure.operation
        return request_data.operation_name

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        response = await super().run(request, context, root_value)
        if (
            isinstance(request, Request)
            and isinstance(response, Response)
            and response.media_type == "application/json"
            and GRAPHQL_RESPONSE in request.headers.get("accept", "")
        ):
            response = _as_graphql_response(response)
        if (
            isinstance(request, Request)
            and request.method == "GET"
            and isinstance(response, Response)
            and response.status_code == 200
            and (response.media_type or "").startswith("application/")
            and response.status_code == 200
        ):
            return _cacheable(request, response)
        return response


GRAPHQL_RESPONSE = "application/graphql-response+json"

# What a request may meet when the database restarts under it.
DATABASE_UNAVAILABLE = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


def _as_graphql_response(response: Response) -> Response:
    """The GraphQL-over-HTTP media type: a request error (the document did not parse,
    validate or coerce its variables, or was refused before execution) answers 4xx with
    no `data` entry; results with field errors stay 200."""
    try:
        body = json.loads(bytes(response.body))
    except ValueError:
        return response
    status = response.status_code
    if (
        isinstance(body, dict)
        and body.get("data") is None
        and body.get("errors")
        and all("path" not in error for error in body["errors"])
    ):
        body.pop("data", None)
        if status == 200:
            status = 400
    headers = {
        k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")
    }
    return Response(
        json.dumps(body, ensure_ascii=False).encode(),
        status_code=status,
        headers=headers,
        media_type=GRAPHQL_RESPONSE,
    )


def _cacheable(request: Request, response: Response) -> Response:
    """ETag and Cache-Control for a GET query; If-None-Match answers 304 without a body.

    Only error-free results are cacheable. A signed-in caller's result is private to it and
    revalidated every time; an anonymous one may be shared for a short while.
    """
    body = bytes(response.body)
    try:
        if json.loads(body).get("errors"):
            return response
    except (ValueError, AttributeError):
        return response
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    signed_in = bool(request.headers.get("authorization"))
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache" if signed_in else "public, max-age=30",
        "Vary": "Authorization, Accept",
    }
    wanted = [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]
    if etag in wanted or "*" in wanted:
        not_modified = Response(status_code=304, headers=headers)
        for name in ("x-request-id",):
            if name in response.headers:
                not_modified.headers[name] = response.headers[name]
        return not_modified
    response.headers.update(headers)
    return response


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
        request_id_var.set(request_id)
        header = Request(scope).headers.get("authorization", "")
        scope["vg.account_id"] = None
        if header:
            try:
                scope["vg.account_id"] = await self.tokens.account_for_header(header)
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
        state["hub"] = NoticeHub(database.admin_dsn)
        try:
            yield
        finally:
            await state["hub"].close()
            await state["pool"].close()

    async def health(request: Request) -> Response:
        try:
            async with state["pool"].acquire() as conn:
                await conn.fetchval("select 1")
        except (OSError, asyncpg.PostgresError):
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def metrics_endpoint(request: Request) -> Response:
        outbox: dict[str, int] | None = None
        try:
            async with state["pool"].acquire() as conn:
                rows = await conn.fetch("select status, messages from vg.outbox_depth()")
            outbox = {row["status"]: int(row["messages"]) for row in rows}
        except (OSError, asyncpg.PostgresError):
            log.warning("outbox depth unavailable for /metrics", exc_info=True)
        return PlainTextResponse(
            metrics.render(state.get("pool"), outbox), media_type="text/plain; version=0.0.4"
        )

    graphql = BearerAuth(VillageGraphQL(settings, tokens, state, metrics), tokens, metrics)
    return Starlette(
        routes=[
            Route("/health", health),
            Route("/metrics", metrics_endpoint),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            assets_route(),
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
