"""The database's LOGIN roles, their passwords, and the embedded server's authentication.

Each process connects as the least role that does its job, never through `SET ROLE`:

- `vg_owner` owns the schema; migrations and seeding run as it (BYPASSRLS, never serves).
- `vg_request` serves GraphQL requests: no BYPASSRLS, member of no role.
- `vg_login` checks passwords and opens sessions (`vg.login_lookup`, `vg.open_session`).
- `vg_worker` runs the outbox and the periodic scans through policies of its own.

Passwords come from `VILLAGEGRAPH_<ROLE>_PASSWORD` or are generated once into
`VILLAGEGRAPH_HOME/secrets/<role>.pw` (mode 0600). This module creates roles and rewrites
pg_hba.conf; it never creates schema objects (that is the migrations' job).
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
