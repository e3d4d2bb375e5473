"""What the request context costs per request (issue 12 asks for it "well under 0.1 ms").

    .venv/bin/python -m bench.context [--home DIR] [--n 2000]

Against the service's own database (the embedded one under --home, or
VILLAGEGRAPH_DATABASE_URL), migrated and seeded with the demo, as the request LOGIN role
`vg_request` exactly as tenants/session.py drives it:

- bare: `begin; select 1; commit` (the floor of any request transaction);
- context: `begin; select vg.begin_request($1); commit` for a resident and an official;
- per accessor: one `(select vg.read_scope())` InitPlan, timed server side;
- the resident feed statement with its context (6 accessor InitPlans in the notices policy).

Client timings are medians of `n` round trips, the best of 3 runs; on a loaded machine
compare numbers from one run only. Read-only: it opens two sessions through `vg_login`.
This module measures; it must not change data other than those sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from villagegraph import migrations
from villagegraph.config import Settings
from villagegraph.database import Database, resolve_database

RESIDENT_PHONE = "13800000010"
OFFICIAL_PHONE = "13800000000"

FEED = """
select n.id, n.title, n.board, n.published_at, o.code, o.name
  from unnest($1::bigint[]) as p (code)
  cross join lateral (
      select n.id, n.title, n.board, n.published_at, n.publisher_code from vg.notices n
       where n.publisher_code = p.code
       order by n.published_at desc, n.id desc limit 21) n
  join vg.org_units o on o.code = n.publisher_code
 order by n.published_at desc, n.id desc limit 21"""

ACCESSOR_LOOP = """
do $$
declare t timestamptz := clock_timestamp();
begin
    for i in 1..%d loop perform vg.read_scope(); end loop;
    perform set_config('bench.us', (extract(epoch from clock_timestamp() - t) * 1e6 / %d)::text, true);
end $$"""


async def median_us(n: int, call: Callable[[], Awaitable[Any]]) -> float:
    best = float("inf")
    for _ in range(3):
        times = []
        for _ in range(n):
            began = time.perf_counter()
            await call()
            times.append(time.perf_counter() - began)
        times.sort()
        best = min(best, times[len(times) // 2] * 1e6)
    return best


async def sessions(db: Database) -> tuple[str, str, list[int]]:
    """Session tokens of the demo resident and city official; the resident's publishers."""
    owner = await asyncpg.connect(db.url("owner"))
    login = await asyncpg.connect(db.url("login"))
    try:
        resident, village = await owner.fetchrow(
            """select a.id, r.village_code from vg.accounts a
                 join vg.residents r on r.id = a.resident_id where a.phone = $1""",
            RESIDENT_PHONE,
        )
        official = await owner.fetchval(
            "select id from vg.accounts where phone = $1", OFFICIAL_PHONE
        )
        publishers = await owner.fetchval("select vg.ancestors_or_self($1)", village)
        tokens = [
            await login.fetchval("select vg.open_session($1)", a) for a in (resident, official)
        ]
    finally:
        await owner.close()
        await login.close()
    return tokens[0], tokens[1], list(publishers)


async def measure(db: Database, n: int) -> dict[str, float]:
    resident, official, publishers = await sessions(db)
    conn = await asyncpg.connect(db.url("request"))
    try:

        async def bare() -> None:
            async with conn.transaction():
                await conn.fetchval("select 1")

        def context(token: str) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                async with conn.transaction():
                    await conn.fetchval("select vg.begin_request($1)", token)

            return run

        async def feed() -> None:
            async with conn.transaction():
                await conn.fetchval("select vg.begin_request($1)", resident)
                await conn.fetch(FEED, publishers)

        result = {
            "bare transaction (begin; select 1; commit)": await median_us(n, bare),
            "begin_request transaction, resident": await median_us(n, context(resident)),
            "begin_request transaction, city official": await median_us(n, context(official)),
            "feed transaction (begin_request + feed statement)": await median_us(n, feed),
        }
        async with conn.transaction():
            await conn.fetchval("select vg.begin_request($1)", resident)
            await conn.execute(ACCESSOR_LOOP % (20 * n, 20 * n))
            result["one accessor InitPlan, server side"] = float(
                await conn.fetchval("select current_setting('bench.us')")
            )
    finally:
        await conn.close()
    base = result["bare transaction (begin; select 1; commit)"]
    result["context cost per request (resident - bare)"] = (
        result["begin_request transaction, resident"] - base
    )
    return result


async def run(home: Path, n: int) -> None:
    settings = Settings.from_env({"VILLAGEGRAPH_HOME": str(home)})
    db = await resolve_database(settings)
    await asyncio.to_thread(migrations.upgrade, db)
    from villagegraph.database import create_owner_pool
    from villagegraph.seed import seed_demo

    pool = await create_owner_pool(db, max_size=1)
    try:
        await seed_demo(pool)
    finally:
        await pool.close()
    for name, us in (await measure(db, n)).items():
        print(f"{name:55s} {us:9.1f} µs")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.context", description=__doc__)
    parser.add_argument("--home", default=".villagegraph-bench/context")
    parser.add_argument("--n", type=int, default=2000, help="round trips per measurement")
    args = parser.parse_args(argv)
    asyncio.run(run(Path(args.home).resolve(), args.n))


if __name__ == "__main__":
    main()
