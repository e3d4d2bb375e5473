"""The database is the boundary: what the request LOGIN role can do in SQL by itself.

An attacker with one SQL injection runs arbitrary SQL as `vg_request`. Whatever it sets,
calls, replays or switches to, it must read nothing of any tenant without a context that
`vg.begin_request` established from a session the database verified (issue 12, findings
1-3: forged settings, a superuser behind the pool, definer functions anyone could call).
"""

from __future__ import annotations

import hashlib
import re

import asyncpg
import pytest

from tests.demo import CITY, CITY_OFFICIAL, RESIDENT, VILLAGE
from villagegraph import roles
from villagegraph.audit import verify_chain
from villagegraph.database import create_worker_pool

# What a city official's context held when it was plain settings (before 0013).
CITY_SETTINGS = {
    "vg.account_id": "1",
    "vg.resident_id": "1",
    "vg.household_village": VILLAGE,
    "vg.anonymous": "on",
    "vg.read_scope": "{[330300000000,330399999999]}",
    "vg.write_scope": "{[330300000000,330399999999]}",
    "vg.public_publishers": "{330300000000}",
    "vg.member_publishers": "{330300000000}",
    "vg.member_villages": "{" + VILLAGE + "}",
    "vg.tags": "{低保,残疾,党员}",
    "vg.all_tags": "on",
    "vg.session_id": "1",
}

# SECURITY DEFINER functions that need no context check of their own, each with why.
NO_CONTEXT_CHECK = {
    "principal_facts(bigint)": "owner only: no role is granted EXECUTE",
    "context_of(bigint,bigint)": "owner only: begin_request's helper, no role is granted EXECUTE",
    "context_key()": "owner only: vg.ctx()'s key reader, no role is granted EXECUTE",
    "rebuild_rollups()": "owner only: maintenance, no role is granted EXECUTE",
    "rebuild_reader_months()": "owner only: maintenance, no role is granted EXECUTE",
    "begin_request(text)": "establishes the context: verifies the session token itself",
    "outbox_depth()": "counts per delivery status for /metrics; no tenant, no content",
    "ctx()": "is the verifier: returns NULL unless the context's MAC and binding hold",
    "require_context()": "is the check (raises without a verified context)",
    "require_login_path()": "is the login path's check (the connection's own role)",
    "rate_take(text,double precision,double precision)": "the shared rate limiter: a bucket"
    " per caller key, taken before any context exists; reads no tenant row",
    "prune_rate_buckets()": "the worker's cleanup of idle rate buckets; no tenant row",
    "persist_document(text)": "stores a GraphQL document under the sha256 it computes; no"
    " tenant row",
    "persisted_document(text)": "a document by its sha256 (APQ); no tenant row",
}
# A body that calls one of these checks the caller's verified context (or the login path).
CONTEXT_CHECKS = re.compile(
    r"vg\.(ctx|require_context|require_login_path|read_scope|write_scope|account_id"
    r"|member_villages|resident_id)\s*\("
)


async def tenant_tables(conn) -> list[str]:
    rows = await conn.fetch(
        """select c.relname from pg_class c
            where c.relnamespace = 'vg'::regnamespace and c.relkind in ('r', 'p')
              and c.relname <> 'org_units'
              and has_any_column_privilege('vg_request', c.oid, 'select')
            order by 1"""
    )
    return [r["relname"] for r in rows]


async def visible_rows(conn) -> dict[str, int]:
    """Rows the connection reads from every tenant table it may select from (non-zero only)."""
    counts = {}
    for table in await tenant_tables(conn):
        n = await conn.fetchval(f"select count(*) from vg.{table}")
        if n:
            counts[table] = n
    return counts


async def attempt(conn, sql: str, *args) -> None:
    """Run `sql` in a savepoint; an error is a refusal, which is fine."""
    try:
        async with conn.transaction():
            await conn.execute(sql, *args) if not args else await conn.fetch(sql, *args)
    except asyncpg.PostgresError:
        pass


async def test_the_request_pool_logs_in_as_vg_request_which_cannot_become_anyone(as_request_role):
    row = await as_request_role.fetchrow(
        """select session_user::text as login, current_user::text as current, r.rolsuper,
                  r.rolbypassrls, r.rolcreaterole, r.rolinherit
             from pg_roles r where r.rolname = session_user"""
    )
    assert dict(row) == {
        "login": "vg_request",
        "current": "vg_request",
        "rolsuper": False,
        "rolbypassrls": False,
        "rolcreaterole": False,
        "rolinherit": False,
    }
    memberships = await as_request_role.fetchval(
        """select count(*) from pg_auth_members m join pg_roles r on r.oid = m.member
            where r.rolname in ('vg_request', 'vg_login', 'vg_worker')"""
    )
    assert memberships == 0
    await as_request_role.execute("reset role")
    assert await as_request_role.fetchval("select current_user::text") == "vg_request"
    for switch in (
        "set role vg_owner",
        "set role postgres",
        "set role vg_login",
        "set session authorization vg_owner",
        "set session authorization postgres",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with as_request_role.transaction():
                await as_request_role.execute(switch)


async def test_finding_2_no_superuser_powers_behind_the_request_pool(as_request_role):
    for sql in (
        "copy (select 1) to program 'true'",
        "select pg_read_file('postgresql.conf')",
        "create temporary table t (x int)",
        "create table public.t (x int)",
        "create function vg.f() returns int language sql as 'select 1'",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with as_request_role.transaction():
                await as_request_role.execute(sql)


async def test_finding_1_forged_settings_read_nothing(as_request_role, owner_pool):
    assert await visible_rows(owner_pool) != {}
    for name, value in CITY_SETTINGS.items():
        await as_request_role.execute("select set_config($1, $2, true)", name, value)
    assert await visible_rows(as_request_role) == {}
    for name, value in CITY_SETTINGS.items():
        await as_request_role.execute(f"set local {name} = '{value}'")
    assert await visible_rows(as_request_role) == {}
    # A context-shaped value in the one setting policies read, with no valid MAC.
    body = await as_request_role.fetchval(
        """select row(pg_backend_pid(), (extract(epoch from now()) * 1000000)::bigint, 1, 1, 1,
                      $1::bigint, false, $2::text::int8multirange, $2::text::int8multirange, '{}'::bigint[],
                      '{}'::bigint[], '{}'::bigint[], '{}'::text[], true)::vg.context::text""",
        int(VILLAGE),
        "{[330300000000,330399999999]}",
    )
    for mac in ("0" * 64, "sha256", "none"):
        forged = body + "." + mac if mac != "sha256" else body + "." + "f" * 64
        await as_request_role.execute("select set_config('vg.context', $1, true)", forged)
        assert await visible_rows(as_request_role) == {}


async def test_calling_every_function_the_request_role_may_execute_reads_nothing(
    as_request_role,
):
    functions = await as_request_role.fetch(
        """select p.oid::regprocedure::text as signature, p.proname, p.pronargs
             from pg_proc p
            where p.pronamespace = 'vg'::regnamespace and p.prokind = 'f'
              and has_function_privilege('vg_request', p.oid, 'execute')
            order by 1"""
    )
    names = {f["proname"] for f in functions}
    assert {"begin_request", "record_audit", "ctx"} <= names
    assert not names & {"login_lookup", "principal_facts", "open_session", "context_of"}
    for f in functions:
        nulls = ", ".join(["null"] * f["pronargs"])
        if f["proname"] == "begin_request":
            for token in ("garbage", "1." + "0" * 64, "999999999." + "a" * 64):
                await attempt(as_request_role, "select vg.begin_request($1)", token)
            continue
        await attempt(as_request_role, f"select vg.{f['proname']}({nulls})")
    assert await visible_rows(as_request_role) == {}


async def test_a_replayed_or_tampered_context_reads_nothing(
    request_pool, account_id, session_token
):
    official = await session_token(await account_id(CITY_OFFICIAL))
    async with request_pool.acquire() as conn:
        async with conn.transaction():
            assert await conn.fetchval("select vg.begin_request($1)", official) is not None
            blob = await conn.fetchval("select current_setting('vg.context')")
            assert (await visible_rows(conn)).get("residents", 0) > 100  # the control
        body, mac = blob.rsplit(".", 1)
        fields = body.strip("()").split(",")
        async with conn.transaction():
            await conn.execute("select set_config('vg.context', $1, true)", blob)
            assert await visible_rows(conn) == {}
            await conn.execute(f"set local vg.context = '{blob}'")
            assert await visible_rows(conn) == {}
            # Re-bound to this transaction, with the captured MAC.
            now = await conn.fetchval("select (extract(epoch from now()) * 1000000)::bigint::text")
            rebound = "(" + ",".join([fields[0], now, *fields[2:]]) + ")." + mac
            await conn.execute("select set_config('vg.context', $1, true)", rebound)
            assert await visible_rows(conn) == {}
        quoted = blob.replace("'", "''")
        await conn.execute(f"set vg.context = '{quoted}'")  # session-wide
        try:
            async with conn.transaction():
                assert await visible_rows(conn) == {}
                # A valid context of this transaction, then a widened copy of it.
                resident = await session_token(await account_id(RESIDENT))
                await conn.fetchval("select vg.begin_request($1)", resident)
                own = await conn.fetchval("select current_setting('vg.context')")
                widened = own.replace(",{},", ",{[330300000000,330399999999]},", 1)
                assert widened != own
                await conn.execute("select set_config('vg.context', $1, true)", widened)
                assert await visible_rows(conn) == {}
                await conn.execute("select set_config('vg.context', $1, true)", own + "0")
                assert await visible_rows(conn) == {}
        finally:
            await conn.execute("reset vg.context")


async def test_the_context_key_cannot_be_read(as_request_role, account_id, session_token):
    await as_request_role.fetchval(
        "select vg.begin_request($1)", await session_token(await account_id(RESIDENT))
    )
    for sql in (
        "select currval('pg_temp.vg_context_k1')",
        "select nextval('pg_temp.vg_context_k1')",
        "select setval('pg_temp.vg_context_k1', 1)",
        "select last_value from pg_temp.vg_context_k1",
        "select vg.context_key()",
        "drop sequence pg_temp.vg_context_k1",
    ):
        with pytest.raises(asyncpg.PostgresError):
            async with as_request_role.transaction():
                await as_request_role.fetchval(sql)
    assert await as_request_role.fetchval(
        "select pg_sequence_last_value('pg_temp.vg_context_k1') is null"
        " or not has_sequence_privilege('pg_temp.vg_context_k1', 'select')"
    )
    assert (
        await as_request_role.fetchval(
            "select last_value from pg_sequences where sequencename = 'vg_context_k1'"
        )
        is None
    )


async def test_finding_3_privileged_functions_refuse_the_request_role(as_request_role, account_id):
    me = await account_id(RESIDENT)
    for sql in (
        f"select * from vg.login_lookup('{RESIDENT}')",
        f"select vg.principal_facts({me})",
        f"select vg.open_session({me})",
        f"select * from vg.context_of({me}, null)",
        "select password_hash from vg.accounts",
        "select * from vg.sessions",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with as_request_role.transaction():
                await as_request_role.fetch(sql)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="no verified request context"):
        async with as_request_role.transaction():
            await as_request_role.execute("select set_config('vg.account_id', $1, true)", str(me))
            await as_request_role.fetchval(
                "select vg.record_audit('forged', null, 'account', '1', '{}')"
            )


async def test_record_audit_takes_its_actor_from_the_verified_context_only(
    as_request_role, account_id, owner_pool
):
    me = await account_id(RESIDENT)
    official = await account_id(CITY_OFFICIAL)
    await as_request_role.begin_as(me)
    await as_request_role.execute("select set_config('vg.account_id', $1, true)", str(official))
    audit_id = await as_request_role.fetchval(
        "select vg.record_audit('test.actor', $1, 'account', '1', '{}')", int(VILLAGE)
    )
    # Written in this (rolled-back) transaction: read it back here, as the actor.
    actor = await as_request_role.fetchval(
        "select account_id from vg.audit_log where id = $1", audit_id
    )
    assert actor == me
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="outside"):
        async with as_request_role.transaction():
            await as_request_role.fetchval(
                "select vg.record_audit('test.elsewhere', $1, 'account', '1', '{}')",
                int(CITY) + 81_001_001,
            )


async def test_every_security_definer_function_is_guarded(owner_pool):
    rows = await owner_pool.fetch(
        """select p.oid::regprocedure::text as signature, p.proconfig, p.prosrc,
                  p.prorettype = 'trigger'::regtype as is_trigger,
                  exists (select from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                           where a.grantee = 0 and a.privilege_type = 'EXECUTE') as public_execute,
                  array(select distinct r.rolname::text
                          from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                          join pg_roles r on r.oid = a.grantee
                         where a.privilege_type = 'EXECUTE' and a.grantee <> p.proowner
                         order by 1) as grantees
             from pg_proc p
            where p.pronamespace = 'vg'::regnamespace and p.prosecdef"""
    )
    assert len(rows) > 15
    problems = []
    for row in rows:
        name = row["signature"].removeprefix("vg.")
        if row["public_execute"]:
            problems.append(f"{name}: PUBLIC may execute it")
        path = [s for s in row["proconfig"] or [] if s.startswith("search_path=")]
        if not path or not path[0].startswith("search_path=pg_catalog"):
            problems.append(f"{name}: search_path {path} does not start with pg_catalog")
        elif not path[0].endswith("pg_temp"):
            problems.append(f"{name}: search_path {path} does not end with pg_temp")
        if row["is_trigger"]:  # runs for a statement RLS already admitted; never called
            if row["grantees"]:
                problems.append(f"{name}: a trigger function granted to {row['grantees']}")
            continue
        if name in NO_CONTEXT_CHECK:
            if "owner only" in NO_CONTEXT_CHECK[name] and row["grantees"]:
                problems.append(f"{name}: owner-only, but granted to {row['grantees']}")
            continue
        if not CONTEXT_CHECKS.search(row["prosrc"]):
            problems.append(f"{name}: its body checks no context")
    assert problems == []


async def test_no_function_in_vg_is_executable_by_public(owner_pool):
    public = await owner_pool.fetch(
        """select p.oid::regprocedure::text from pg_proc p
            where p.pronamespace = 'vg'::regnamespace
              and exists (select from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                           where a.grantee = 0 and a.privilege_type = 'EXECUTE')"""
    )
    assert public == []
    defaults = await owner_pool.fetchval(
        """select count(*) from pg_default_acl d
            where d.defaclrole = 'vg_owner'::regrole and d.defaclobjtype = 'f'"""
    )
    assert defaults >= 1


async def test_the_login_path_reads_hashes_and_opens_sessions_only(database, account_id):
    conn = await asyncpg.connect(database.url("login"))
    try:
        assert await conn.fetchval("select current_user::text") == "vg_login"
        row = await conn.fetchrow("select * from vg.login_lookup($1)", RESIDENT)
        assert row["password_hash"].startswith("$argon2")
        token = await conn.fetchval("select vg.open_session($1)", await account_id(RESIDENT))
        assert re.fullmatch(r"[0-9]+\.[0-9a-f]{64}", token)
        for sql in ("select count(*) from vg.residents", "select vg.begin_request(null)"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval(sql)
    finally:
        await conn.close()


async def test_a_revoked_or_expired_session_gives_no_context(
    as_request_role, owner_pool, login_pool, account_id
):
    me = await account_id(RESIDENT)
    token = await login_pool.fetchval("select vg.open_session($1)", me)
    assert await as_request_role.fetchval("select vg.begin_request($1)", token) is not None
    sid = int(token.split(".")[0])
    await owner_pool.execute("update vg.sessions set revoked_at = now() where id = $1", sid)
    assert await as_request_role.fetchval("select vg.begin_request($1)", token) is None
    assert await visible_rows(as_request_role) == {}
    other = await login_pool.fetchval("select vg.open_session($1, interval '1 second')", me)
    await owner_pool.execute(
        "update vg.sessions set expires_at = now() - interval '1 second' where id = $1",
        int(other.split(".")[0]),
    )
    assert await as_request_role.fetchval("select vg.begin_request($1)", other) is None


async def test_no_role_connects_without_its_password(database):
    for role in ("request", "login", "worker", "owner", "admin"):
        user = roles.ROLES.get(role, "postgres")
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(roles.with_user(database.admin_dsn, user, "wrong"))


async def test_the_worker_logs_in_as_its_own_role_and_verifies_the_audit_chain(database):
    pool = await create_worker_pool(database, max_size=1)
    try:
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                """select current_user::text as who, rolsuper, rolbypassrls
                     from pg_roles where rolname = current_user"""
            )
            assert dict(row) == {"who": "vg_worker", "rolsuper": False, "rolbypassrls": False}
            report = await verify_chain(conn)
            assert report.intact and report.rows > 0, report.describe()
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval("select password_hash from vg.accounts limit 1")
    finally:
        await pool.close()


async def test_the_shared_state_tables_are_reached_only_through_their_functions(
    as_request_role, owner_pool
):
    """Rate buckets and APQ documents (0022_shared_state): the request role reads and writes
    neither table; it may only take from a bucket and store a document under its own hash."""
    for table in ("rate_buckets", "persisted_documents"):
        for sql in (f"select * from vg.{table}", f"delete from vg.{table}"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with as_request_role.transaction():
                    await as_request_role.execute(sql)
    digest = await as_request_role.fetchval("select vg.persist_document('{ a }')")
    assert digest == hashlib.sha256(b"{ a }").hexdigest()
    assert await as_request_role.fetchval("select vg.persisted_document($1)", digest) == "{ a }"
    assert await as_request_role.fetchval("select vg.rate_take('t:1', 1, 1)") == 0
    assert await as_request_role.fetchval("select vg.rate_take('t:1', 1, 1)") > 0
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with as_request_role.transaction():
            await as_request_role.execute("select vg.prune_rate_buckets()")
    await owner_pool.execute("delete from vg.rate_buckets where key = 't:1'")
