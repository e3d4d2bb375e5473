"""The background worker (`villagegraph worker [--once]`): runs the periodic scans
(every domain's, as villagegraph/domains.DOMAINS names them in worker/scans.SCANS), fans
broadcasts out into one delivery per recipient (worker/fanout.py), then delivers the
outbox through the channel adapters.

It runs as the owner role on its own pool; several workers may run at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import httpx

from villagegraph.config import Settings
from villagegraph.worker.channels import HTTP_TIMEOUT_SECONDS, Channel, build_channels
from villagegraph.worker.fanout import FanOutReport, fan_out
from villagegraph.worker.outbox import DeliveryReport, deliver_outbox
from villagegraph.worker.scans import SCANS

log = logging.getLogger("villagegraph.worker")


@dataclass
class PassReport:
    scans: dict[str, int] = field(default_factory=dict)
    fan_out: FanOutReport = field(default_factory=FanOutReport)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def run_scans(pool: asyncpg.Pool, now: datetime) -> dict[str, int]:
    results = {}
    for scan in SCANS:
        async with pool.acquire() as conn, conn.transaction():
            results[scan.__name__] = await scan(conn, now)
    async with pool.acquire() as conn:  # idle rate buckets of the serving processes
        await conn.fetchval("select vg.prune_rate_buckets()")
    return results


async def run_pass(
    pool: asyncpg.Pool,
    settings: Settings,
    channels: dict[str, Channel],
    *,
    now: datetime | None = None,
    worker_id: str | None = None,
) -> PassReport:
    """One pass: every scan, the fan-out of every broadcast, then every outbox row due (the
    scans' notifications included: without a fixed `now`, each stage reads the clock)."""
    report = PassReport(scans=await run_scans(pool, now or datetime.now(UTC)))
    report.fan_out = await fan_out(pool, now or datetime.now(UTC), settings.fanout_batch_size)
    report.delivery = await deliver_outbox(
        pool, settings, channels, now or datetime.now(UTC), worker_id or worker_name()
    )
    return report


async def run_worker(pool: asyncpg.Pool, settings: Settings, *, once: bool) -> None:
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as http:
        channels = build_channels(settings, http)
        while True:
            try:
                report = await run_pass(pool, settings, channels)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                if once:
                    raise
                # The database or network went away: the next pass starts over; every
                # scan and delivery is idempotent, so nothing is lost or doubled.
                log.exception(
                    "worker pass failed; retrying in %ss", settings.worker_interval_seconds
                )
            else:
                log.info(
                    "worker pass: scans %s; fanned out %s; sent %s, retrying %s, dead %s",
                    report.scans,
                    report.fan_out.queued,
                    report.delivery.sent,
                    report.delivery.retried,
                    report.delivery.dead,
                )
            if once:
                return
            await asyncio.sleep(settings.worker_interval_seconds)
