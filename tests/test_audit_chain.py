"""The audit log is append-only for the request role, and its hash chain exposes any row
changed, removed or inserted by someone with direct database access."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from tests.demo import RESIDENT
from villagegraph import migrations
from villagegraph.audit import verify_chain
from villagegraph.database import Database, create_database


@pytest.fixture
async def superuser(database) -> AsyncIterator[asyncpg.Connection]:
    """The database's admin connection, in a transaction that is always rolled back:
    what someone with direct access could do, undone after each test."""
    conn = await asyncpg.connect(database.admin_dsn)
    transaction = conn.transaction()
    await transaction.start()
    try:
        yield conn
    finally:
        await transaction.rollback()
        await conn.close()


async def publish(gql: Any, village: dict[str, Any], title: str) -> str:
    data = await gql.data(
        """mutation($u: ID!, $t: String!) { publishNotice(input: {unit: $u, board: NOTICE,
             title: $t, body: "b", audience: PUBLIC}) { id } }""",
        {"u": village["code"], "t": title},
        as_=village["cadre"],
    )
    return str(data["publishNotice"]["id"])


async def chain_of(conn: asyncpg.Connection, tenant: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "select * from vg.audit_log where chain_key = $1 order by chain_seq", int(tenant)
    )


async def test_request_role_cannot_update_or_delete_the_audit_log(as_request_role, account_id):
    await as_request_role.begin_as(await account_id(RESIDENT))
    for statement in (
        "update vg.audit_log set action = 'x'",
        "delete from vg.audit_log",
        "truncate vg.audit_log",
        "update vg.audit_heads set seq = 0",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with as_request_role.transaction():
                await as_request_role.execute(statement)


async def test_even_the_owner_cannot_rewrite_the_audit_log_without_disabling_triggers(
    owner_pool,
):
    async with owner_pool.acquire() as conn:
        for statement in ("update vg.audit_log set action = 'x'", "delete from vg.audit_log"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                async with conn.transaction():
                    await conn.execute("insert into vg.audit_log (action) values ('probe')")
                    await conn.execute(statement)


async def test_each_mutation_extends_its_tenants_chain(gql, make_village, owner_pool):
    village = await make_village(residents=1)
    for i in range(3):
        await publish(gql, village, f"链{i}")
    async with owner_pool.acquire() as conn:
        links = await chain_of(conn, village["code"])
        assert [r["chain_seq"] for r in links] == [1, 2, 3]
        assert links[0]["prev_hash"] == ""
        assert [r["prev_hash"] for r in links[1:]] == [r["hash"] for r in links[:-1]]
        head = await conn.fetchrow(
            "select * from vg.audit_heads where chain_key = $1", int(village["code"])
        )
        assert (head["seq"], head["hash"]) == (3, links[-1]["hash"])
        assert (await verify_chain(conn)).intact


async def tamper(conn: asyncpg.Connection, sql: str, *args: Any) -> None:
    """Change the log the way an operator with superuser rights could: triggers off."""
    await conn.execute("set local session_replication_role = replica")
    await conn.execute(sql, *args)
    await conn.execute("set local session_replication_role = origin")


async def test_a_changed_row_is_the_first_broken_link(gql, make_village, superuser):
    village = await make_village(residents=1)
    for i in range(3):
        await publish(gql, village, f"改{i}")
    links = await chain_of(superuser, village["code"])
    await tamper(
        superuser,
        'update vg.audit_log set detail = detail || \'{"title": "forged"}\' where id = $1',
        links[1]["id"],
    )
    report = await verify_chain(superuser)
    assert not report.intact
    assert report.broken_id == links[1]["id"]
    assert "content changed" in (report.problem or "")


async def test_a_deleted_row_breaks_the_link_after_it(gql, make_village, superuser):
    village = await make_village(residents=1)
    for i in range(3):
        await publish(gql, village, f"删{i}")
    links = await chain_of(superuser, village["code"])
    await tamper(superuser, "delete from vg.audit_log where id = $1", links[1]["id"])
    report = await verify_chain(superuser)
    assert report.broken_id == links[2]["id"]
    assert "missing" in (report.problem or "")


async def test_deleting_the_newest_rows_is_caught_by_the_head(gql, make_village, superuser):
    village = await make_village(residents=1)
    for i in range(2):
        await publish(gql, village, f"尾{i}")
    links = await chain_of(superuser, village["code"])
    await tamper(superuser, "delete from vg.audit_log where id = $1", links[-1]["id"])
    report = await verify_chain(superuser)
    assert not report.intact and report.broken_id is None
    assert f"chain {village['code']} ends at link 1" in (report.problem or "")


async def test_a_forged_row_with_a_made_up_hash_is_caught(gql, make_village, superuser):
    village = await make_village(residents=1)
    await publish(gql, village, "伪")
    links = await chain_of(superuser, village["code"])
    await tamper(
        superuser,
        """insert into vg.audit_log (action, tenant_code, chain_key, chain_seq, prev_hash, hash)
           values ('notice.publish', $1, $1, 2, $2, repeat('0', 64))""",
        int(village["code"]),
        links[-1]["hash"],
    )
    await tamper(
        superuser,
        "update vg.audit_heads set seq = 2, hash = repeat('0', 64) where chain_key = $1",
        int(village["code"]),
    )
    report = await verify_chain(superuser)
    assert "content changed" in (report.problem or "")


async def audit_verify(database: Database) -> subprocess.CompletedProcess[str]:
    """`villagegraph audit verify` against `database`, with its roles' passwords (it logs in
    as vg_worker)."""
    passwords = {f"VILLAGEGRAPH_{r.upper()}_PASSWORD": p for r, p in database.passwords.items()}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "villagegraph.cli", "audit", "verify"],
        env={**os.environ, **passwords, "VILLAGEGRAPH_DATABASE_URL": database.admin_dsn},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_audit_verify_command_reports_the_chain(database, owner_pool):
    result = await audit_verify(database)
    assert result.returncode == 0, result.stderr
    assert "audit chain intact" in result.stdout


@contextlib.asynccontextmanager
async def empty_database(database: Database) -> AsyncIterator[Database]:
    """A database of the test's own on the session's server, dropped afterwards."""
    name = f"vg_scratch_{uuid.uuid4().hex[:8]}"
    scratch = await create_database(database, name)
    admin = await asyncpg.connect(database.admin_dsn)
    try:
        yield scratch
    finally:
        await admin.execute(f'drop database "{name}" with (force)')
        await admin.close()


@pytest.fixture
async def scratch_database(database) -> AsyncIterator[Database]:
    """A migrated database of this test's own: its chain may be broken for good."""
    async with empty_database(database) as scratch:
        await asyncio.to_thread(migrations.upgrade, scratch)
        yield scratch


async def test_audit_verify_command_names_the_first_broken_link_and_fails(scratch_database):
    conn = await asyncpg.connect(scratch_database.admin_dsn)
    try:
        ids = [
            await conn.fetchval(
                "insert into vg.audit_log (action, tenant_code) values ($1, 330302006001)"
                " returning id",
                f"step {i}",
            )
            for i in range(3)
        ]
        async with conn.transaction():
            await tamper(conn, "update vg.audit_log set action = 'rewritten' where id = $1", ids[1])
    finally:
        await conn.close()
    result = await audit_verify(scratch_database)
    assert result.returncode == 1
    assert f"BROKEN at audit row {ids[1]}" in result.stdout


async def test_rows_written_before_the_chain_existed_are_chained_by_the_migration(database):
    """Deployments already hold audit rows when 0006 lands; the migration seals them."""
    from alembic import command

    async with empty_database(database) as scratch:
        config = migrations.alembic_config(scratch)
        await asyncio.to_thread(command.upgrade, config, "0001_core")
        conn = await asyncpg.connect(scratch.admin_dsn)
        try:
            await conn.executemany(
                "insert into vg.audit_log (account_id, action, tenant_code) values ($1, $2, $3)",
                [(None, "old", 330302006001), (7, "login", None), (None, "old", 330302006001)],
            )
            await asyncio.to_thread(migrations.upgrade, scratch)
            rows = await conn.fetch("select chain_key, chain_seq from vg.audit_log order by id")
            assert [tuple(r) for r in rows] == [(330302006001, 1), (-7, 1), (330302006001, 2)]
            await conn.execute(
                "insert into vg.audit_log (action, tenant_code) values ('new', 330302006001)"
            )
            report = await verify_chain(conn)
            assert report.intact and (report.rows, report.chains) == (4, 2)
        finally:
            await conn.close()
