"""Generated data at benchmark scale: `villagegraph seed --scale town|county|wenzhou`.

The real city, counties and towns of data/wenzhou-divisions.csv, and generated villages
under the towns of the scale's root (communities 001-199 under a 街道, villages 200-399
under a 镇/乡; 3,634 in all for the whole city), ~2,640 residents per village with tags,
households and birth dates, notices at every tier over two years, read receipts, and
accounts with grants for the benchmark principals.

Everything is computed in SQL from generate_series and a multiplicative hash of the row
number, so the data are deterministic and no row crosses the wire. Loading runs with
triggers and foreign-key checks off (session_replication_role = replica, when the
connection may set it) and with the secondary indexes of BULK_TABLES dropped, which are
rebuilt afterwards; the rollups are recomputed once at the end.

The domains follow, proportional to the villages and residents: cadres (two terms),
party members (from the 党员 tag) and households; monthly finance entries in six
categories over two years with reversals, and budgets; consultations with rolls and
ballots, the closed ones' results fixed from their ballots by the migration's own
functions; suggestions in every state with replies; tasks from towns and counties (on
time, late, overdue, escalated, open) with reminders; a Chinese-text ledger; shelters
and listings per town. Triggers that would refuse back-dated rows (the ballot window)
are off for the load only; what the others would compute is written explicitly.

The world (world.py) comes first; then each domain's generators, from
villagegraph/seed/scale/<domain>.py as villagegraph/domains.DOMAINS names them (with its big
tables, `bulk_tables`). A generator gets the ScaleRun: the connection, the scale, the temporary
tables `scale_villages` (code, town, ordinal, residents, first_resident),
`scale_publishers` (code, level, notices, first_notice) and, after generate_staff,
`scale_staff` (code, account_id: each unit's generated official or cadre), and
`progress`. This module must not be imported by the service.
"""

from __future__ import annotations

import importlib
import sys
import time
from dataclasses import dataclass

import asyncpg

from villagegraph.domains import DOMAINS, parts
from villagegraph.seed.scale.core import (
    SCALE_END,
    SCALES,
    Progress,
    Scale,
    ScaleGenerator,
    ScaleRun,
)
from villagegraph.seed.scale.world import WORLD, plan_villages

__all__ = ["SCALE_END", "SCALES", "Scale", "ScaleSummary", "plan_villages", "seed_scale"]

# Tables loaded in bulk: their secondary indexes are dropped for the load and rebuilt after it.
BULK_TABLES: list[str] = [table for domain in DOMAINS for table in domain.bulk_tables]

# Each domain's tables whose id sequences continue after the generated ids.
DOMAIN_SEQUENCES: dict[str, str] = {
    table: f"{table}_id_seq"
    for domain in DOMAINS
    if domain.scale
    for table in importlib.import_module(f"{__name__}.{domain.name}").SEQUENCES
}


async def finish_domains(run: ScaleRun) -> None:
    for table, sequence in DOMAIN_SEQUENCES.items():
        await run.conn.execute(
            f"select setval('vg.{sequence}', coalesce((select max(id) from vg.{table}), 1))"
        )
    run.progress.advance("domain sequences")


# The world, every domain's generators in DOMAINS order, then the sequences.
SCALE_GENERATORS: list[ScaleGenerator] = [
    *WORLD,
    *parts(__name__, "scale"),
    finish_domains,
]


@dataclass
class ScaleSummary:
    scale: str
    seconds: float
    database_bytes: int
    rows: dict[str, int]
    bytes_by_table: dict[str, int]
    timings: dict[str, float]

    def text(self) -> str:
        lines = [
            f"scale {self.scale}: {self.seconds:.1f} s, {self.database_bytes / 2**20:,.0f} MiB"
        ]
        for table, rows in self.rows.items():
            size = self.bytes_by_table.get(table, 0) / 2**20
            lines.append(f"  {table:<28} {rows:>12,} rows {size:>10,.1f} MiB")
        for step, seconds in self.timings.items():
            lines.append(f"  step {step:<23} {seconds:>8.1f} s")
        return "\n".join(lines)


async def _drop_secondary_indexes(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        """select i.indexname, i.indexdef from pg_indexes i
            where i.schemaname = 'vg' and i.tablename = any($1::text[])
              and not exists (select 1 from pg_constraint c
                               where c.conname = i.indexname and c.connamespace = 'vg'::regnamespace)""",
        BULK_TABLES,
    )
    for row in rows:
        await conn.execute(f'drop index vg."{row["indexname"]}"')
    return [row["indexdef"] for row in rows]


async def _replica_mode(conn: asyncpg.Connection) -> bool:
    """Skip triggers and foreign-key checks for the load, when this connection may."""
    try:
        await conn.execute("set session_replication_role = replica")
    except asyncpg.InsufficientPrivilegeError:
        return False
    return True


async def seed_scale(
    dsn: str, scale: Scale, progress_out: object = sys.stderr
) -> ScaleSummary | None:
    """Generate `scale` into the empty database at `dsn`; None when it already holds data."""
    started = time.monotonic()
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("select exists (select 1 from vg.org_units)"):
            return None
        replica = await _replica_mode(conn)
        await conn.execute(
            "set search_path = vg, public; set maintenance_work_mem = '512MB';"
            " set synchronous_commit = off"
        )
        steps = len(SCALE_GENERATORS) + 3
        run = ScaleRun(conn, scale, Progress(steps, out=progress_out))
        async with conn.transaction():
            await _generate(run)
        if replica:
            await conn.execute("set session_replication_role = origin")
        began = time.monotonic()
        await conn.execute("vacuum (analyze)")
        run.timings["vacuum"] = time.monotonic() - began
        run.progress.advance("vacuum analyze")
        run.progress.finish()
        return await _summary(conn, scale, time.monotonic() - started, run.timings)
    finally:
        await conn.close()


async def _generate(run: ScaleRun) -> None:
    """Every generator with the bulk tables' secondary indexes dropped, then the indexes
    and the rollups."""
    conn = run.conn
    index_definitions = await _drop_secondary_indexes(conn)
    for generator in SCALE_GENERATORS:
        began = time.monotonic()
        await generator(run)
        run.timings[generator.__name__.removeprefix("generate_")] = time.monotonic() - began
    began = time.monotonic()
    for definition in index_definitions:
        await conn.execute(definition)
    run.progress.advance("indexes")
    run.timings["indexes"] = time.monotonic() - began
    began = time.monotonic()
    await conn.execute("select vg.rebuild_rollups()")
    await conn.execute("select vg.rebuild_reader_months()")
    run.progress.advance("rollups")
    run.timings["rollups"] = time.monotonic() - began


async def _summary(
    conn: asyncpg.Connection, scale: Scale, seconds: float, timings: dict[str, float]
) -> ScaleSummary:
    tables = await conn.fetch(
        """select relname from pg_class where relnamespace = 'vg'::regnamespace
             and relkind = 'r' order by reltuples desc"""
    )
    rows = {
        t["relname"]: int(await conn.fetchval(f'select count(*) from vg."{t["relname"]}"'))
        for t in tables
    }
    sizes = {
        row["relname"]: int(row["size"])
        for row in await conn.fetch(
            """select c.relname, pg_total_relation_size(c.oid) as size from pg_class c
                where c.relnamespace = 'vg'::regnamespace and c.relkind = 'r'"""
        )
    }
    database_bytes = int(await conn.fetchval("select pg_database_size(current_database())"))
    return ScaleSummary(scale.name, seconds, database_bytes, rows, sizes, timings)
