"""Enqueueing notifications into the outbox, inside the caller's transaction.

Delivery (channels, retries, dead letters) belongs to the worker; a resolver only states
what should reach whom, once: the idempotency key makes a repeated enqueue a no-op.
"""

from __future__ import annotations

import json
from typing import Any

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
