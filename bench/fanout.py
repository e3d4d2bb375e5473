"""The fan-out benchmark (issue 14): how fast an urgent notice to a whole scale's root unit
becomes one queued delivery per resident, and what it costs on disk, beside a floor.

`python -m bench.fanout --scale county [--workers 2] [--batch 5000]`

The scale seed gives accounts to two residents per village; this benchmark first gives
every resident an account (untimed), so the fan-out queues one delivery per resident. It
then publishes an urgent notice at the root (one broadcast), runs the worker's fan-out
(worker/fanout.py) with N concurrent workers until the broadcast is finished, and reports
recipients per second, the time to queue everyone and the outbox's growth (table and
indexes). The floor is the same recipients written by one INSERT … SELECT into a copy of
the outbox with the same indexes: what the database alone costs, with no batching,
progress or crash safety. Results: bench/results/fanout-<scale>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from villagegraph import migrations
from villagegraph.config import Settings
from villagegraph.database import create_owner_pool, resolve_database
from villagegraph.seed.scale import SCALES, seed_scale
from villagegraph.worker.fanout import fan_out

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

OUTBOX_BYTES = "select pg_total_relation_size('vg.outbox')"


async def give_everyone_an_account(conn: asyncpg.Connection) -> int:
    """One account per resident without one (phones 15xxxxxxxxx from the resident id)."""
    status = await conn.execute(
        """insert into vg.accounts (phone, password_hash, display_name, resident_village,
                                    resident_id)
           select '15' || lpad(r.id::text, 9, '0'), '!', r.name, r.village_code, r.id
             from vg.residents r
            where not exists (select from vg.accounts a
                               where a.resident_village = r.village_code and a.resident_id = r.id)
           on conflict (phone) do nothing"""
    )
    await conn.execute("analyze vg.accounts")
    return int(status.split()[-1])


async def announce_urgent(conn: asyncpg.Connection, root: int) -> tuple[int, int]:
    notice = await conn.fetchval(
        """insert into vg.notices (publisher_code, board, title, body, audience, urgent)
           values ($1, 'NOTICE', '台风红色预警', '请立即转移到避灾安置场所。', 'PUBLIC', true)
           returning id""",
        root,
    )
    broadcast = await conn.fetchval(
        """insert into vg.broadcasts (tenant_code, kind, notice_publisher, notice_id, audience,
                                      urgent, payload)
           values ($1, 'notice.urgent', $1, $2, 'PUBLIC', true,
                   jsonb_build_object('notice', $2::bigint, 'title', '台风红色预警'))
           returning id""",
        root,
        notice,
    )
    return int(notice), int(broadcast)


async def measure_fan_out(pool: asyncpg.Pool, workers: int, batch: int) -> dict[str, Any]:
    async def worker() -> int:
        queued = 0
        while True:
            report = await fan_out(pool, datetime.now(UTC), batch)
            queued += report.queued
            if not report.batches:
                return queued

    started = time.perf_counter()
    queued = sum(await asyncio.gather(*(worker() for _ in range(workers))))
    return {"seconds": time.perf_counter() - started, "queued": queued}


async def measure_floor(conn: asyncpg.Connection, broadcast: int) -> dict[str, Any]:
    """The same recipients in one INSERT … SELECT into a same-shaped, same-indexed table."""
    await conn.execute("drop table if exists vg.bench_outbox_floor")
    await conn.execute("create unlogged table vg.bench_outbox_floor (like vg.outbox including all)")
    await conn.execute("alter table vg.bench_outbox_floor set logged")
    started = time.perf_counter()
    status = await conn.execute(
        """insert into vg.bench_outbox_floor
               (tenant_code, kind, recipient_account, idempotency_key, broadcast_id)
           select r.village_code, 'notice.urgent', a.id, 'f' || $1::bigint || ':' || a.id, $1::bigint
             from vg.residents r
             join vg.accounts a on a.resident_village = r.village_code and a.resident_id = r.id""",
        broadcast,
    )
    seconds = time.perf_counter() - started
    size = await conn.fetchval("select pg_total_relation_size('vg.bench_outbox_floor')")
    await conn.execute("drop table vg.bench_outbox_floor")
    return {"seconds": seconds, "rows": int(status.split()[-1]), "bytes": int(size)}


async def run(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    settings = Settings.from_env({"VILLAGEGRAPH_HOME": str(home)})
    db = await resolve_database(settings)
    migrations.upgrade(db)
    await seed_scale(db.url("owner"), SCALES[args.scale])
    pool = await create_owner_pool(db, max_size=args.workers + 1)
    try:
        async with pool.acquire() as conn:
            residents = int(await conn.fetchval("select count(*) from vg.residents"))
            added = await give_everyone_an_account(conn)
            root = SCALES[args.scale].root
            before = int(await conn.fetchval(OUTBOX_BYTES))
            notice, broadcast = await announce_urgent(conn, root)
        fanned = await measure_fan_out(pool, args.workers, args.batch)
        print("fan-out:", fanned, flush=True)
        async with pool.acquire() as conn:
            after = int(await conn.fetchval(OUTBOX_BYTES))
            queued = int(
                await conn.fetchval(
                    "select count(*) from vg.outbox where broadcast_id = $1", broadcast
                )
            )
            finished = await conn.fetchval(
                "select finished_at is not null from vg.broadcasts where id = $1", broadcast
            )
            floor = await measure_floor(conn, broadcast)
    finally:
        await pool.close()
    return {
        "scale": args.scale,
        "residents": residents,
        "accounts_added": added,
        "workers": args.workers,
        "batch": args.batch,
        "notice": notice,
        "queued": queued,
        "finished": bool(finished),
        "fan_out_seconds": round(fanned["seconds"], 2),
        "recipients_per_second": round(queued / fanned["seconds"]),
        "outbox_bytes_added": after - before,
        "bytes_per_recipient": round((after - before) / max(queued, 1)),
        "floor_seconds": round(floor["seconds"], 2),
        "floor_rows_per_second": round(floor["rows"] / floor["seconds"]),
        "floor_bytes": floor["bytes"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="county", choices=sorted(SCALES))
    parser.add_argument("--home", help="VILLAGEGRAPH_HOME (default .villagegraph-bench/<scale>)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    home = Path(args.home or ROOT / ".villagegraph-bench" / args.scale).resolve()
    result = asyncio.run(run(args, home))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"fanout-{args.scale}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
