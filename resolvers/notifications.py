"""Enqueueing notifications into the outbox and announcing broadcasts, inside the
caller's transaction; push rules, residents' channel preferences and addresses.

Delivery (fan-out, channels, retries, dead letters) belongs to the worker; a resolver only
states what should reach whom, once: the idempotency key makes a repeated enqueue a no-op,
and a notice is announced at most once. Who can see a broadcast is decided by the worker's
fan-out exactly as the notices policy decides it, never here.
"""

from __future__ import annotations

import json
from datetime import time
from typing import Any, Protocol

from villagegraph.models import from_record, from_records
from villagegraph.models.delivery import NotificationPreferences, PushRule
from villagegraph.models.notices import Notice
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


class Statements(Protocol):
    """A request's ScopedSession or the worker's owner connection."""

    async def fetchval(self, sql: str, /, *args: Any) -> Any: ...


async def announce(
    db: Statements,
    *,
    kind: str,
    tenant: int,
    payload: dict[str, Any],
    audience: str = "PUBLIC",
    target_tags: list[str] | None = None,
    urgent: bool = False,
    notice: tuple[int, int] | None = None,
    created_by: int | None = None,
) -> int | None:
    """A message for everyone in `tenant`'s subtree who can see it (audience, target tags,
    as the notices policy says): ONE row; the worker fans it out (worker/fanout.py). A
    notice is announced once (None the second time)."""
    publisher, notice_id = notice or (None, None)
    return await db.fetchval(
        """insert into vg.broadcasts (tenant_code, kind, notice_publisher, notice_id, audience,
                                      target_tags, urgent, payload, created_by)
           values ($1, $2, $3, $4, $5, coalesce($6::text[], '{}'), $7, $8::jsonb, $9)
           on conflict (notice_id) where notice_id is not null do nothing
           returning id""",
        tenant,
        kind,
        publisher,
        notice_id,
        audience,
        target_tags,
        urgent,
        json.dumps(payload, ensure_ascii=False, default=str),
        created_by,
    )


async def announce_notice(db: Statements, notice: Notice, created_by: int | None) -> int | None:
    """Push a just-published notice to phones when the city's push rules say so (urgent
    and targeted notices always); the broadcast's id, or None when it stays in the app."""
    pushed = await db.fetchval(
        "select vg.notice_pushed($1, $2, $3, $4)",
        notice.publisher_code,
        notice.board,
        notice.urgent,
        bool(notice.target_tags),
    )
    if not pushed:
        return None
    return await announce(
        db,
        kind="notice.urgent" if notice.urgent else "notice.published",
        tenant=notice.publisher_code,
        payload={
            "notice": notice.id,
            "title": notice.title,
            "published_at": notice.published_at,
            "unit": str(notice.publisher_code),
        },
        audience=notice.audience,
        target_tags=list(notice.target_tags),
        urgent=notice.urgent,
        notice=(notice.publisher_code, notice.id),
        created_by=created_by,
    )


async def set_push_rule(
    db: ScopedSession, city: int, board: str, tier: str, push: bool, account: int
) -> None:
    await db.execute(
        """insert into vg.push_rules as r (city_code, board, tier, push, updated_by)
           values ($1, $2, $3, $4, $5)
           on conflict (city_code, board, tier)
           do update set push = excluded.push, updated_by = excluded.updated_by""",
        city,
        board,
        tier,
        push,
        account,
    )
    await db.audit("push_rule.set", city, "push_rule", f"{board}:{tier}", {"push": push})


async def push_rules(db: ScopedSession, city: int) -> list[PushRule]:
    """The city's rules (board, tier, push)."""
    rows = await db.fetch(
        "select board, tier, push from vg.push_rules where city_code = $1 order by board, tier",
        city,
    )
    return from_records(PushRule, rows)


async def preferences(db: ScopedSession) -> NotificationPreferences | None:
    """The caller's channels and quiet hours, or None when it set none."""
    row = await db.fetchrow(
        """select channels, quiet_start, quiet_end from vg.notification_preferences
            where account_id = vg.account_id()"""
    )
    return None if row is None else from_record(NotificationPreferences, row)


async def set_preferences(
    db: ScopedSession, account: int, channels: list[str], quiet: tuple[time, time] | None
) -> None:
    start, end = quiet or (None, None)
    await db.execute(
        """insert into vg.notification_preferences as p
               (account_id, channels, quiet_start, quiet_end)
           values ($1, $2, $3, $4)
           on conflict (account_id) do update
              set channels = excluded.channels, quiet_start = excluded.quiet_start,
                  quiet_end = excluded.quiet_end, updated_at = now()""",
        account,
        channels,
        start,
        end,
    )
    await db.audit(
        "notification_preferences.set",
        None,
        "account",
        account,
        {"channels": channels, "quiet": [str(start), str(end)] if quiet else None},
    )


async def bind_channel_address(db: ScopedSession, account: int, channel: str, address: str) -> None:
    await db.execute(
        """insert into vg.channel_addresses as c (account_id, channel, address)
           values ($1, $2, $3)
           on conflict (account_id, channel) do update set address = excluded.address""",
        account,
        channel,
        address,
    )
    await db.audit("channel.bind", None, "account", account, {"channel": channel})
