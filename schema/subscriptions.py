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

import strawberry

from villagegraph.models import from_record
from villagegraph.models.notices import Notice as NoticeRow
from villagegraph.resolvers.notices import NOTICE_COLUMNS
from villagegraph.schema.context import Info
from villagegraph.schema.errors import BadUserInput, Unauthenticated
from villagegraph.schema.notices import Board, Notice
from villagegraph.tenants.session import ScopedSession

_event_session: ContextVar[ScopedSession | None] = ContextVar("vg_event_session", default=None)


class SocketSession:
    """The `db` of a websocket's context: the current event's session, per task."""

    def __init__(self, account_id: int | None) -> None:
        self.account_id = account_id

    def __getattr__(self, name: str) -> Any:
        session = _event_session.get()
        if session is None:
            raise BadUserInput("This socket carries subscriptions; send queries over HTTP.")
        return getattr(session, name)

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
        state = info.context.request.scope["vg.state"]
        board_value = board.value if board else None
        async for event in state["hub"].events():
            session = ScopedSession(state["pool"], account)
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
                info.context._loaders.clear()
                token = _event_session.set(session)
                try:
                    yield Notice.from_row(from_record(NoticeRow, row))
                finally:
                    _event_session.reset(token)
            finally:
                await session.close(commit=False)
