"""Delivering the outbox: claim, send, record, at least once and never twice at a time.

A worker claims a batch in a short transaction: `FOR UPDATE SKIP LOCKED` keeps concurrent
workers off the same rows, and the claim sets a lease (`locked_until`) and counts the
attempt, so the rows stay invisible to other workers while they are sent outside any
transaction (several at a time); a worker starts no send that could outlast its lease,
and hands such rows back. The result is recorded after each send: SENT (with the far
side's message id, which a receipt callback later names); or, when the channel refuses the
recipient for good (no openid, 43101 user refuses), PENDING again on the recipient's next
channel; or, on a retryable failure, PENDING again after an exponential backoff; or DEAD
after `outbox_max_attempts` attempts or a failure no retry can fix, with every channel's
reason in `last_error`. Throttling (a far side's rate limit, a daily quota, the
recipient's quiet hours) postpones a row without counting an attempt. A worker that dies
mid-batch leaves its lease to expire, and the rows are sent again (the idempotency key
lets the far side drop the duplicate).

Each recipient's channels come from its preferences (default: WeChat, then SMS), keeping
those this worker has configured; a row addressed to one channel uses only it; with no
WeChat or SMS configured (development), the `notify_channel` (log) takes everything.

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
from villagegraph.worker.messages import CHINA

log = logging.getLogger("villagegraph.worker.outbox")

BATCH_SIZE = 50
SEND_CONCURRENCY = 10  # sends in flight per worker: channels are slow, the database is not
MAX_BACKOFF = timedelta(hours=6)
DEFAULT_CHAIN = ("wechat", "sms")
PERSONAL_CHANNELS = frozenset(DEFAULT_CHAIN)
# Kinds that go to one channel only, whatever the recipient prefers.
FIXED_CHAINS = {"account.login_code": ("sms",)}
SECRET_PAYLOAD_KEYS = {"account.login_code": "code"}  # erased once sent or dead


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0
    deferred: int = 0
    fell_back: int = 0
    sent_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Recipient:
    """What the worker knows of a recipient account for one batch."""

    addresses: dict[str, str]
    channels: tuple[str, ...]
    quiet: tuple[Any, Any] | None  # (start, end) China Standard Time


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
        returning o.id, o.tenant_code, o.kind, o.recipient_account, o.address,
                  o.payload, o.idempotency_key, o.attempts, o.locked_until, o.channel,
                  o.channel_step, o.broadcast_id, o.last_error""",
        now,
        limit,
        settings.outbox_lease_seconds,
    )


async def recipients(conn: asyncpg.Connection, rows: list[Any]) -> dict[int, Recipient]:
    """Addresses (SMS falls back to the account's phone), preferred channels and quiet
    hours of the batch's recipient accounts, in one statement."""
    accounts = sorted({r["recipient_account"] for r in rows if r["recipient_account"]})
    found = await conn.fetch(
        """select a.id, a.phone, p.channels, p.quiet_start, p.quiet_end,
                  coalesce((select jsonb_object_agg(c.channel, c.address)
                              from vg.channel_addresses c where c.account_id = a.id), '{}')
                      as addresses
             from vg.accounts a
             left join vg.notification_preferences p on p.account_id = a.id
            where a.id = any($1::bigint[])""",
        accounts,
    )
    known = {}
    for r in found:
        addresses = {"sms": r["phone"], **json.loads(r["addresses"])}
        quiet = (r["quiet_start"], r["quiet_end"]) if r["quiet_start"] is not None else None
        known[r["id"]] = Recipient(addresses, tuple(r["channels"] or DEFAULT_CHAIN), quiet)
    return known


async def broadcasts_of(conn: asyncpg.Connection, rows: list[Any]) -> dict[int, Any]:
    """The broadcasts the batch's fanned-out rows belong to (payload, urgency)."""
    ids = sorted({r["broadcast_id"] for r in rows if r["broadcast_id"]})
    if not ids:
        return {}
    found = await conn.fetch(
        "select id, payload, urgent from vg.broadcasts where id = any($1::bigint[])", ids
    )
    return {r["id"]: r for r in found}


def chain_of(
    row: Any, recipient: Recipient | None, settings: Settings, channels: dict[str, Channel]
) -> tuple[str, ...]:
    """The channels to try for a row, in order (empty: none of the recipient's channels is
    configured here)."""
    if row["channel"]:
        return (row["channel"],)
    if settings.notify_channel != "chain":
        return (settings.notify_channel,)
    configured = PERSONAL_CHANNELS & channels.keys()
    if not configured:
        return ("log",)  # development: every message is printed
    wanted = FIXED_CHAINS.get(row["kind"]) or (recipient.channels if recipient else DEFAULT_CHAIN)
    return tuple(c for c in wanted if c in configured)


def quiet_until(recipient: Recipient | None, now: datetime) -> datetime | None:
    """The end of the recipient's quiet hours when `now` falls inside them, else None."""
    if recipient is None or recipient.quiet is None:
        return None
    start, end = recipient.quiet
    local = now.astimezone(CHINA)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start <= end else (clock >= start or clock < end)
    if not inside:
        return None
    until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if until <= local:
        until += timedelta(days=1)
    return until


def next_china_midnight(now: datetime) -> datetime:
    local = now.astimezone(CHINA)
    return local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


async def release(conn: asyncpg.Connection, rows: list[Any]) -> None:
    """Hand unsent rows back before their lease runs out; the attempt did not happen."""
    await conn.execute(
        """update vg.outbox set locked_until = null, attempts = attempts - 1
            where id = any($1::bigint[]) and locked_until = $2 and status = 'PENDING'""",
        [row["id"] for row in rows],
        rows[0]["locked_until"],
    )


async def postpone(conn: asyncpg.Connection, row: Any, until: datetime, reason: str) -> None:
    """Not now (quiet hours, a quota, a far side's rate limit): no attempt counted."""
    await conn.execute(
        """update vg.outbox set locked_until = null, attempts = attempts - 1,
                                next_attempt_at = $2, last_error = $3
            where id = $1""",
        row["id"],
        until,
        reason[:1000],
    )


async def reserve_quota(
    conn: asyncpg.Connection, settings: Settings, channel: str, now: datetime
) -> bool:
    """Take one of today's sends of a channel with a daily quota; False when none is left."""
    quota = settings.channel_daily_quotas.get(channel)
    if quota is None:
        return True
    taken = await conn.fetchval(
        """insert into vg.channel_usage as u (channel, day, sent) values ($1, $2, 1)
           on conflict (channel, day) do update set sent = u.sent + 1 where u.sent < $3
           returning sent""",
        channel,
        now.astimezone(CHINA).date(),
        int(quota),
    )
    return taken is not None


def backoff(settings: Settings, attempts: int) -> timedelta:
    delay = timedelta(seconds=settings.outbox_backoff_seconds * 2 ** max(attempts - 1, 0))
    return min(delay, MAX_BACKOFF)


def _reasons(row: Any, reason: str) -> str:
    """Every channel's reason, in the order they were tried."""
    earlier = row["last_error"] if row["channel_step"] else None
    return (f"{earlier}; {reason}" if earlier else reason)[:1000]


async def record_sent(
    conn: asyncpg.Connection, row: Any, channel: str, msgid: str | None, now: datetime, worker: str
) -> None:
    await conn.execute(
        """update vg.outbox set status = 'SENT', sent_at = $2, delivered_by = $3,
                                locked_until = null, last_error = null, channel = $4,
                                provider_msgid = $5, payload = payload - $6::text
            where id = $1""",
        row["id"],
        now,
        worker,
        channel,
        msgid,
        SECRET_PAYLOAD_KEYS.get(row["kind"], ""),
    )


async def record_failure(
    conn: asyncpg.Connection,
    row: Any,
    settings: Settings,
    now: datetime,
    failure: DeliveryFailed,
    chain: tuple[str, ...],
) -> str:
    """PENDING on the next channel, PENDING after a backoff, or DEAD; the outcome."""
    reason = _reasons(row, failure.reason)
    step = row["channel_step"]
    if failure.refused and step + 1 < len(chain):
        await conn.execute(
            """update vg.outbox set channel_step = $2, next_attempt_at = $3, attempts = 0,
                                    locked_until = null, last_error = $4
                where id = $1""",
            row["id"],
            step + 1,
            now,
            reason,
        )
        return "fell_back"
    dead = not failure.retryable or row["attempts"] >= settings.outbox_max_attempts
    await conn.execute(
        """update vg.outbox set status = $2, next_attempt_at = $3, locked_until = null,
                                last_error = $4,
                                payload = case when $2 = 'DEAD' then payload - $5::text
                                               else payload end
            where id = $1""",
        row["id"],
        "DEAD" if dead else "PENDING",
        now + backoff(settings, row["attempts"]),
        reason,
        SECRET_PAYLOAD_KEYS.get(row["kind"], ""),
    )
    log.warning(
        "outbox %s %s after attempt %s: %s",
        row["id"],
        "dead" if dead else "retrying",
        row["attempts"],
        reason,
    )
    return "dead" if dead else "retried"


async def send_one(
    row: Any, channel: Channel, address: str | None, payload: dict[str, Any], settings: Settings
) -> tuple[str | None, DeliveryFailed | None]:
    """Send one claimed row through a channel: (message id, None) or (None, the failure)."""
    message = Message(
        id=row["id"],
        kind=row["kind"],
        tenant=row["tenant_code"],
        recipient_account=row["recipient_account"],
        address=address,
        payload=payload,
        idempotency_key=row["idempotency_key"],
        app_base_url=settings.app_base_url,
    )
    try:
        return await channel.send(message), None
    except DeliveryFailed as error:
        return None, error
    except Exception as error:  # a far side answering nonsense: try again later
        log.exception("outbox %s: unexpected failure", row["id"])
        return None, DeliveryFailed(f"unexpected: {error!r}", retryable=True)


class RateLimits:
    """Sends per second per channel, for this worker (VILLAGEGRAPH_CHANNEL_RATES)."""

    def __init__(self, rates: dict[str, float]) -> None:
        self.intervals = {c: 1.0 / float(r) for c, r in rates.items() if float(r) > 0}
        self.next_free: dict[str, float] = {}
        self.lock = asyncio.Lock()

    async def wait(self, channel: str) -> None:
        interval = self.intervals.get(channel)
        if interval is None:
            return
        async with self.lock:
            now = time.monotonic()
            start = max(now, self.next_free.get(channel, now))
            self.next_free[channel] = start + interval
        await asyncio.sleep(start - now)


@dataclass
class Batch:
    """One claimed batch and what the worker looked up for it."""

    conn: asyncpg.Connection
    settings: Settings
    channels: dict[str, Channel]
    now: datetime
    worker_id: str
    known: dict[int, Recipient]
    broadcasts: dict[int, Any]
    limits: RateLimits
    recording: asyncio.Lock = field(default_factory=asyncio.Lock)  # one connection

    async def deliver(self, row: Any) -> str:
        """Send one row on its current channel and record what happened; the outcome."""
        recipient = self.known.get(row["recipient_account"])
        broadcast = self.broadcasts.get(row["broadcast_id"])
        urgent = bool(broadcast and broadcast["urgent"])
        payload = json.loads(broadcast["payload"] if broadcast else row["payload"])
        chain = chain_of(row, recipient, self.settings, self.channels)
        if not chain:
            refusal = DeliveryFailed(
                "no channel: none of the recipient's is configured", retryable=False
            )
            async with self.recording:
                return await record_failure(self.conn, row, self.settings, self.now, refusal, chain)
        name = chain[min(row["channel_step"], len(chain) - 1)]
        quiet = None if urgent else quiet_until(recipient, self.now)
        if quiet is not None:
            async with self.recording:
                await postpone(self.conn, row, quiet, "quiet hours")
            return "deferred"
        channel = self.channels.get(name)
        if channel is None:
            missing = DeliveryFailed(f"{name}: channel not configured", retryable=True)
            async with self.recording:
                return await record_failure(self.conn, row, self.settings, self.now, missing, chain)
        async with self.recording:
            if not await reserve_quota(self.conn, self.settings, name, self.now):
                await postpone(
                    self.conn, row, next_china_midnight(self.now), f"{name}: daily quota"
                )
                return "deferred"
        address = (recipient.addresses.get(name) if recipient else None) or (
            row["address"] if name in ("sms", "log") else None
        )
        await self.limits.wait(name)
        msgid, failure = await send_one(row, channel, address, payload, self.settings)
        async with self.recording:
            if failure is None:
                await record_sent(self.conn, row, name, msgid, self.now, self.worker_id)
                return "sent"
            if failure.throttled:
                until = self.now + backoff(self.settings, 1)
                await postpone(self.conn, row, until, failure.reason)
                return "deferred"
            return await record_failure(self.conn, row, self.settings, self.now, failure, chain)


async def deliver_batch(
    pool: asyncpg.Pool,
    settings: Settings,
    channels: dict[str, Channel],
    now: datetime,
    worker_id: str,
    report: DeliveryReport,
    limits: RateLimits | None = None,
) -> int:
    """Claim one batch, send it (SEND_CONCURRENCY at a time), record each outcome as it
    comes; the number of rows claimed."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            rows = await claim(conn, settings, now)
        claimed_at = time.monotonic()
        if not rows:
            return 0
        batch = Batch(
            conn,
            settings,
            channels,
            now,
            worker_id,
            await recipients(conn, rows),
            await broadcasts_of(conn, rows),
            limits or RateLimits(settings.channel_rates),
        )
        sending = asyncio.Semaphore(SEND_CONCURRENCY)
        unsent: list[Any] = []

        async def deliver(row: Any) -> None:
            async with sending:
                late = time.monotonic() - claimed_at + SEND_TIMEOUT_SECONDS
                if late > settings.outbox_lease_seconds:
                    unsent.append(row)
                    return
                outcome = await batch.deliver(row)
            if outcome == "sent":
                report.sent += 1
                report.sent_ids.append(row["id"])
            else:
                setattr(report, outcome, getattr(report, outcome) + 1)

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
    """Deliver every row due at `now`; a failed row waits for its backoff, and a row that
    falls back to its next channel is due at once, so this ends."""
    if settings.outbox_lease_seconds <= SEND_TIMEOUT_SECONDS:
        raise ValueError(
            f"the outbox lease must be longer than one send ({SEND_TIMEOUT_SECONDS} s)"
        )
    report = DeliveryReport()
    limits = RateLimits(settings.channel_rates)
    while await deliver_batch(pool, settings, channels, now, worker_id, report, limits):
        pass
    return report
