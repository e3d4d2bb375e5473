"""Subscriptions (graphql-transport-ws): new notices reaching the caller's feed.

Events come from villagegraph/subscriptions.NoticeHub (PostgreSQL LISTEN/NOTIFY). For each
event the subscriber opens a short transaction of its own, under its own RLS context, and
reads the notice the way the feed does (publisher among its villages' and grants'
ancestors, then RLS for audience and target tags); only what it may read is sent. Fields
of the sent notice resolve in that same transaction, which closes before the next event.
A socket's context carries a SocketSession instead of a request session: it points, in
each subscription's own task, at the session of the event being sent, so several
subscriptions on one socket never share a transaction.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextvars import ContextVar
from typing import Any

import asyncpg
import strawberry

from villagegraph.errors import BadUserInput, Unauthenticated
from villagegraph.resolvers.notices import NOTICE_COLUMNS
from villagegraph.schema.context import Info
from villagegraph.schema.notices import Board, Notice
from villagegraph.tenants.principal import Principal
from villagegraph.tenants.session import RequestSession, ScopedSession

_event_session: ContextVar[ScopedSession | None] = ContextVar("vg_event_session", default=None)


class SocketSession(ScopedSession):
    """The `db` of a websocket's context: the current event's session, per task."""

    def __init__(self, account_id: int | None) -> None:
        self._account_id = account_id

    @property
    def account_id(self) -> int | None:
        return self._account_id

    @staticmethod
    def _event() -> ScopedSession:
        session = _event_session.get()
        if session is None:
            raise BadUserInput("This socket carries subscriptions; send queries over HTTP.")
        return session

    async def principal(self) -> Principal | None:
        return await self._event().principal()

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self._event().fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self._event().fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._event().fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        return await self._event().execute(sql, *args)

    async def savepoint(self) -> Any:
        return await self._event().savepoint()

    async def audit(
        self,
        action: str,
        tenant: int | None,
        entity: str,
        entity_id: Any,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await self._event().audit(action, tenant, entity, entity_id, detail)

    async def set_account(self, account_id: int) -> Principal | None:
        return await self._event().set_account(account_id)

    async def close(self, commit: bool) -> None:
        """Each event's session is closed by its subscription; nothing is left to end."""


@strawberry.type
class NoticeSubscription:
    @strawberry.subscription(
        description="Notices reaching the caller's feed, as they are published (log in with"
        ' connection_init payload {"Authorization": "Bearer <token>"}).'
    )
    async def notice_published(
        self, info: Info, board: Board | None = None
    ) -> AsyncGenerator[Notice, None]:
        account = info.context.db.account_id
        if account is None:
            raise Unauthenticated("Log in to follow your feed.")
        hub, pool = info.context.hub, info.context.pool
        if hub is None or pool is None:
            raise RuntimeError("subscriptions need the running app's pool and notice hub")
        board_value = board.value if board else None
        async for event in hub.events():
            session = RequestSession(pool, account)
            try:
                principal = await session.principal()
                if principal is None or event.publisher not in principal.feed_publishers():
                    continue
                row = await session.fetchrow(
                    f"""select {NOTICE_COLUMNS} from vg.notices n
                         where n.publisher_code = $1 and n.id = $2
                           and ($3::text is null or n.board = $3)""",
                    event.publisher,
                    event.id,
                    board_value,
                )
                if row is None:
                    continue
                info.context.reset_loaders()
                token = _event_session.set(session)
                try:
                    yield Notice.from_row(row)
                finally:
                    _event_session.reset(token)
            finally:
                await session.close(commit=False)
