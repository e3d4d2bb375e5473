"""Each process logs in as its own role, never through SET ROLE (issue 12, "Login roles").

`villagegraph db-url --role ...` of a home served by `villagegraph serve` gives one URL per
role: each logs in as exactly that role, only the admin is a superuser, only the login role
(and the owner) reads password hashes, and the embedded server refuses a connection that
brings no password. Migrations and seeding log in as vg_owner after the admin's bootstrap;
a database migrated the old way (as the admin) is handed over and still upgrades.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from alembic import command
from alembic.script import ScriptDirectory

from tests.demo import VILLAGE_CADRE
from tests.test_serve import Service
from villagegraph import migrations, roles
from villagegraph.database import Database, create_database

REPO = Path(__file__).resolve().parent.parent
EXPECTED_USER = {
    "admin": "postgres",
    "owner": "vg_owner",
    "request": "vg_request",
    "login": "vg_login",
    "worker": "vg_worker",
}


def db_url(home: Path, role: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VILLAGEGRAPH_")}
    env["VILLAGEGRAPH_HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, "-m", "villagegraph.cli", "db-url", "--role", role],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


def without_password(url: str) -> str:
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user.partition(':')[0]}@{host}"))


async def connect(url: str) -> asyncpg.Connection:
    # No ~/.pgpass or PGPASSWORD may stand in for the URL's own password.
    return await asyncpg.connect(url, passfile="/nonexistent")


async def read_hash(conn: asyncpg.Connection) -> str | None:
    try:
        return await conn.fetchval(
            "select password_hash from vg.accounts where password_hash is not null limit 1"
        )
    except asyncpg.InsufficientPrivilegeError:
        return None


async def lookup_hash(conn: asyncpg.Connection) -> str | None:
    try:
        row = await conn.fetchrow("select * from vg.login_lookup($1)", VILLAGE_CADRE)
    except asyncpg.InsufficientPrivilegeError:
        return None
    return None if row is None else row["password_hash"]


async def facts_of(url: str) -> dict[str, object]:
    conn = await connect(url)
    try:
        row = await conn.fetchrow(
            """select current_user::text as current_user, session_user::text as session_user,
                      r.rolsuper from pg_roles r where r.rolname = current_user"""
        )
        assert row is not None
        return {
            **dict(row),
            "reads_hash": await read_hash(conn),
            "looks_up": await lookup_hash(conn),
        }
    finally:
        await conn.close()


def test_each_db_url_logs_in_as_its_role_and_no_password_is_refused(tmp_path):
    home = tmp_path / "home"
    service = Service(home)  # `villagegraph serve`: embedded server, migrated, demo seeded
    try:
        urls = {role: db_url(home, role) for role in EXPECTED_USER}
        facts = {role: asyncio.run(facts_of(url)) for role, url in urls.items()}
        for role, user in EXPECTED_USER.items():
            assert facts[role]["current_user"] == facts[role]["session_user"] == user, role
            assert facts[role]["rolsuper"] is (role == "admin"), role
        # Password hashes: the login role through login_lookup only; never the request
        # or worker roles, by the column or the function.
        for role in ("request", "worker"):
            assert facts[role]["reads_hash"] is None, role
            assert facts[role]["looks_up"] is None, role
        assert facts["login"]["reads_hash"] is None
        assert str(facts["login"]["looks_up"]).startswith("$argon2")
        assert str(facts["owner"]["reads_hash"]).startswith("$argon2")
        # pg_hba: scram-sha-256 for every connection (the embedded server listens on its
        # socket only): no password, or a wrong one, is refused for every role.
        for role, url in urls.items():
            with pytest.raises(
                (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)
            ):
                asyncio.run(connect(without_password(url)))
            with pytest.raises(asyncpg.InvalidPasswordError):
                asyncio.run(connect(roles.with_user(url, EXPECTED_USER[role], "wrong")))
    finally:
        service.stop(signal.SIGINT)


def test_no_set_role_in_the_service_or_its_migrations():
    """Every process is its login role; no code or migration switches to another one."""
    switch = re.compile(
        r"\b(set\s+(local\s+|session\s+)?role\s+[a-z_\"]|reset\s+role\b|session\s+authorization)",
        re.IGNORECASE,
    )
    found = []
    for top in ("villagegraph", "resolvers", "schema", "tenants", "bench"):
        for path in sorted((REPO / top).rglob("*")):
            if path.suffix in (".py", ".sql") and path.is_file():
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                    if switch.search(line):
                        found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert found == []


async def test_the_migrated_database_is_vg_owners(database):
    conn = await connect(database.url("owner"))
    try:
        row = await conn.fetchrow(
            """select pg_get_userbyid(d.datdba)::text as database,
                      (select pg_get_userbyid(relowner)::text from pg_class
                        where oid = 'public.alembic_version'::regclass) as alembic_version
                 from pg_database d where d.datname = current_database()"""
        )
        strays = await conn.fetch(roles.NOT_OWNED)
    finally:
        await conn.close()
    assert dict(row) == {"database": "vg_owner", "alembic_version": "vg_owner"}
    assert strays == []


async def test_a_database_migrated_as_the_admin_is_handed_over_and_upgrades(database):
    """Before migrations logged in as vg_owner, the admin owned the database and
    alembic_version (0001_core made it a member of vg_owner). Migrating as vg_owner is
    refused with the way out until the bootstrap hands them over; then it upgrades."""
    script = ScriptDirectory.from_config(migrations.alembic_config(database))
    head = script.get_current_head()
    assert head is not None
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    name = f"vg_legacy_{uuid.uuid4().hex[:8]}"
    db = await create_database(database, name)
    admin = await asyncpg.connect(db.admin_dsn)
    try:
        await asyncio.to_thread(command.upgrade, migrations.alembic_config(db), previous)
        await admin.execute(
            f'alter database "{name}" owner to current_user;'
            " alter table public.alembic_version owner to current_user"
        )
        with pytest.raises(RuntimeError, match="migrate --create-roles"):
            await asyncio.to_thread(migrations.upgrade, db)
        await admin.execute("alter table vg.notices owner to current_user")
        with pytest.raises(RuntimeError, match="vg.notices"):
            await asyncio.to_thread(roles.bootstrap_database, db.admin_dsn)
        await admin.execute("alter table vg.notices owner to vg_owner")
        await asyncio.to_thread(roles.bootstrap_database, db.admin_dsn)
        await asyncio.to_thread(migrations.upgrade, db)
        assert await admin.fetchval("select version_num from public.alembic_version") == head
    finally:
        await admin.close()
        server = await asyncpg.connect(database.admin_dsn)
        try:
            await server.execute(f'drop database "{name}" with (force)')
        finally:
            await server.close()


def test_migrations_refuse_to_run_as_another_role(database: Database):
    """0001_core checks that it runs as vg_owner: objects never belong to the admin."""
    scratch = asyncio.run(create_database(database, f"vg_asadmin_{uuid.uuid4().hex[:8]}"))
    config = migrations.alembic_config(scratch)
    url = Database(scratch.admin_dsn).sqlalchemy_url("admin").replace("%", "%%")
    config.set_main_option("sqlalchemy.url", url)
    try:
        with pytest.raises(Exception, match="migrations run as vg_owner"):
            command.upgrade(config, "0001_core")
    finally:

        async def drop() -> None:
            admin = await asyncpg.connect(database.admin_dsn)
            try:
                name = urlsplit(scratch.admin_dsn).path.lstrip("/")
                await admin.execute(f'drop database "{name}" with (force)')
            finally:
                await admin.close()

        asyncio.run(drop())
