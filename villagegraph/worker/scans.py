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

from resolvers.tasks import escalate_overdue_tasks, raise_disclosure_tasks, remind_due_tasks

Scan = Callable[[asyncpg.Connection, datetime], Awaitable[int]]

SCANS: list[Scan] = [
    remind_due_tasks,
    escalate_overdue_tasks,
    raise_disclosure_tasks,
]
