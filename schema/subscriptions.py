"""Subscriptions (graphql-transport-ws): new notices reaching the caller's feed.

Events come from villagegraph/subscriptions.NoticeHub (PostgreSQL LISTEN/NOTIFY). For each
event the subscriber opens a short transaction of its own, under its own RLS context, and
reads the notice the way the feed does (publisher among its villages' and grants'
ancestors, then RLS for audience and target tags); only what it may read is sent. Fields
of the sent notice resolve in that same transaction, which closes before the next event.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from resolvers.notices import NOTICE_COLUMNS
from schema.context import Info
from schema.errors import Unauthenticated
from schema.notices import Board, Notice
from tenants.hierarchy import ancestors_or_self
from tenants.principal import Principal
from tenants.session import ScopedSession


def feed_publishers(principal: Principal) -> set[int]:
    """The units whose notices reach a principal's feed (as `feed` in schema/notices.py)."""
    units = [
        v for v in (principal.household_village, principal.residence_village) if v is not None
    ] + [g.unit for g in principal.grants]
    return {a for unit in units for a in ancestors_or_self(unit)}


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
                if principal is None or event.publisher not in feed_publishers(principal):
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
                info.context.db = session
                info.context._loaders.clear()
                yield Notice.from_row(row)
            finally:
                await session.close(commit=False)
