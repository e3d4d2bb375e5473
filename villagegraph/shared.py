"""State every serving process shares, kept in the database: rate-limit buckets and
automatic persisted queries (migration 0022_shared_state).

`villagegraph serve --workers N` runs N processes behind one socket; whichever answers, a
caller spends from the same bucket and finds the documents another process registered.
Both go through SECURITY DEFINER functions (`vg.rate_take`, `vg.persist_document`,
`vg.persisted_document`) on short autocommit calls of a small pool of their own (as
`vg_request`), never inside a request's transaction (a bucket's row lock would serialise a
caller's requests) nor from the request pool (a request holding its connection would wait
for a second one: with the pool full of such requests, forever).
This module stores and fetches; what a limit is and when to refuse is villagegraph/limits.py's
and villagegraph/server/admission.py's business.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import asyncpg

from villagegraph.limits import Rate

log = logging.getLogger("villagegraph.shared")

# The database is unreachable (a restart, a failover, a killed backend).
UNAVAILABLE = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


class SharedRateLimiter:
    """Token buckets per caller key, one atomic step per request in the database."""

    def __init__(self, pool: Callable[[], asyncpg.Pool]) -> None:
        self.pool = pool  # the shared-state pool, once the app has started

    async def take(self, key: str, limits: Rate) -> float:
        """Take one request from `key`'s bucket; 0 when allowed, else seconds to wait.

        With the database unreachable the request is let through (it cannot do anything
        without the database, and fails there with the API's clean error)."""
        try:
            async with self.pool().acquire() as conn:
                wait = await conn.fetchval(
                    "select vg.rate_take($1, $2, $3)",
                    key,
                    limits.rate_per_minute / 60.0,
                    float(limits.burst),
                )
        except UNAVAILABLE as error:
            log.warning("rate buckets unreachable: %s", error)
            return 0.0
        return float(wait)


class SharedDocuments:
    """APQ documents by sha256, registered by any process and found by every other."""

    def __init__(self, pool: Callable[[], asyncpg.Pool]) -> None:
        self.pool = pool  # the shared-state pool, once the app has started

    async def get(self, digest: str) -> str | None:
        """The document, or None when unknown (or unreachable: the client then resends it)."""
        try:
            async with self.pool().acquire() as conn:
                document = await conn.fetchval("select vg.persisted_document($1)", digest)
        except UNAVAILABLE as error:
            log.warning("persisted documents unreachable: %s", error)
            return None
        return None if document is None else str(document)

    async def put(self, document: str) -> str | None:
        """Store `document`; the sha256 the database computed for it, None if unreachable
        (this process still remembers it)."""
        try:
            async with self.pool().acquire() as conn:
                return str(await conn.fetchval("select vg.persist_document($1)", document))
        except UNAVAILABLE as error:
            log.warning("persisted documents unreachable: %s", error)
            return None
