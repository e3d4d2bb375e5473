"""Row-level security, checked at the database as the request role with hand-written SQL."""

from __future__ import annotations

import asyncpg
import pytest

from tests.demo import FAR_RESIDENT, NEIGHBOUR, NEIGHBOUR_VILLAGE, RESIDENT, VILLAGE

# Tables that are not tenant-owned: the public hierarchy.
PUBLIC_TABLES = {"org_units", "disclosure_settings", "sensitive_tags", "account_subjects"}


async def tenant_tables(conn) -> list[str]:
    rows = await conn.fetch(
        """select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'vg' and c.relkind in ('r', 'p') order by c.relname"""
    )
    return [r["relname"] for r in rows if r["relname"] not in PUBLIC_TABLES]


async def test_every_tenant_table_has_forced_rls_and_a_policy(owner_pool):
    async with owner_pool.acquire() as conn:
        tables = await tenant_tables(conn)
        assert len(tables) >= 6
        for table in tables:
            row = await conn.fetchrow(
                """select c.relrowsecurity, c.relforcerowsecurity,
                          (select count(*) from pg_policy p where p.polrelid = c.oid) as policies
                     from pg_class c join pg_namespace n on n.oid = c.relnamespace
                    where n.nspname = 'vg' and c.relname = $1""",
                table,
            )
            assert row["relrowsecurity"] and row["relforcerowsecurity"], table
            assert row["policies"] >= 1, f"{table} has no policy"


async def test_request_role_cannot_bypass_rls(as_request_role):
    row = await as_request_role.fetchrow(
        "select current_user, rolbypassrls, rolsuper from pg_roles where rolname = current_user"
    )
    assert row["current_user"] == "vg_request"
    assert not row["rolbypassrls"] and not row["rolsuper"]


async def test_without_context_every_tenant_table_is_empty(as_request_role, owner_pool):
    async with owner_pool.acquire() as conn:
        tables = await tenant_tables(conn)
        populated = [t for t in tables if await conn.fetchval(f"select count(*) from vg.{t}")]
    assert {"residents", "notices", "notice_reads", "accounts", "grants"} <= set(populated)
    for table in tables:
        readable = await as_request_role.fetchval(
            "select has_any_column_privilege($1::regclass, 'select')", f"vg.{table}"
        )
        if not readable:  # vg.sessions: only the definer functions read it
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with as_request_role.transaction():
                    await as_request_role.fetchval(f"select count(*) from vg.{table}")
            continue
        assert await as_request_role.fetchval(f"select count(*) from vg.{table}") == 0, table


async def test_context_does_not_outlive_its_transaction(request_pool, account_id, session_token):
    resident = await session_token(await account_id(RESIDENT))
    async with request_pool.acquire() as conn:
        async with conn.transaction():
            await conn.fetchval("select vg.begin_request($1)", resident)
            assert await conn.fetchval("select count(*) from vg.notices") > 0
        assert await conn.fetchval("select count(*) from vg.notices") == 0


async def test_resident_cannot_read_another_villages_members_notices_by_hand(
    as_request_role, account_id
):
    await as_request_role.begin_as(await account_id(RESIDENT))
    foreign = await as_request_role.fetchval(
        "select count(*) from vg.notices where publisher_code = $1", int(NEIGHBOUR_VILLAGE)
    )
    own_members = await as_request_role.fetchval(
        "select count(*) from vg.notices where publisher_code = $1 and audience = 'MEMBERS'",
        int(VILLAGE),
    )
    assert foreign == 0
    assert own_members > 0
    # Even naming the rows by primary key returns nothing.
    assert (
        await as_request_role.fetchval(
            "select count(*) from vg.residents where village_code = $1", int(NEIGHBOUR_VILLAGE)
        )
        == 0
    )


async def test_resident_sees_only_its_own_resident_row_and_receipts(as_request_role, account_id):
    facts = await as_request_role.begin_as(await account_id(RESIDENT))
    assert facts is not None
    assert await as_request_role.fetchval("select count(*) from vg.residents") == 1
    villages = await as_request_role.fetch("select distinct resident_village from vg.notice_reads")
    assert [r["resident_village"] for r in villages] in ([], [int(VILLAGE)])


async def test_resident_cannot_forge_a_receipt_for_someone_else(
    as_request_role, account_id, owner_pool
):
    other = await owner_pool.fetchrow(
        "select village_code, id from vg.residents where village_code = $1 and phone <> $2 limit 1",
        int(VILLAGE),
        RESIDENT,
    )
    notice = await owner_pool.fetchrow(
        "select publisher_code, id from vg.notices where publisher_code = $1 and audience = 'PUBLIC' limit 1",
        int(VILLAGE),
    )
    await as_request_role.begin_as(await account_id(RESIDENT))
    with pytest.raises(Exception, match="row-level security"):
        await as_request_role.execute(
            "insert into vg.notice_reads values ($1, $2, $3, $4)",
            other["village_code"],
            other["id"],
            notice["publisher_code"],
            notice["id"],
        )


async def test_resident_cannot_publish_even_by_hand(as_request_role, account_id):
    resident = await account_id(RESIDENT)
    await as_request_role.begin_as(resident)
    with pytest.raises(Exception, match="row-level security"):
        await as_request_role.execute(
            """insert into vg.notices (publisher_code, board, title, body, audience, published_by)
               values ($1, 'NOTICE', 't', 'b', 'PUBLIC', $2)""",
            int(VILLAGE),
            resident,
        )


async def test_request_role_cannot_rewrite_the_audit_log(as_request_role, account_id):
    await as_request_role.begin_as(await account_id(RESIDENT))
    for statement in (
        "update vg.audit_log set action = 'x'",
        "delete from vg.audit_log",
        "insert into vg.audit_log (action) values ('forged')",
    ):
        with pytest.raises(Exception, match="permission denied"):
            async with as_request_role.transaction():
                await as_request_role.execute(statement)


async def test_unknown_account_gets_no_context(as_request_role):
    assert await as_request_role.begin_as(987654321) is None
    assert await as_request_role.fetchval("select count(*) from vg.notices") == 0


async def test_far_resident_and_neighbour_see_disjoint_village_notices(
    request_pool, account_id, session_token
):
    seen = {}
    for phone in (RESIDENT, NEIGHBOUR, FAR_RESIDENT):
        async with request_pool.acquire() as conn, conn.transaction():
            token = await session_token(await account_id(phone))
            await conn.fetchval("select vg.begin_request($1)", token)
            rows = await conn.fetch(
                "select distinct publisher_code from vg.notices where publisher_code % 1000 <> 0"
            )
            seen[phone] = {r["publisher_code"] for r in rows}
    assert seen[RESIDENT] == {int(VILLAGE)}
    assert seen[NEIGHBOUR] == {int(NEIGHBOUR_VILLAGE)}
    assert seen[FAR_RESIDENT] == {330381001001}


async def test_released_connections_keep_the_request_role_and_no_context(
    request_pool, account_id, session_token
):
    """The pool skips asyncpg's reset query; nothing of one request may reach the next."""
    resident = await session_token(await account_id(RESIDENT))
    async with request_pool.acquire() as conn:
        pid = await conn.fetchval("select pg_backend_pid()")
        async with conn.transaction():
            await conn.fetchval("select vg.begin_request($1)", resident)
    for _ in range(request_pool.get_size() + 1):
        async with request_pool.acquire() as conn:
            if await conn.fetchval("select pg_backend_pid()") != pid:
                continue
            assert await conn.fetchval("select current_user") == "vg_request"
            assert await conn.fetchval("select vg.account_id()") is None
            assert await conn.fetchval("select count(*) from vg.notices") == 0
            return
    raise AssertionError("the pool never handed the same connection back")
