"""GraphQL over HTTP: strawberry's ASGI view with our per-request context, persisted
documents, admission (rate limit and document limits, admission.py), per-operation
metrics, the GraphQL-over-HTTP media type and HTTP caching of GET queries.

Each HTTP request gets one RequestSession (one transaction, RLS context set once); the
schema's RequestTransaction extension ends it, and this view ends it itself when the
request is refused before execution or cancelled (HttpLimits' timeout).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from villagegraph.compiler import CompiledData, Compiler
from villagegraph.errors import RateLimited, Unauthenticated, VillageGraphError
from villagegraph.graphiql import LocalGraphiQL
from villagegraph.persisted import PersistedDocuments
from villagegraph.schema import build_schema, graphql_core_schema
from villagegraph.schema.context import Context, SocketContext
from villagegraph.schema.extensions import INTERNAL_MESSAGE
from villagegraph.schema.subscriptions import SocketSession
from villagegraph.server.admission import Admission
from villagegraph.server.auth import caller_of
from villagegraph.server.responses import (
    GRAPHQL_RESPONSE,
    as_graphql_response,
    cacheable,
    too_large,
)
from villagegraph.server.state import AppState
from villagegraph.server.websocket import (
    MAX_SUBSCRIPTIONS_PER_SOCKET,
    LimitedTransportWS,
    SocketCounts,
    log_in,
)
from villagegraph.shared import SharedDocuments, SharedRateLimiter
from villagegraph.tenants.session import RequestSession, UnknownAccount

log = logging.getLogger("villagegraph.requests")

# What a request may meet when the database restarts under it.
DATABASE_UNAVAILABLE = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


class VillageGraphQL(LocalGraphiQL, GraphQL[Context, None]):
    graphql_transport_ws_handler_class = LimitedTransportWS

    def __init__(self, state: AppState) -> None:
        schema = build_schema(state.settings.max_depth)
        self._operations = 0  # counts operations for the sampled log line
        super().__init__(
            schema,
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_SOCKET,
            connection_init_wait_timeout=timedelta(seconds=state.settings.ws_init_timeout_seconds),
        )
        self.sockets = SocketCounts(
            state.settings.ws_max_sockets_per_principal, state.settings.ws_max_sockets_per_address
        )
        self.state = state
        # Rate buckets and APQ documents are shared by every serving process (--workers).
        self.admission = Admission(
            state.settings,
            graphql_core_schema(schema),
            SharedRateLimiter(state.shared),
        )
        self.compiler = (
            Compiler(graphql_core_schema(schema), state.settings.max_depth)
            if state.settings.compiled
            else None
        )
        self.persisted = PersistedDocuments(
            state.settings.automatic_persisted_queries,
            state.settings.trusted_documents,
            store=SharedDocuments(state.shared),
        )

    async def get_context(self, request: Any, response: Any) -> Context:
        caller = caller_of(request.scope)
        request_id = caller.request_id if caller else uuid.uuid4().hex
        common: dict[str, Any] = {
            "request": request,
            "response": response,
            "settings": self.state.settings,
            "tokens": self.state.tokens,
            "request_id": request_id,
            "pool": self.state.request_pool(),
            "hub": self.state.notice_hub(),
        }
        if isinstance(request, WebSocket):
            # Events read in transactions of their own, on a pool of their own.
            common["pool"] = self.state.events()
            return SocketContext(
                db=SocketSession(None),
                admit_subscription=self.admission.admit_subscription,
                **common,
            )
        credential = caller.credential if caller else None
        session = RequestSession(self.state.request_pool(), credential, self.state.login())
        return Context(
            db=session,
            client_address=request.client.host if request.client else "-",
            admit_login=self.admission.admit_login,
            **common,
        )

    async def on_ws_connect(self, context: Any) -> Any:
        await log_in(context, self.state.tokens)
        self.sockets.sign_in(context.request, context.db.account_id)
        return await super().on_ws_connect(context)

    def encode_json(self, data: object) -> str | bytes:
        """A compiled result's `data` is PostgreSQL's JSON text: written as is, not walked."""
        if isinstance(data, dict) and isinstance(data.get("data"), CompiledData) and len(data) == 1:
            return b'{"data":' + data["data"].json.encode() + b"}"
        return super().encode_json(data)

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
            query = await self.persisted.resolve(request_data.query, request_data.extensions)
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
            compiled = None
            if self.compiler is not None and query is not None:
                compiled = await self.compiler.run(
                    context.db,
                    context.request_id,
                    query,
                    request_data.operation_name,
                    request_data.variables,
                )
            result = compiled or await self._execute(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        outcome = "ok"
        if result.errors:
            outcome = str((result.errors[0].extensions or {}).get("code", "ERROR"))
        elapsed = time.perf_counter() - started
        self.state.metrics.observe_operation(operation, outcome, elapsed)
        self._operations += 1
        if outcome != "ok" or self._operations % self.state.settings.request_log_sample == 0:
            log.info(
                "operation",
                extra={"operation": operation, "outcome": outcome, "ms": round(elapsed * 1000, 2)},
            )
        return result

    async def execute_internal(
        self, request: Request, query: str, variables: dict[str, Any]
    ) -> ExecutionResult:
        """Run one query for another endpoint of this service (exports, server/export.py)
        exactly as /graphql would for the same request: its caller's context and
        transaction, the rate limit and document limits of its tier, the schema with its
        extensions (error masking, commit)."""
        response = Response()
        context = await self.get_context(request, response)
        request_data = GraphQLRequestData(
            query=query, variables=variables, operation_name=None, extensions=None
        )
        try:
            await self._admit(request, response, context, query, request_data)
        except VillageGraphError as refusal:
            await context.db.close(commit=False)
            return ExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        refusal.message,
                        extensions={**refusal.extensions, "requestId": context.request_id},
                    )
                ],
            )
        return await self.schema.execute(query, variable_values=variables, context_value=context)

    async def _execute(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Strawberry's execution; a request refused by it or cancelled (the HTTP timeout)
        rolls its transaction back and gives its connection back."""
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as refused:
            await context.db.close(commit=False)
            if request.method == "GET" and "mutations" in refused.reason:
                # GraphQL over HTTP: a mutation over GET is a wrong method, not a bad request.
                raise HTTPException(405, "Mutations must use POST.") from refused
            raise
        except asyncio.CancelledError:
            try:
                await context.db.close(commit=False)
            except Exception:  # the connection may be mid-query; releasing it is what matters
                log.exception("closing a cancelled request's session failed")
            raise

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
        try:
            tier, measure = await self.admission.admit_request(
                principal,
                request.client.host if request.client else "-",
                query,
                request_data.operation_name,
                request_data.variables,
                gateway=self.admission.is_gateway(request.headers.get("x-gateway-token")),
            )
        except RateLimited as refusal:
            sub_response.status_code = 429
            sub_response.headers["Retry-After"] = str(refusal.extensions["retryAfterSeconds"])
            raise
        if tier == "analyst":
            timeout_ms = int(self.state.settings.analyst_statement_timeout_ms)
            await context.db.execute(f"set local statement_timeout = {timeout_ms}")
        if measure is not None and measure.operation:
            return measure.operation
        return request_data.operation_name

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        if isinstance(request, WebSocket):
            if not self.sockets.open(request):
                await request.close(code=1013)  # try again later
                return None
            try:
                return await super().run(request, context, root_value)
            finally:
                self.sockets.close(request)
        response = await super().run(request, context, root_value)
        if not (isinstance(request, Request) and isinstance(response, Response)):
            return response
        if len(response.body) > self.state.settings.max_response_bytes:
            response = too_large(response, self.state.settings.max_response_bytes)
        if response.media_type == "application/json" and GRAPHQL_RESPONSE in request.headers.get(
            "accept", ""
        ):
            response = as_graphql_response(response)
        if (
            request.method == "GET"
            and response.status_code == 200
            and (response.media_type or "").startswith("application/")
        ):
            return cacheable(request, response)
        return response
