"""The database's LOGIN roles, their passwords, and the embedded server's authentication.

Each process connects as the least role that does its job, never through `SET ROLE`:

- `vg_owner` owns the database and the schema; migrations and seeding log in as it
  (BYPASSRLS, never serves).
- `vg_request` serves GraphQL requests: no BYPASSRLS, member of no role.
- `vg_login` checks passwords and opens sessions (`vg.login_lookup`, `vg.open_session`).
- `vg_worker` runs the outbox and the periodic scans through policies of its own.

Passwords come from `VILLAGEGRAPH_<ROLE>_PASSWORD` or are generated once into
`VILLAGEGRAPH_HOME/secrets/<role>.pw` (mode 0600). This module is the admin's whole part,
done once (`villagegraph migrate --create-roles`; on every start for the embedded server):
it creates the roles, hands the database to vg_owner with the extensions the migrations use
(`bootstrap_database`) and rewrites the embedded pg_hba.conf. It never creates schema
objects: the migrations do, as vg_owner.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROLES = {"owner": "vg_owner", "request": "vg_request", "login": "vg_login", "worker": "vg_worker"}
ADMIN = "admin"

# pg_hba.conf of the embedded server: every connection proves a password (scram-sha-256).
EMBEDDED_HBA = (
    "# villagegraph: no connection is trusted; every role proves its password.",
    "local all all scram-sha-256",
    "host all all 127.0.0.1/32 scram-sha-256",
    "host all all ::1/128 scram-sha-256",
)


def passwords(home: Path, configured: Mapping[str, str] | None = None) -> dict[str, str]:
    """The password of every role (admin included): configured, or generated into home."""
    configured = configured or {}
    result = {}
    for role in (ADMIN, *ROLES):
        if configured.get(role):
            result[role] = configured[role]
            continue
        path = home / "secrets" / f"{role}.pw"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.parent.chmod(0o700)
            path.write_text(secrets.token_hex(24))
            path.chmod(0o600)
        result[role] = path.read_text().strip()
    return result


def with_user(dsn: str, user: str, password: str) -> str:
    """`dsn` with its user and password replaced (host, port, database and query kept)."""
    parts = urlsplit(dsn)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def _psycopg2_dsn(dsn: str) -> str:
    return dsn.replace("postgresql+psycopg2://", "postgresql://", 1)


CREATE_ROLE = """
do $$
begin
    if not exists (select from pg_roles where rolname = %(name)s) then
        execute format('create role %%I', %(name)s);
    end if;
end
$$;
"""


def create_roles(admin_dsn: str, role_passwords: Mapping[str, str]) -> None:
    """Create (or update) the four LOGIN roles with their passwords, as an admin.

    Idempotent. vg_owner gets BYPASSRLS when the admin may grant it (a superuser);
    the other three never do, and none is a superuser or a member of another role.
    """
    import psycopg2

    conn = psycopg2.connect(_psycopg2_dsn(admin_dsn))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("set password_encryption = 'scram-sha-256'")
            cur.execute("select rolsuper from pg_roles where rolname = current_user")
            row = cur.fetchone()
            superuser = bool(row and row[0])
            for role, name in ROLES.items():
                cur.execute(CREATE_ROLE, {"name": name})
                rls = "bypassrls" if role == "owner" and superuser else "nobypassrls"
                cur.execute(
                    f"alter role {name} login noinherit nosuperuser nocreatedb nocreaterole"
                    f" noreplication {rls} password %(pw)s",
                    {"pw": role_passwords[role]},
                )
    finally:
        conn.close()


def secure_embedded(server_dsn: str, pgdata: Path, admin_password: str) -> str:
    """Give the embedded server's superuser a password and stop trusting local connections.

    Done once per data directory (a marker file records it); returns the admin DSN with
    its password. The server writes its own pg_hba.conf (COPY as the superuser), so file
    ownership stays the server's.
    """
    admin_dsn = with_user(server_dsn, "postgres", admin_password)
    marker = pgdata / "villagegraph-hba-scram"
    if marker.exists():
        return admin_dsn
    import psycopg2

    conn = psycopg2.connect(_psycopg2_dsn(server_dsn))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("set password_encryption = 'scram-sha-256'")
            cur.execute("alter role postgres password %(pw)s", {"pw": admin_password})
            cur.execute("show hba_file")
            row = cur.fetchone()
            assert row is not None
            lines = ", ".join("'" + line.replace("'", "''") + "'" for line in EMBEDDED_HBA)
            cur.execute(f"copy (select unnest(array[{lines}])) to %(path)s", {"path": row[0]})
            cur.execute("select pg_reload_conf()")
    finally:
        conn.close()
    marker.write_text("pg_hba.conf requires scram-sha-256 for every connection\n")
    return admin_dsn


# The admin's part of a database, idempotent: what the migrations, run as vg_owner, cannot
# do themselves. The extensions are created here (cube and pg_trgm are trusted, but an
# older server or a provider may not let the owner create them), the database is handed to
# vg_owner (it sets the database's search_path, revokes TEMP from PUBLIC, owns `public`),
# and a database migrated before migrations ran as vg_owner has its alembic_version table
# handed over too. vg_owner may switch triggers off for bulk seeding (it owns the tables
# and could disable them anyway).
BOOTSTRAP = """
create extension if not exists pg_trgm schema public;
create extension if not exists cube schema public;
do $$
begin
    execute format('alter database %I owner to vg_owner', current_database());
    if to_regclass('public.alembic_version') is not null then
        alter table public.alembic_version owner to vg_owner;
    end if;
end
$$;
"""

GRANT_REPLICA_MODE = "grant set on parameter session_replication_role to vg_owner"

# Objects of the schema that vg_owner does not own: a database migrated outside
# villagegraph, or by a migration that ran as another role. Migrations as vg_owner would fail
# on them halfway, so the bootstrap refuses first.
NOT_OWNED = """
select format('%s %s (owner %s)', kind, name, owner) from (
    select 'schema' kind, n.nspname::text name, n.nspowner owner_oid
      from pg_namespace n where n.nspname = 'vg'
    union all
    select 'relation', 'vg.' || c.relname, c.relowner
      from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'vg'
    union all
    select 'function', format('vg.%s(%s)', p.proname, pg_get_function_identity_arguments(p.oid)),
           p.proowner
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'vg'
    union all
    select 'type', 'vg.' || t.typname, t.typowner
      from pg_type t join pg_namespace n on n.oid = t.typnamespace where n.nspname = 'vg'
) o cross join lateral (select pg_get_userbyid(o.owner_oid) owner) u
 where o.owner_oid <> 'vg_owner'::regrole
 order by 1
"""


def bootstrap_database(admin_dsn: str) -> None:
    """Hand the database of `admin_dsn` to vg_owner, as its admin (after `create_roles`).

    Idempotent, and safe on a database migrated before migrations ran as vg_owner; raises
    when an object of schema vg belongs to another role.
    """
    import psycopg2

    conn = psycopg2.connect(_psycopg2_dsn(admin_dsn))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(BOOTSTRAP)
            cur.execute(
                "select rolsuper and current_setting('server_version_num')::int >= 150000"
                " from pg_roles where rolname = current_user"
            )
            row = cur.fetchone()
            if row and row[0]:  # GRANT SET ON PARAMETER: PostgreSQL 15 on, by a superuser
                cur.execute(GRANT_REPLICA_MODE)
            cur.execute(NOT_OWNED)
            strays = [r[0] for r in cur.fetchall()]
    finally:
        conn.close()
    if strays:
        raise RuntimeError(
            "objects in schema vg not owned by vg_owner (alter their owner to vg_owner): "
            + ", ".join(strays[:20])
        )


def check_migrator(owner_dsn: str) -> None:
    """Refuse to migrate unless `owner_dsn` logs in as vg_owner and vg_owner owns the
    database: the admin's bootstrap must have run (README, "Database roles")."""
    import psycopg2

    hint = (
        "run `villagegraph migrate --create-roles` once with an admin VILLAGEGRAPH_DATABASE_URL,"
        " or create the roles and hand the database to vg_owner by hand (README,"
        ' "Database roles")'
    )
    try:
        conn = psycopg2.connect(_psycopg2_dsn(owner_dsn))
    except psycopg2.OperationalError as error:
        raise RuntimeError(f"cannot log in as vg_owner ({error}): {hint}".strip()) from error
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select current_user::text, pg_get_userbyid(datdba)::text"
                " from pg_database where datname = current_database()"
            )
            row = cur.fetchone()
    finally:
        conn.close()
    if row is None or row != ("vg_owner", "vg_owner"):
        raise RuntimeError(f"the database is not vg_owner's (owner: {row and row[1]}): {hint}")
