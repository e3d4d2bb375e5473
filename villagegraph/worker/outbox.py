"""Delivering the outbox: claim, send, record, at least once and never twice at a time.

A worker claims a batch in a short transaction: `FOR UPDATE SKIP LOCKED` keeps concurrent
workers off the same rows, and the claim sets a lease (`locked_until`) and counts the
attempt, so the rows stay invisible to other workers while they are sent outside any
transaction (several at a time); a worker starts no send that could outlast its lease,
and hands such rows back. The result is recorded after each send: SENT; or, on a retryable failure, PENDING
again after an exponential backoff; or DEAD after `outbox_max_attempts` attempts or a
failure no retry can fix. A worker that dies mid-batch leaves its lease to expire, and
the rows are sent again (the idempotency key lets the far side drop the duplicate).

Runs as the owner role (it bypasses RLS by design: it serves every tenant).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from villagegraph.config import Settings
from villagegraph.worker.channels import SEND_TIMEOUT_SECONDS, Channel, DeliveryFailed, Message

log = logging.getLogger("villagegraph.worker.outbox")

BATCH_SIZE = 50
SEND_CONCURRENCY = 10  # sends in flight per worker: channels are slow, the database is not
MAX_BACKOFF = timedelta(hours=6)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0
    sent_ids: list[int] = field(default_factory=list)


async def claim(
    conn: asyncpg.Connection, settings: Settings, now: datetime, limit: int = BATCH_SIZE
) -> list[Any]:
    """Lease up to `limit` due rows to this worker; other workers skip them."""
    return await conn.fetch(
        """with claimable as (
               select id from vg.outbox
                where status = 'PENDING' and next_attempt_at <= $1
                  and (locked_until is null or locked_until <= $1)
                order by next_attempt_at  -- the core's partial index outbox_due
                limit $2
                for update skip locked
           )
           update vg.outbox o
              set locked_until = $1 + make_interval(secs => $3), attempts = o.attempts + 1
             from claimable c
            where o.id = c.id
        returning o.id, o.tenant_code, o.kind, o.recipient_account, o.payload,
                  o.idempotency_key, o.attempts, o.locked_until,
                  coalesce(o.channel, $4) as channel""",
        now,
        limit,
        settings.outbox_lease_seconds,
        settings.notify_channel,
    )


async def addresses(conn: asyncpg.Connection, rows: list[Any]) -> dict[tuple[int, str], str]:
    """(account, channel) → address; SMS falls back to the account's phone."""
    accounts = sorted({r["recipient_account"] for r in rows if r["recipient_account"]})
    found = await conn.fetch(
        """select a.id as account_id, c.channel, c.address
             from vg.accounts a join vg.channel_addresses c on c.account_id = a.id
            where a.id = any($1::bigint[])
           union all
           select a.id, 'sms', a.phone from vg.accounts a
            where a.id = any($1::bigint[])
              and not exists (select 1 from vg.channel_addresses c
                               where c.account_id = a.id and c.channel = 'sms')""",
        accounts,
    )
    return {(r["account_id"], r["channel"]): r["address"] for r in found}


async def release(conn: asyncpg.Connection, rows: list[Any]) -> None:
    """Hand unsent rows back before their lease runs out; the attempt did not happen."""
    await conn.execute(
        """update vg.outbox set locked_until = null, attempts = attempts - 1
            where id = any($1::bigint[]) and locked_until = $2 and status = 'PENDING'""",
        [row["id"] for row in rows],
        rows[0]["locked_until"],
    )


def backoff(settings: Settings, attempts: int) -> timedelta:
    delay = timedelta(seconds=settings.outbox_backoff_seconds * 2 ** max(attempts - 1, 0))
    return min(delay, MAX_BACKOFF)


async def _record(
    conn: asyncpg.Connection,
    row: Any,
    settings: Settings,
    now: datetime,
    worker_id: str,
    failure: DeliveryFailed | None,
) -> str:
    if failure is None:
        await conn.execute(
            """update vg.outbox set status = 'SENT', sent_at = $2, delivered_by = $3,
                                    locked_until = null, last_error = null
                where id = $1""",
            row["id"],
            now,
            worker_id,
        )
        return "sent"
    dead = not failure.retryable or row["attempts"] >= settings.outbox_max_attempts
    await conn.execute(
        """update vg.outbox set status = $2, next_attempt_at = $3, locked_until = null,
                                last_error = $4
            where id = $1""",
        row["id"],
        "DEAD" if dead else "PENDING",
        now + backoff(settings, row["attempts"]),
        failure.reason[:1000],
    )
    log.warning(
        "outbox %s %s after attempt %s: %s",
        row["id"],
        "dead" if dead else "retrying",
        row["attempts"],
        failure.reason,
    )
    return "dead" if dead else "retried"


async def send_one(
    row: Any, channels: dict[str, Channel], known: dict[tuple[int, str], str]
) -> DeliveryFailed | None:
    """Send one claimed row through its channel; the failure, or None when delivered."""
    channel = channels.get(row["channel"])
    if channel is None:
        return DeliveryFailed(f"channel {row['channel']!r} is not configured", retryable=True)
    message = Message(
        id=row["id"],
        kind=row["kind"],
        tenant=row["tenant_code"],
        recipient_account=row["recipient_account"],
        address=known.get((row["recipient_account"], row["channel"])),
        payload=json.loads(row["payload"]),
        idempotency_key=row["idempotency_key"],
    )
    try:
        await channel.send(message)
    except DeliveryFailed as error:
        return error
    except Exception as error:  # a far side answering nonsense: try again later
        log.exception("outbox %s: unexpected failure", row["id"])
        return DeliveryFailed(f"unexpected: {error!r}", retryable=True)
    return None


async def deliver_batch(
    pool: asyncpg.Pool,
    settings: Settings,
    channels: dict[str, Channel],
    now: datetime,
    worker_id: str,
    report: DeliveryReport,
) -> int:
    """Claim one batch, send it (SEND_CONCURRENCY at a time), record each outcome as it
    comes; the number of rows claimed."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            rows = await claim(conn, settings, now)
        claimed_at = time.monotonic()
        if not rows:
            return 0
        known = await addresses(conn, rows)
        sending = asyncio.Semaphore(SEND_CONCURRENCY)
        recording = asyncio.Lock()  # one connection: one statement at a time
        unsent: list[Any] = []

        async def deliver(row: Any) -> None:
            async with sending:
                if (
                    time.monotonic() - claimed_at + SEND_TIMEOUT_SECONDS
                    > settings.outbox_lease_seconds
                ):
                    unsent.append(row)
                    return
                failure = await send_one(row, channels, known)
                async with recording:
                    outcome = await _record(conn, row, settings, now, worker_id, failure)
            if outcome == "sent":
                report.sent += 1
                report.sent_ids.append(row["id"])
            elif outcome == "dead":
                report.dead += 1
            else:
                report.retried += 1

        await asyncio.gather(*(deliver(row) for row in rows))
        if unsent:
            await release(conn, unsent)
            report.released += len(unsent)
    return len(rows)


async def deliver_outbox(
    pool: asyncpg.Pool,
    settings: Settings,
    channels: dict[str, Channel],
    now: datetime,
    worker_id: str,
) -> DeliveryReport:
    """Deliver every row due at `now`; a failed row waits for its backoff, so this ends."""
    if settings.outbox_lease_seconds <= SEND_TIMEOUT_SECONDS:
        raise ValueError(
            f"the outbox lease must be longer than one send ({SEND_TIMEOUT_SECONDS} s)"
        )
    report = DeliveryReport()
    while await deliver_batch(pool, settings, channels, now, worker_id, report):
        pass
    return report
