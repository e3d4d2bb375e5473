"""Notices (公开): the ten boards and columns, audiences, target tags, feeds and reach."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum

import strawberry

from villagegraph import resolvers
from villagegraph.errors import NotFound, Unauthenticated
from villagegraph.models.notices import Notice as NoticeRow
from villagegraph.resolvers.inspections import record_inspection
from villagegraph.resolvers.notices import (
    NoticeByIdLoader,
    NoticeReadByNoticeIdLoader,
    ReadCountByNoticeIdLoader,
)
from villagegraph.schema.context import Info
from villagegraph.schema.guards import LoggedIn, WritesUnit, caller, guarded, require_caller
from villagegraph.schema.hierarchy import OrgUnit, load_unit, subtree_bounds
from villagegraph.schema.inputs import division_code, record_id, tag_list, text
from villagegraph.schema.pagination import Connection, Keyset, Page
from villagegraph.schema.subscriptions import event_session
from villagegraph.tenants.session import RequestSession

# The sort key, and so the cursor, of the connection field below (schema/pagination.py).
NOTICE_ORDER = Keyset(("published_at", datetime), ("id", int))


@strawberry.enum(
    description="公开 boards (组织/党务/财务/事务公开, 通知, 制度公约, 荣誉) and columns."
)
class Board(Enum):
    ORGANIZATION = "ORGANIZATION"  # 组织公开
    PARTY_AFFAIRS = "PARTY_AFFAIRS"  # 党务公开
    FINANCE = "FINANCE"  # 财务公开
    AFFAIRS = "AFFAIRS"  # 事务公开
    NOTICE = "NOTICE"  # 村社通知
    RULES = "RULES"  # 制度公约
    HONORS = "HONORS"  # 荣誉
    POLICY = "POLICY"  # 政策法规
    SCIENCE = "SCIENCE"  # 科普教育
    REVITALIZATION = "REVITALIZATION"  # 乡村振兴


@strawberry.enum
class Audience(Enum):
    PUBLIC = "PUBLIC"
    MEMBERS = "MEMBERS"


@strawberry.federation.type(keys=["id"])
class Notice:
    id: strawberry.ID
    board: Board
    title: str
    body: str
    audience: Audience
    target_tags: list[str]
    published_at: datetime
    publisher_code: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: NoticeRow) -> Notice:
        return cls(
            id=strawberry.ID(str(row.id)),
            board=Board(row.board),
            title=row.title,
            body=row.body,
            audience=Audience(row.audience),
            target_tags=list(row.target_tags),
            published_at=row.published_at,
            publisher_code=row.publisher_code,
        )

    @strawberry.field
    async def publisher(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.publisher_code)
        assert unit is not None
        return unit

    @strawberry.field(description="Whether the calling resident has read it.")
    async def read(self, info: Info) -> bool:
        return await info.context.loader(NoticeReadByNoticeIdLoader).load(int(self.id))

    @strawberry.field(description="Read receipts the caller may count (its subtree's residents).")
    async def read_count(self, info: Info) -> int:
        return await info.context.loader(ReadCountByNoticeIdLoader).load(int(self.id))

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Notice | None:
        if not str(id).isdigit():
            return None
        row = await info.context.loader(NoticeByIdLoader).load(int(id))
        return None if row is None else cls.from_row(row)


NoticeConnection = Connection[Notice]


@strawberry.input
class PublishNoticeInput:
    unit: strawberry.ID
    board: Board
    title: str
    body: str
    audience: Audience
    target_tags: list[str] | None = None


@strawberry.type
class NoticeQuery:
    @strawberry.field(description="The caller's home feed: what reaches it, newest first.")
    async def feed(
        self,
        info: Info,
        board: Board | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Notice]:
        page = Page(NOTICE_ORDER, first, after)
        principal = await require_caller(info, "see your feed")
        publishers = principal.feed_publishers()
        board_value = board.value if board else None
        db = info.context.db
        rows = await resolvers.notices.feed_page(
            db, publishers, board_value, page.after, page.limit
        )
        return page.connection(
            rows, Notice.from_row, lambda: resolvers.notices.feed_count(db, publishers, board_value)
        )

    @strawberry.field(description="Notices published inside a unit's subtree (drill-down).")
    async def notices(
        self,
        info: Info,
        unit: strawberry.ID,
        board: Board | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Notice]:
        page = Page(NOTICE_ORDER, first, after)
        lo, hi = subtree_bounds(division_code(unit))
        board_value = board.value if board else None
        db = info.context.db
        rows = await resolvers.notices.subtree_page(db, lo, hi, board_value, page.after, page.limit)
        principal = await caller(info)
        if principal is not None:
            await record_inspection(
                db,
                principal,
                subject="NOTICES",
                queried_unit=lo,
                villages={row.publisher_code for row in page.rows(rows)} | {lo},
            )
        return page.connection(
            rows, Notice.from_row, lambda: resolvers.notices.subtree_count(db, lo, hi, board_value)
        )

    @strawberry.field(description="One notice, when the caller can see it.")
    async def notice(self, info: Info, id: strawberry.ID) -> Notice | None:
        row = await info.context.loader(NoticeByIdLoader).load(record_id(id))
        return None if row is None else Notice.from_row(row)


@strawberry.type
class NoticeMutation:
    @strawberry.mutation(
        description="一键发布: publish at a unit; it reaches every resident below.",
        extensions=guarded(
            WritesUnit(
                "input.unit",
                action="publish notices",
                refusal="Only officials and cadres of this unit or above may publish here.",
            )
        ),
    )
    async def publish_notice(self, info: Info, input: PublishNoticeInput) -> Notice:
        principal = await require_caller(info)
        code = division_code(input.unit)
        row = await resolvers.notices.publish(
            info.context.db,
            code,
            input.board.value,
            text(input.title, "title", max_length=200),
            text(input.body, "body", max_length=20000),
            input.audience.value,
            tag_list(input.target_tags),
            principal.account_id,
        )
        return Notice.from_row(row)

    @strawberry.mutation(
        description="Record that the caller read a notice (idempotent).",
        extensions=guarded(LoggedIn("mark notices read")),
    )
    async def mark_notice_read(self, info: Info, id: strawberry.ID) -> Notice:
        principal = await require_caller(info)
        row = await info.context.loader(NoticeByIdLoader).load(record_id(id))
        if row is None:
            raise NotFound("No such notice, or it is not addressed to you.")
        if principal.is_resident:
            assert principal.household_village is not None and principal.resident_id is not None
            await resolvers.notices.mark_read(
                info.context.db, row, principal.household_village, principal.resident_id
            )
        return Notice.from_row(row)


@strawberry.type
class NoticeSubscription:
    @strawberry.subscription(
        description="Notices reaching the caller's feed, as they are published (log in with"
        ' connection_init payload {"Authorization": "Bearer <token>"}).'
    )
    async def notice_published(
        self, info: Info, board: Board | None = None
    ) -> AsyncGenerator[Notice, None]:
        account = info.context.db.credential
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
                row = await resolvers.notices.published_to_subscriber(
                    session, event.publisher, event.id, board_value
                )
                if row is None:
                    continue
                info.context.reset_loaders()
                with event_session(session):
                    yield Notice.from_row(row)
            finally:
                await session.close(commit=False)
