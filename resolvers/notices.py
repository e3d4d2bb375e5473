"""Notices (公开 boards and columns): publishing, feeds, drill-down, read receipts, and the
notice a subscriber is sent.

A feed is read per publisher: the caller's visible publishers are its villages' 4-8
ancestor-or-self units, so each walks the (publisher, published_at) index for one page
and the pages are merged, instead of filtering the whole table through the policy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

import asyncpg

from villagegraph.models import from_record, from_records
from villagegraph.models.notices import Notice
from villagegraph.resolvers.loaders import Loader, by_key
from villagegraph.resolvers.measure import Measure
from villagegraph.resolvers.notifications import announce, announce_notice
from villagegraph.resolvers.residents import RESIDENT_COLUMNS, ResidentWithBirthYear
from villagegraph.tenants.session import ScopedSession

# 公开 boards by their Chinese names, as titles say them (a disclosure rule names one).
BOARD_LABELS = {
    "ORGANIZATION": "组织公开",
    "PARTY_AFFAIRS": "党务公开",
    "FINANCE": "财务公开",
    "AFFAIRS": "事务公开",
}

NOTICE_COLUMNS = (
    "n.id, n.publisher_code, n.board, n.title, n.body, n.audience, n.target_tags, "
    "n.published_at, n.published_by, n.period, n.attachments, n.withdrawn_at, "
    "n.withdrawal_reason, n.corrects_id, n.correction_reason, n.urgent"
)


# The statements of the feed and the drill-down, shared with the compiled plans
# (schema/compiled.py): publishers, board, after time, after id, limit.
FEED_PAGE = f"""select {NOTICE_COLUMNS}
      from unnest($1::bigint[]) as p (code)
      cross join lateral (
          select * from vg.notices n
           where n.publisher_code = p.code
             and ($2::text is null or n.board = $2)
             and ($3::timestamptz is null or (n.published_at, n.id) < ($3, $4))
           order by n.published_at desc, n.id desc
           limit $5
      ) n
     order by n.published_at desc, n.id desc
     limit $5"""
FEED_COUNT = """select count(*) from vg.notices
     where publisher_code = any($1::bigint[]) and ($2::text is null or board = $2)"""
# lo, hi, board, after time, after id, limit.
SUBTREE_PAGE = f"""select {NOTICE_COLUMNS} from vg.notices n
     where n.publisher_code between $1 and $2
       and ($3::text is null or n.board = $3)
       and ($4::timestamptz is null or (n.published_at, n.id) < ($4, $5))
     order by n.published_at desc, n.id desc
     limit $6"""
SUBTREE_COUNT = """select count(*) from vg.notices
     where publisher_code between $1 and $2 and ($3::text is null or board = $3)"""
NOTICE_BY_ID = f"select {NOTICE_COLUMNS} from vg.notices n where n.id = $1"


async def feed_page(
    db: ScopedSession,
    publishers: list[int],
    board: str | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Notice]:
    after_time, after_id = after or (None, None)
    rows = await db.fetch(FEED_PAGE, publishers, board, after_time, after_id, limit)
    return from_records(Notice, rows)


async def feed_count(db: ScopedSession, publishers: list[int], board: str | None) -> int:
    return int(await db.fetchval(FEED_COUNT, publishers, board))


async def subtree_page(
    db: ScopedSession,
    lo: int,
    hi: int,
    board: str | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Notice]:
    after_time, after_id = after or (None, None)
    rows = await db.fetch(SUBTREE_PAGE, lo, hi, board, after_time, after_id, limit)
    return from_records(Notice, rows)


async def subtree_count(db: ScopedSession, lo: int, hi: int, board: str | None) -> int:
    return int(await db.fetchval(SUBTREE_COUNT, lo, hi, board))


@dataclass(frozen=True)
class Disclosure:
    """What makes a notice a disclosure: the period it discloses ('YYYY-MM', its first
    month), attachments ({url, name, sha256}), and for a correction the notice it corrects
    and why."""

    period: str | None = None
    attachments: list[dict[str, str]] = field(default_factory=list)
    corrects: int | None = None
    correction_reason: str | None = None


class Statements(Protocol):
    """What publishing needs: a request's ScopedSession or the worker's owner connection."""

    async def fetchrow(self, sql: str, /, *args: Any) -> Any: ...


async def insert_notice(
    db: Statements,
    publisher: int,
    board: str,
    title: str,
    body: str,
    audience: str,
    published_by: int | None,
    target_tags: list[str] | None = None,
    published_at: datetime | None = None,
    disclosure: Disclosure | None = None,
    urgent: bool = False,
) -> Notice:
    """The one statement that puts a notice on a board (NOTIFY reaches subscribers through
    the table's trigger); `published_at` None: now. Callers audit it as their action."""
    disclosure = disclosure or Disclosure()
    row = await db.fetchrow(
        f"""insert into vg.notices as n
                (publisher_code, board, title, body, audience, target_tags, published_by,
                 published_at, period, attachments, corrects_id, correction_reason, urgent)
            values ($1, $2, $3, $4, $5, coalesce($6::text[], '{{}}'), $7,
                    coalesce($8::timestamptz, now()), $9, $10::jsonb, $11, $12, $13)
            returning {NOTICE_COLUMNS}""",
        publisher,
        board,
        title,
        body,
        audience,
        target_tags,
        published_by,
        published_at,
        disclosure.period,
        json.dumps(disclosure.attachments, ensure_ascii=False),
        disclosure.corrects,
        disclosure.correction_reason,
        urgent,
    )
    assert row is not None  # RLS refusals raise; an insert always returns its row
    return from_record(Notice, row)


async def publish(
    db: ScopedSession,
    publisher: int,
    board: str,
    title: str,
    body: str,
    audience: str,
    target_tags: list[str],
    account_id: int,
    disclosure: Disclosure | None = None,
    *,
    urgent: bool = False,
    announce_as: str | None = None,
) -> Notice:
    """A staff member publishes (or corrects): the notice, its push to phones when the
    city's push rules say so (a broadcast of kind `announce_as` when given: always
    pushed), and its audit record, whose detail carries the period and each attachment's
    SHA-256 into the audit chain."""
    row = await insert_notice(
        db,
        publisher,
        board,
        title,
        body,
        audience,
        account_id,
        target_tags,
        disclosure=disclosure,
        urgent=urgent,
    )
    if announce_as is None:
        broadcast = await announce_notice(db, row, account_id)
    else:
        broadcast = await announce(
            db,
            kind=announce_as,
            tenant=publisher,
            payload={"notice": row.id, "title": title, "published_at": row.published_at},
            audience=audience,
            target_tags=target_tags,
            urgent=urgent,
            notice=(publisher, row.id),
            created_by=account_id,
        )
    detail: dict[str, Any] = {
        "board": board,
        "audience": audience,
        "target_tags": target_tags,
        "title": title,
        "urgent": urgent,
        "broadcast": broadcast,
    }
    if disclosure is not None:
        detail |= {"period": disclosure.period, "attachments": disclosure.attachments}
        if disclosure.corrects is not None:
            detail |= {"corrects": disclosure.corrects, "reason": disclosure.correction_reason}
    await db.audit(
        "notice.correct" if disclosure and disclosure.corrects else "notice.publish",
        publisher,
        "notice",
        row.id,
        detail,
    )
    return row


async def withdraw(db: ScopedSession, notice: Notice, reason: str) -> Notice | None:
    """Withdraw a notice with a reason that stays shown (the database stamps when and who);
    None when this caller may not, or it is withdrawn already."""
    record = await db.fetchrow(
        f"""update vg.notices as n set withdrawal_reason = $3
             where n.publisher_code = $1 and n.id = $2 and n.withdrawn_at is null
            returning {NOTICE_COLUMNS}""",
        notice.publisher_code,
        notice.id,
        reason,
    )
    if record is None:
        return None
    await db.audit(
        "notice.withdraw", notice.publisher_code, "notice", notice.id, {"reason": reason}
    )
    return from_record(Notice, record)


class CorrectionByNoticeIdLoader(Loader[int, Notice | None]):
    """The notice correcting each notice, or None."""

    async def batch_load(self, keys: list[int]) -> list[Notice | None]:
        rows = await self.db.fetch(
            f"select {NOTICE_COLUMNS} from vg.notices n where n.corrects_id = any($1::bigint[])",
            keys,
        )
        return by_key(from_records(Notice, rows), keys, "corrects_id")


async def published_to_subscriber(
    db: ScopedSession, publisher: int, notice_id: int, board: str | None
) -> Notice | None:
    """A just-published notice as a subscriber may read it (RLS: audience, target tags),
    on `board` when given; None when it may not."""
    record = await db.fetchrow(
        f"""select {NOTICE_COLUMNS} from vg.notices n
             where n.publisher_code = $1 and n.id = $2
               and ($3::text is null or n.board = $3)""",
        publisher,
        notice_id,
        board,
    )
    return None if record is None else from_record(Notice, record)


async def mark_read(
    db: ScopedSession, notice: Notice, resident_village: int, resident_id: int
) -> None:
    """Record the caller's read receipt once; a repeated read changes nothing."""
    inserted = await db.fetchval(
        """insert into vg.notice_reads
               (resident_village, resident_id, notice_publisher, notice_id)
           values ($1, $2, $3, $4)
           on conflict do nothing
           returning notice_id""",
        resident_village,
        resident_id,
        notice.publisher_code,
        notice.id,
    )
    if inserted is not None:
        await db.audit("notice.read", resident_village, "notice", notice.id)


class NoticeByIdLoader(Loader[int, Notice | None]):
    async def batch_load(self, keys: list[int]) -> list[Notice | None]:
        rows = await self.db.fetch(
            f"select {NOTICE_COLUMNS} from vg.notices n where n.id = any($1::bigint[])", keys
        )
        return by_key(from_records(Notice, rows), keys, "id")


class NoticeReadByNoticeIdLoader(Loader[int, bool]):
    """Whether the calling resident has read each notice."""

    async def batch_load(self, keys: list[int]) -> list[bool]:
        rows = await self.db.fetch(
            """select notice_id from vg.notice_reads
                where notice_id = any($1::bigint[])
                  and resident_village = vg.household_village()
                  and resident_id = vg.resident_id()""",
            keys,
        )
        read = {row["notice_id"] for row in rows}
        return [key in read for key in keys]


class ReadCountByNoticeIdLoader(Loader[int, int]):
    """Receipts the caller may count (staff: residents of its subtree)."""

    async def batch_load(self, keys: list[int]) -> list[int]:
        rows = await self.db.fetch(
            """select notice_id, count(*) as reads from vg.notice_reads
                where notice_id = any($1::bigint[]) group by notice_id""",
            keys,
        )
        counts = {row["notice_id"]: row["reads"] for row in rows}
        return [counts.get(key, 0) for key in keys]


class DeliveryCounts(NamedTuple):
    """A notice's broadcast deliveries by status (all zero when it was not pushed)."""

    recipients: int = 0
    queued: int = 0
    sent: int = 0
    failed: int = 0


class DeliveryByNoticeIdLoader(Loader[int, DeliveryCounts]):
    """Deliveries of each notice's broadcast by status, as many as the caller may read
    (RLS on the outbox: staff see their subtree's recipients), and its read receipts."""

    async def batch_load(self, keys: list[int]) -> list[DeliveryCounts]:
        rows = await self.db.fetch(
            """select b.notice_id,
                      count(o.id) as recipients,
                      count(o.id) filter (where o.status = 'PENDING') as queued,
                      count(o.id) filter (where o.status = 'SENT') as sent,
                      count(o.id) filter (where o.status = 'DEAD') as failed
                 from vg.broadcasts b
                 left join vg.outbox o on o.broadcast_id = b.id
                where b.notice_id = any($1::bigint[])
                group by b.notice_id""",
            keys,
        )
        found = {
            row["notice_id"]: DeliveryCounts(
                row["recipients"], row["queued"], row["sent"], row["failed"]
            )
            for row in rows
        }
        return [found.get(key, NOT_PUSHED) for key in keys]


NOT_PUSHED = DeliveryCounts()


# Residents a notice reaches (as the fan-out decides: household or residence in the
# publisher's subtree, audience, target tags) who have not read it. $1 publisher,
# $2 audience, $3 target tags, $4 notice id.
_UNREAD = """
    from vg.residents r
   where (r.village_code between $1 and vg.subtree_end($1)
          or (r.residence_code between $1 and vg.subtree_end($1)
              and ($2 = 'PUBLIC' or r.residence_member)))
     and (cardinality($3::text[]) = 0 or r.tags && $3::text[])
     and not exists (select from vg.notice_reads nr
                      where nr.resident_village = r.village_code
                        and nr.resident_id = r.id and nr.notice_id = $4)"""


def _unread_args(notice: Notice) -> tuple[Any, ...]:
    return (notice.publisher_code, notice.audience, list(notice.target_tags), notice.id)


async def unread_recipients_page(
    db: ScopedSession, notice: Notice, after: tuple[int, int] | None, limit: int
) -> list[ResidentWithBirthYear]:
    """In (village, id) order; RLS shows the caller only its own subtree's residents."""
    after_village, after_id = after or (None, None)
    rows = await db.fetch(
        f"""select {RESIDENT_COLUMNS} {_UNREAD}
               and ($5::bigint is null or (r.village_code, r.id) > ($5, $6))
             order by r.village_code, r.id
             limit $7""",
        *_unread_args(notice),
        after_village,
        after_id,
        limit,
    )
    return from_records(ResidentWithBirthYear, rows)


async def unread_recipients_count(db: ScopedSession, notice: Notice) -> int:
    return int(await db.fetchval(f"select count(*) {_UNREAD}", *_unread_args(notice)))


# A targeted notice (低保 households, the elderly, ...) still unread this long after it was
# published raises one task per village for its cadres: visit the households (入户告知).
UNREAD_TASK_AFTER = timedelta(hours=48)
UNREAD_TASK_DAYS = 3  # to visit them
UNREAD_LOOKBACK = timedelta(days=30)


async def raise_unread_notice_tasks(conn: asyncpg.Connection, now: datetime) -> int:
    """Each village with residents who have not read a pushed, targeted notice from above
    48 hours after it was published gets one task from the publisher, once (its source
    key); its staff are told. Returns the number of tasks raised."""
    raised = await conn.fetchval(
        """with due as (
               select n.publisher_code, n.id, n.title, n.target_tags
                 from vg.notices n join vg.broadcasts b on b.notice_id = n.id
                where cardinality(n.target_tags) > 0
                  and n.published_at <= $1::timestamptz - $2::interval
                  and n.published_at > $1::timestamptz - $3::interval
           ), unread as (
               select d.publisher_code, d.id, d.title, r.village_code, count(*) as residents
                 from due d
                 join vg.residents r
                   on r.village_code between d.publisher_code and vg.subtree_end(d.publisher_code)
                  and r.tags && d.target_tags
                where r.village_code <> d.publisher_code
                  and not exists (select from vg.notice_reads nr
                                   where nr.resident_village = r.village_code
                                     and nr.resident_id = r.id and nr.notice_id = d.id)
                group by d.publisher_code, d.id, d.title, r.village_code
           ), raised as (
               insert into vg.tasks (assignee_code, issuer_code, title, body, due_at, source_key)
               select u.village_code, u.publisher_code, format('入户告知：%s', u.title),
                      format('本村有%s位村民尚未阅读通知“%s”，请入户或电话告知，并在系统中记录。',
                             u.residents, u.title),
                      $1::timestamptz + make_interval(days => $4), format('notice-unread:%s', u.id)
                 from unread u
               on conflict (assignee_code, source_key) where source_key is not null do nothing
               returning id, assignee_code, issuer_code, title, due_at
           ), notified as (
               insert into vg.outbox (tenant_code, kind, recipient_account, payload, idempotency_key)
               select t.assignee_code, 'task.assigned', g.account_id,
                      jsonb_build_object('task', t.id, 'title', t.title, 'due_at', t.due_at,
                                         'assignee', t.assignee_code::text,
                                         'issuer', t.issuer_code::text),
                      format('task:%s:assigned:%s', t.id, g.account_id)
                 from raised t
                 join vg.grants g on g.unit_code = t.assignee_code
                  and g.role in ('OFFICIAL', 'CADRE') and g.revoked_at is null
               on conflict (idempotency_key) do nothing
               returning 1
           )
           select count(*) from raised""",
        now,
        UNREAD_TASK_AFTER,
        UNREAD_LOOKBACK,
        UNREAD_TASK_DAYS,
    )
    return int(raised)


# --- analytics measures (resolvers/analytics.py) ---------------------------------------

NOTICES = Measure(
    name="NOTICES",
    description="Notices published, by the publishing unit; category: board.",
    source="vg.notices n",
    tenant="n.publisher_code",
    time="n.published_at",
    category="n.board",
)


NOTICE_READS = Measure(
    name="NOTICE_READS",
    description="Read receipts, by the reader's village; category: the notice's board.",
    source="vg.notice_reads r join vg.notices n"
    " on n.publisher_code = r.notice_publisher and n.id = r.notice_id",
    tenant="r.resident_village",
    time="r.read_at",
    category="n.board",
)
