"""Notices (公开 boards and columns): publishing, feeds, drill-down, read receipts.

A feed is read per publisher: the caller's visible publishers are its villages' 4-8
ancestor-or-self units, so each walks the (publisher, published_at) index for one page
and the pages are merged, instead of filtering the whole table through the policy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from villagegraph.models import from_record, from_records
from villagegraph.models.notices import Notice
from villagegraph.resolvers.loaders import Loader, by_key
from villagegraph.tenants.session import ScopedSession

NOTICE_COLUMNS = (
    "n.id, n.publisher_code, n.board, n.title, n.body, n.audience, n.target_tags, "
    "n.published_at, n.published_by"
)


def _after(cursor: list[Any] | None) -> tuple[datetime | None, int | None]:
    if cursor is None:
        return None, None
    return datetime.fromisoformat(cursor[0]), int(cursor[1])


async def feed_page(
    db: ScopedSession,
    publishers: list[int],
    board: str | None,
    cursor: list[Any] | None,
    limit: int,
) -> list[Notice]:
    after_time, after_id = _after(cursor)
    rows = await db.fetch(
        f"""select {NOTICE_COLUMNS}
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
             limit $5""",
        publishers,
        board,
        after_time,
        after_id,
        limit,
    )
    return from_records(Notice, rows)


async def feed_count(db: ScopedSession, publishers: list[int], board: str | None) -> int:
    return int(
        await db.fetchval(
            """select count(*) from vg.notices
                where publisher_code = any($1::bigint[]) and ($2::text is null or board = $2)""",
            publishers,
            board,
        )
    )


async def subtree_page(
    db: ScopedSession,
    lo: int,
    hi: int,
    board: str | None,
    cursor: list[Any] | None,
    limit: int,
) -> list[Notice]:
    after_time, after_id = _after(cursor)
    rows = await db.fetch(
        f"""select {NOTICE_COLUMNS} from vg.notices n
             where n.publisher_code between $1 and $2
               and ($3::text is null or n.board = $3)
               and ($4::timestamptz is null or (n.published_at, n.id) < ($4, $5))
             order by n.published_at desc, n.id desc
             limit $6""",
        lo,
        hi,
        board,
        after_time,
        after_id,
        limit,
    )
    return from_records(Notice, rows)


async def subtree_count(db: ScopedSession, lo: int, hi: int, board: str | None) -> int:
    return int(
        await db.fetchval(
            """select count(*) from vg.notices
                where publisher_code between $1 and $2 and ($3::text is null or board = $3)""",
            lo,
            hi,
            board,
        )
    )


async def publish(
    db: ScopedSession,
    publisher: int,
    board: str,
    title: str,
    body: str,
    audience: str,
    target_tags: list[str],
    account_id: int,
) -> Notice:
    record = await db.fetchrow(
        f"""insert into vg.notices as n
                (publisher_code, board, title, body, audience, target_tags, published_by)
            values ($1, $2, $3, $4, $5, $6, $7)
            returning {NOTICE_COLUMNS}""",
        publisher,
        board,
        title,
        body,
        audience,
        target_tags,
        account_id,
    )
    assert record is not None  # RLS refusals raise; an insert always returns its row
    row = from_record(Notice, record)
    await db.audit(
        "notice.publish",
        publisher,
        "notice",
        row.id,
        {"board": board, "audience": audience, "target_tags": target_tags, "title": title},
    )
    return row


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
