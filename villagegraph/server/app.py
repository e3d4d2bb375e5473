"""The Starlette application, assembled in one visible place.

/graphql  GraphQL over HTTP (GraphiQL on GET in a browser) and graphql-transport-ws
          subscriptions; see view.py and websocket.py.
/graphiql-assets/  the GraphiQL page's scripts and styles (villagegraph/graphiql.py)
/callbacks/wechat, /callbacks/sms  delivery receipts from WeChat and the SMS gateway,
          signed (callbacks.py)
/health   200 when the database answers
/metrics  Prometheus text
/export/{dashboard|statistics|analytics|tasks}.{xlsx|csv}  reports for 上报, produced by
          running the GraphQL operation through the view (export.py)
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from villagegraph.config import Settings
from villagegraph.database import (
    Database,
    create_event_pool,
    create_login_pool,
    create_request_pool,
    create_shared_state_pool,
)
from villagegraph.graphiql import assets_route
from villagegraph.metrics import Metrics
from villagegraph.server.auth import BearerAuth
from villagegraph.server.callbacks import Callbacks
from villagegraph.server.export import Export
from villagegraph.server.http_limits import HttpLimits
from villagegraph.server.probes import Probes
from villagegraph.server.state import AppState
from villagegraph.server.view import VillageGraphQL
from villagegraph.subscriptions import NoticeHub
from villagegraph.tenants.auth import TokenService


def tune_gc(threshold: int) -> None:
    """Move what start-up allocated (modules, the schema, pools) out of the collector's
    view, and collect young objects less often: full collections walked the whole
    start-up heap and were most of p99 (issue 18). 0 leaves Python's defaults."""
    if threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(threshold, 50, 100)


def create_app(settings: Settings, database: Database) -> Starlette:
    state = AppState(
        settings=settings, database=database, tokens=TokenService(settings), metrics=Metrics()
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.pool = await create_request_pool(database, settings)
        state.login_pool = state.tokens.login_pool = await create_login_pool(database)
        state.event_pool = await create_event_pool(database)
        state.shared_pool = await create_shared_state_pool(database)
        state.hub = NoticeHub(database.url("request"))
        tune_gc(settings.gc_threshold)
        try:
            yield
        finally:
            await state.hub.close()
            await state.event_pool.close()
            await state.shared_pool.close()
            await state.login_pool.close()
            await state.pool.close()

    probes = Probes(state)
    view = VillageGraphQL(state)
    graphql = BearerAuth(view, state.tokens, state.metrics)
    export = BearerAuth(Export(view), state.tokens, state.metrics)
    callbacks = Callbacks(state)
    return Starlette(
        routes=[
            Route("/health", probes.health),
            Route("/metrics", probes.metrics),
            Route("/callbacks/wechat", callbacks.wechat, methods=["GET", "POST"]),
            Route("/callbacks/sms", callbacks.sms, methods=["POST"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/export/{file}", export, methods=["GET"]),
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
