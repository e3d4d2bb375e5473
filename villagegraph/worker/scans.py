"""The worker's periodic scans, in the order they run on every pass.

A scan is `async def scan(conn, now) -> int` (how many things it raised). It runs as the
owner role in a transaction of its own, must be idempotent (running it twice raises
nothing twice: a unique key marks what it already did) and takes `now` from the worker,
so tests control the clock. Another domain adds its scan by appending one line here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg

from villagegraph.resolvers.consultations import close_due_consultations
from villagegraph.resolvers.tasks import (
    escalate_overdue_tasks,
    raise_disclosure_tasks,
    remind_due_tasks,
)

Scan = Callable[[asyncpg.Connection, datetime], Awaitable[int]]


async def close_ended_consultations(conn: asyncpg.Connection, now: datetime) -> int:
    """码上协商 whose voting window has ended: count, decide and publish the resolution."""
    return len(await close_due_consultations(conn, now))


async def fan_out_village_notifications(conn: asyncpg.Connection, now: datetime) -> int:
    """A notification for a whole village (no recipient account) becomes one per member.

    Members are the accounts of residents registered in the village or admitted there as
    residents; each copy's idempotency key extends the original's, so a second pass adds
    nothing, and the original is marked delivered by the fan-out.
    """
    rows = await conn.fetch(
        """with broadcasts as (
               select id, tenant_code, kind, payload, idempotency_key, channel
                 from vg.outbox
                where status = 'PENDING' and recipient_account is null
                  and next_attempt_at <= $1
                for update skip locked
           ),
           copies as (
               insert into vg.outbox
                   (tenant_code, kind, recipient_account, payload, idempotency_key, channel)
               select b.tenant_code, b.kind, a.id, b.payload,
                      b.idempotency_key || ':' || a.id, b.channel
                 from broadcasts b
                 join vg.residents r
                   on r.village_code = b.tenant_code
                   or (r.residence_code = b.tenant_code and r.residence_member)
                 join vg.accounts a
                   on a.resident_village = r.village_code and a.resident_id = r.id
               on conflict (idempotency_key) do nothing
               returning 1
           )
           update vg.outbox o
              set status = 'SENT', sent_at = $1, delivered_by = 'fan-out'
             from broadcasts b
            where o.id = b.id
        returning (select count(*) from copies) as copies""",
        now,
    )
    return int(rows[0]["copies"]) if rows else 0


SCANS: list[Scan] = [
    remind_due_tasks,
    escalate_overdue_tasks,
    raise_disclosure_tasks,
    close_ended_consultations,
    fan_out_village_notifications,
]
