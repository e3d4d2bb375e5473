"""Seed data: the demo of docs/API.md, and generated scales for benchmarks.

Each domain seeds its own part of the demo through a function appended to DEMO_SEEDERS;
they run in order, as the owner role, in one transaction.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

import asyncpg

from villagegraph.seed import affairs, delivery, demo, democracy, people, supervision

DemoSeeder = Callable[[asyncpg.Connection, random.Random], Awaitable[None]]

DEMO_SEEDERS: list[DemoSeeder] = [
    demo.seed_hierarchy,
    demo.seed_people,
    demo.seed_accounts,
    demo.seed_notices,
    people.seed_people,
    affairs.seed_affairs,
    supervision.seed_supervision,
    delivery.seed_delivery,
    democracy.seed_democracy,
]

DEMO_RANDOM_SEED = 20190101


async def is_seeded(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("select exists (select 1 from vg.org_units)"))


async def seed_demo(pool: asyncpg.Pool) -> bool:
    """Seed the demo data into an empty database; False when it already holds data."""
    async with pool.acquire() as conn, conn.transaction():
        if await is_seeded(conn):
            return False
        rng = random.Random(DEMO_RANDOM_SEED)
        for seeder in DEMO_SEEDERS:
            await seeder(conn, rng)
    return True
