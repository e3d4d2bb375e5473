"""Notices (公开): the ten boards and columns, audiences, target tags, feeds and reach; and
disclosures (公开 on a board): the period they disclose, attachments with their SHA-256,
withdrawal and correction with a reason that stays shown (withdrawn notices are marked,
never deleted)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from urllib.parse import urlsplit

import strawberry

from villagegraph import resolvers
from villagegraph.errors import BadUserInput, Conflict, NotFound, Unauthenticated
from villagegraph.models.notices import Notice as NoticeRow
from villagegraph.resolvers.inspections import record_inspection
from villagegraph.resolvers.notices import (
    CorrectionByNoticeIdLoader,
    DeliveryByNoticeIdLoader,
    Disclosure,
    NoticeByIdLoader,
    NoticeReadByNoticeIdLoader,
    ReadCountByNoticeIdLoader,
)
from villagegraph.schema.compiled import (
    Column,
    Effect,
    GeneralPath,
    One,
    OneRow,
    PageRows,
    Rows,
    sql_roots,
    sql_type,
    utc_iso,
)
from villagegraph.schema.context import Info
from villagegraph.schema.guards import (
    LoggedIn,
    WritesUnit,
    authorize,
    caller,
    guarded,
    require_caller,
)
from villagegraph.schema.hierarchy import OrgUnit, load_unit, subtree_bounds
from villagegraph.schema.inputs import division_code, past_month, record_id, tag_list, text
from villagegraph.schema.pagination import Connection, Keyset, Page
from villagegraph.schema.residents import Resident
from villagegraph.schema.subscriptions import event_session
from villagegraph.tenants.principal import Principal
from villagegraph.tenants.session import RequestSession, ScopedSession

# The sort key, and so the cursor, of the connection field below (schema/pagination.py).
NOTICE_ORDER = Keyset(("published_at", datetime), ("id", int))
MAX_ATTACHMENTS = 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Unread recipients: by household village, then resident (the residents' primary key).
UNREAD_ORDER = Keyset(("village_code", int), ("id", int))


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


@strawberry.type(description="A document attached to a notice; its SHA-256 is in the audit chain.")
class Attachment:
    url: str
    name: str
    sha256: str = strawberry.field(description="Lower-case hex digest of the file's bytes.")


@strawberry.input
class AttachmentInput:
    url: str
    name: str
    sha256: str


@strawberry.type(description="A withdrawal: the notice stays listed, marked, with its reason.")
class NoticeWithdrawal:
    at: datetime
    reason: str


# The compiled path's form of each field below (schema/compiled.py), the loaders' SQL.
@sql_type(
    id=Column("{t}.id::text"),
    board=Column("{t}.board"),
    title=Column("{t}.title"),
    body=Column("{t}.body"),
    audience=Column("{t}.audience"),
    targetTags=Column("to_json({t}.target_tags)"),
    publishedAt=Column(utc_iso("{t}.published_at")),
    publisher=One("vg.org_units", "{c}.code = {t}.publisher_code"),
    read=Column(
        "exists(select from vg.notice_reads nr where nr.notice_id = {t}.id"
        " and nr.resident_village = vg.household_village() and nr.resident_id = vg.resident_id())"
    ),
    readCount=Column("(select count(*) from vg.notice_reads nr where nr.notice_id = {t}.id)"),
    period=Column("{t}.period"),
    correctionReason=Column("{t}.correction_reason"),
    urgent=Column("{t}.urgent"),
)
@strawberry.federation.type(keys=["id"])
class Notice:
    id: strawberry.ID
    board: Board
    title: str
    body: str
    audience: Audience
    target_tags: list[str]
    published_at: datetime
    period: str | None = strawberry.field(
        description="The period a disclosure covers ('YYYY-MM', its first month): what the "
        "disclosure-deadline check counts."
    )
    attachments: list[Attachment]
    withdrawn: NoticeWithdrawal | None = strawberry.field(
        description="Set when the publisher withdrew it (撤回), with the reason."
    )
    correction_reason: str | None = strawberry.field(
        description="On a correction (更正): why the notice it corrects was wrong."
    )
    urgent: bool = strawberry.field(description="An urgent notice: always pushed to phones.")
    publisher_code: strawberry.Private[int]
    corrects_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: NoticeRow) -> Notice:
        attachments = getattr(row, "attachments", None) or "[]"
        if isinstance(attachments, str):
            attachments = json.loads(attachments)
        withdrawn_at = getattr(row, "withdrawn_at", None)
        return cls(
            id=strawberry.ID(str(row.id)),
            board=Board(row.board),
            title=row.title,
            body=row.body,
            audience=Audience(row.audience),
            target_tags=list(row.target_tags),
            published_at=row.published_at,
            period=getattr(row, "period", None),
            attachments=[Attachment(**a) for a in attachments],
            withdrawn=NoticeWithdrawal(at=withdrawn_at, reason=row.withdrawal_reason or "")
            if withdrawn_at
            else None,
            correction_reason=getattr(row, "correction_reason", None),
            urgent=bool(row.urgent),
            publisher_code=row.publisher_code,
            corrects_id=getattr(row, "corrects_id", None),
        )

    @strawberry.field(description="The notice this one corrects, on a correction.")
    async def corrects(self, info: Info) -> Notice | None:
        if self.corrects_id is None:
            return None
        row = await info.context.loader(NoticeByIdLoader).load(self.corrects_id)
        return None if row is None else Notice.from_row(row)

    @strawberry.field(description="The notice correcting this one, if it was corrected.")
    async def corrected_by(self, info: Info) -> Notice | None:
        row = await info.context.loader(CorrectionByNoticeIdLoader).load(int(self.id))
        return None if row is None else Notice.from_row(row)

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

    @strawberry.field(
        description="How far the notice's push reached (staff: the recipients in their own "
        "subtree); null for residents, and for a notice that was not pushed."
    )
    async def delivery(self, info: Info) -> NoticeDelivery | None:
        principal = await caller(info)
        if principal is None or not principal.is_staff:
            return None
        counts = await info.context.loader(DeliveryByNoticeIdLoader).load(int(self.id))
        read = await info.context.loader(ReadCountByNoticeIdLoader).load(int(self.id))
        return NoticeDelivery(
            recipients=counts.recipients,
            queued=counts.queued,
            sent=counts.sent,
            failed=counts.failed,
            read=read,
        )

    @strawberry.field(
        description="Residents the notice reaches who have not read it (for home visits), "
        "as the registry shows them to the caller: staff only, their own subtree, "
        "ID numbers and phones masked as in `residents`."
    )
    async def unread_recipients(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Resident]:
        await authorize(
            info,
            lambda principal: principal.is_staff,
            refusal="Only officials and cadres may list who has not read a notice.",
            action="list who has not read a notice",
        )
        page = Page(UNREAD_ORDER, first, after)
        row = await info.context.loader(NoticeByIdLoader).load(int(self.id))
        if row is None:
            raise NotFound("No such notice, or it is not addressed to you.")
        db = info.context.db
        rows = await resolvers.notices.unread_recipients_page(db, row, page.after, page.limit)
        return page.connection(
            rows, Resident.from_row, lambda: resolvers.notices.unread_recipients_count(db, row)
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Notice | None:
        if not str(id).isdigit():
            return None
        row = await info.context.loader(NoticeByIdLoader).load(int(id))
        return None if row is None else cls.from_row(row)


NoticeConnection = Connection[Notice]


@strawberry.type(description="The push of a notice to phones, counted per recipient.")
class NoticeDelivery:
    recipients: int = strawberry.field(description="Deliveries queued by the fan-out.")
    queued: int = strawberry.field(description="Not sent yet (waiting, retrying).")
    sent: int = strawberry.field(description="Accepted by WeChat or the SMS gateway.")
    failed: int = strawberry.field(description="Dead letters: no channel reached them.")
    read: int = strawberry.field(description="Read receipts in the app.")


@strawberry.input
class PublishNoticeInput:
    unit: strawberry.ID
    board: Board
    title: str
    body: str
    audience: Audience
    target_tags: list[str] | None = None
    period: str | None = strawberry.field(
        default=None,
        description="For a disclosure: the period it covers, 'YYYY-MM' (the first month of "
        "a quarter for a quarterly board); not a month that has not begun.",
    )
    attachments: list[AttachmentInput] | None = None
    urgent: bool | None = strawberry.field(
        default=None, description="Urgent (紧急): pushed to phones at once, quiet hours ignored."
    )


@strawberry.input
class NoticeCorrectionInput:
    title: str
    body: str
    period: str | None = None
    attachments: list[AttachmentInput] | None = None


def disclosed_period(value: str | None) -> str | None:
    if value is None:
        return None
    return past_month(value, "period")


def attachment_list(values: list[AttachmentInput] | None) -> list[dict[str, str]]:
    """Links with a name and the SHA-256 of the file's bytes (the audit chain keeps it)."""
    if values and len(values) > MAX_ATTACHMENTS:
        raise BadUserInput(
            f"`attachments` may hold at most {MAX_ATTACHMENTS} files.", argument="attachments"
        )
    result = []
    for value in values or []:
        url = text(value.url, "attachments", max_length=1000)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BadUserInput("An attachment's `url` must be an http(s) link.", argument="url")
        digest = value.sha256.strip().lower()
        if not _SHA256.match(digest):
            raise BadUserInput(
                "An attachment's `sha256` must be 64 hexadecimal digits.", argument="sha256"
            )
        result.append(
            {"url": url, "name": text(value.name, "name", max_length=200), "sha256": digest}
        )
    return result


def _board(board: Board | str | None) -> str | None:
    return board.value if isinstance(board, Board) else board


async def feed_rows(
    db: ScopedSession,
    board: Board | None = None,
    first: int | None = None,
    after: str | None = None,
) -> PageRows:
    """`feed` for the compiled path: what the resolver checks, then its statements."""
    page = Page(NOTICE_ORDER, first, after)
    principal = await db.principal()
    if principal is None:  # the resolver refuses through require_caller
        raise GeneralPath("the feed needs a caller")
    publishers, board_value = principal.feed_publishers(), _board(board)
    return PageRows(
        page=Rows(
            resolvers.notices.FEED_PAGE,
            (publishers, board_value, *page.after_or_none(), page.limit),
        ),
        count=Rows(resolvers.notices.FEED_COUNT, (publishers, board_value)),
        keyset=NOTICE_ORDER,
        order="published_at desc, id desc",
        size=page.size,
    )


async def notices_rows(
    db: ScopedSession,
    unit: str,
    board: Board | None = None,
    first: int | None = None,
    after: str | None = None,
) -> PageRows:
    """`notices(unit:)` for the compiled path, recording the inspection exactly once."""
    page = Page(NOTICE_ORDER, first, after)
    lo, hi = subtree_bounds(division_code(unit))
    board_value = _board(board)
    principal = await db.principal()

    async def inspect(session: ScopedSession, publishers: list[int]) -> None:
        assert principal is not None
        await record_inspection(
            session, principal, subject="NOTICES", queried_unit=lo, villages=set(publishers) | {lo}
        )

    return PageRows(
        page=Rows(
            resolvers.notices.SUBTREE_PAGE, (lo, hi, board_value, *page.after_or_none(), page.limit)
        ),
        count=Rows(resolvers.notices.SUBTREE_COUNT, (lo, hi, board_value)),
        keyset=NOTICE_ORDER,
        order="published_at desc, id desc",
        size=page.size,
        effect=None if principal is None else Effect("publisher_code", inspect),
    )


async def notice_row(db: ScopedSession, id: str) -> OneRow:
    return OneRow(Rows(resolvers.notices.NOTICE_BY_ID, (record_id(id),)))


@sql_roots(feed=feed_rows, notices=notices_rows, notice=notice_row)
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
            Disclosure(
                period=disclosed_period(input.period),
                attachments=attachment_list(input.attachments),
            ),
            urgent=bool(input.urgent),
        )
        return Notice.from_row(row)

    @strawberry.mutation(
        description="撤回: withdraw a notice with a reason; it stays listed, marked withdrawn "
        "with the reason, and no longer counts as a disclosure. Audited."
    )
    async def withdraw_notice(self, info: Info, id: strawberry.ID, reason: str) -> Notice:
        await require_caller(info, "withdraw notices")
        why = text(reason, "reason", max_length=500)
        row = await info.context.loader(NoticeByIdLoader).load(record_id(id))
        if row is None:
            raise NotFound("No such notice, or it is not visible to you.")
        await authorize(
            info,
            Principal.can_write,
            row.publisher_code,
            refusal="Only the publisher's officials and cadres (or above) may withdraw it.",
        )
        if getattr(row, "withdrawn_at", None) is not None:
            raise Conflict("This notice is already withdrawn.")
        withdrawn = await resolvers.notices.withdraw(info.context.db, row, why)
        if withdrawn is None:
            raise Conflict("This notice was withdrawn meanwhile.")
        return Notice.from_row(withdrawn)

    @strawberry.mutation(
        description="更正: publish a corrected notice in place of one, with the reason; the "
        "original stays, linked (`correctedBy`). Audited with the new attachments' hashes."
    )
    async def correct_notice(
        self, info: Info, id: strawberry.ID, input: NoticeCorrectionInput, reason: str
    ) -> Notice:
        principal = await require_caller(info, "correct notices")
        why = text(reason, "reason", max_length=500)
        original = await info.context.loader(NoticeByIdLoader).load(record_id(id))
        if original is None:
            raise NotFound("No such notice, or it is not visible to you.")
        await authorize(
            info,
            Principal.can_write,
            original.publisher_code,
            refusal="Only the publisher's officials and cadres (or above) may correct it.",
        )
        if await info.context.loader(CorrectionByNoticeIdLoader).load(original.id) is not None:
            raise Conflict("This notice is already corrected; correct the correction.")
        row = await resolvers.notices.publish(
            info.context.db,
            original.publisher_code,
            original.board,
            text(input.title, "title", max_length=200),
            text(input.body, "body", max_length=20000),
            original.audience,
            list(original.target_tags),
            principal.account_id,
            Disclosure(
                period=disclosed_period(input.period) if input.period else original.period,
                attachments=attachment_list(input.attachments),
                corrects=original.id,
                correction_reason=why,
            ),
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
