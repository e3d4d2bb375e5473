"""New-notice events from PostgreSQL LISTEN/NOTIFY, fanned out to the process's subscribers.

One connection per process LISTENs on channel `vg_notice` (the trigger of migration
0010_api NOTIFYs at commit, with only the notice's id and publisher). Each subscriber gets
its own bounded queue; a slow subscriber loses its oldest events rather than holding up
the others. This module carries events only: deciding whether a subscriber may see a
notice is done by the subscription resolver, under the subscriber's own RLS context.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg

log = logging.getLogger("villagegraph.subscriptions")

CHANNEL = "vg_notice"
QUEUE_SIZE = 256
RECONNECT_ATTEMPTS = 12


@dataclass(frozen=True)
class NoticeEvent:
    id: int
    publisher: int


class NoticeHub:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.queues: set[asyncio.Queue[NoticeEvent]] = set()
        self.conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._reconnecting: asyncio.Task[None] | None = None
        self.closing = False

    def _deliver(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
            event = NoticeEvent(id=int(data["id"]), publisher=int(data["publisher"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed %s payload", CHANNEL)
            return
        for queue in self.queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    async def _ensure_listening(self) -> None:
        async with self._lock:
            if self.conn is None or self.conn.is_closed():
                self.conn = await asyncpg.connect(self.dsn)
                await self.conn.add_listener(CHANNEL, self._deliver)
                self.conn.add_termination_listener(self._lost)

    def _lost(self, conn: Any) -> None:
        """The listening connection died (a restart, a failover): listen again while anyone
        subscribes. Notices committed in between are not replayed; clients refetch the feed
        on reconnect anyway."""
        if self.closing or not self.queues:
            return
        log.warning("lost the %s listener; reconnecting", CHANNEL)
        self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        for attempt in range(RECONNECT_ATTEMPTS):
            try:
                await self._ensure_listening()
                return
            except (OSError, asyncpg.PostgresError):
                await asyncio.sleep(min(30.0, 0.1 * 2**attempt))
        log.error("could not listen on %s again; subscribers hear nothing", CHANNEL)

    async def events(self) -> AsyncIterator[NoticeEvent]:
        """Every new notice from now on, until the caller stops iterating."""
        queue: asyncio.Queue[NoticeEvent] = asyncio.Queue(QUEUE_SIZE)
        self.queues.add(queue)
        try:
            await self._ensure_listening()
            while True:
                yield await queue.get()
        finally:
            self.queues.discard(queue)

    async def close(self) -> None:
        self.closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self.conn is not None and not self.conn.is_closed():
            await self.conn.close()
        self.conn = None
