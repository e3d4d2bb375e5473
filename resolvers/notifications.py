"""Enqueueing notifications into the outbox, inside the caller's transaction, and the
worker's fan-out of village-wide ones to each member.

Delivery (channels, retries, dead letters) belongs to the worker; a resolver only states
what should reach whom, once: the idempotency key makes a repeated enqueue a no-op.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from villagegraph.tenants.session import ScopedSession


async def enqueue_notification(
    db: ScopedSession,
    *,
    kind: str,
    tenant: int,
    recipient_account: int | None,
    payload: dict[str, Any],
    idempotency_key: str,
) -> bool:
    """True when the notification was new; False when the same key was enqueued before."""
    inserted = await db.fetchval(
        """insert into vg.outbox (tenant_code, kind, recipient_account, payload, idempotency_key)
           values ($1, $2, $3, $4::jsonb, $5)
           on conflict (idempotency_key) do nothing
           returning id""",
        tenant,
        kind,
        recipient_account,
        json.dumps(payload, ensure_ascii=False, default=str),
        idempotency_key,
    )
    return inserted is not None


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
