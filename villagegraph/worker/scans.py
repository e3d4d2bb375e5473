"""The worker's periodic scans, in the order they run on every pass.

A scan is `async def scan(conn, now) -> int` (how many things it raised). It runs as the
owner role in a transaction of its own, must be idempotent (running it twice raises
nothing twice: a unique key marks what it already did) and takes `now` from the worker,
so tests control the clock. A domain's scans live in its resolvers module and are named in
villagegraph/domains.DOMAINS; this module only lists them and must not define one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg

from villagegraph.domains import parts

Scan = Callable[[asyncpg.Connection, datetime], Awaitable[int]]


# Every domain's scans (functions of resolvers/<domain>.py), in the order of
# villagegraph/domains.DOMAINS. The fan-out of broadcasts is not a scan: it runs after them
# in batches of its own transactions (worker/fanout.py).
SCANS: tuple[Scan, ...] = tuple(parts("villagegraph.resolvers", "scans"))
