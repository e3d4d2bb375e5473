"""Remote inspection (远程验收): officials reading a village's ledger, tasks, notices or
finance from outside the village leave a record of who inspected what, when.

A GraphQL query's transaction commits when it succeeds, so the record persists with the
read; RLS lets the village and its superiors list the records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from villagegraph.tenants.principal import Principal
from villagegraph.tenants.session import ScopedSession


async def record_inspection(
    db: ScopedSession,
    principal: Principal,
    *,
    subject: str,
    queried_unit: int,
    villages: set[int],
    search: str | None = None,
) -> None:
    """Record that an official read these villages' ledger or tasks (远程验收).

    Only villages the caller may read in full are inspected, and reads by the village's
    own staff are not inspections.
    """
    own_units = {g.unit for g in principal.grants}
    inspected = sorted(
        v for v in villages if v % 1000 and v not in own_units and principal.can_read_subtree(v)
    )
    if not inspected:
        return
    await db.execute(
        """insert into vg.inspections
               (village_code, account_id, inspector_name, subject, queried_unit, search)
           select v, $2, $3, $4, $5, $6 from unnest($1::bigint[]) v""",
        inspected,
        principal.account_id,
        principal.display_name,
        subject,
        queried_unit,
        search,
    )


async def inspections_page(
    db: ScopedSession, lo: int, hi: int, after: tuple[datetime, int] | None, limit: int
) -> list[Any]:
    after_time, after_id = after or (None, None)
    return await db.fetch(
        """select i.id, i.village_code, i.account_id, i.inspector_name, i.subject,
                  i.queried_unit, i.search, i.inspected_at
             from vg.inspections i
            where i.village_code between $1 and $2
              and ($3::timestamptz is null or (i.inspected_at, i.id) < ($3, $4))
            order by i.inspected_at desc, i.id desc
            limit $5""",
        lo,
        hi,
        after_time,
        after_id,
        limit,
    )


async def inspections_count(db: ScopedSession, lo: int, hi: int) -> int:
    return int(
        await db.fetchval(
            "select count(*) from vg.inspections where village_code between $1 and $2", lo, hi
        )
    )
