"""docs/CONVENTIONS.md, enforced against the migrated database (read through the catalogs
as the owner) and the migration files.

Where today's migrations break a convention, the exception is listed here with its reason
(the gaps the database-boundary issue fixes). Each list only shrinks: a new violation fails,
and so does an entry that no longer violates (remove it when fixing the gap).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import asyncpg
from alembic.script import ScriptDirectory

from villagegraph import migrations
from villagegraph.migrations.helpers import SQL_DIR

ROOT = Path(__file__).resolve().parent.parent

# Tables without row-level security, each with why.
NO_RLS = {
    "org_units": "the public division hierarchy: every caller, anonymous included, reads it",
}

# Tables on which the request role holds a table-wide INSERT (every column, including
# timestamps and states the database should set), instead of naming columns.
TABLE_WIDE_INSERT = {
    "cadres": "0004_people grants insert on every column",
    "inspections": "0003_supervision grants insert on every column (inspected_at included)",
    "ledger_entries": "0003_supervision grants insert on every column (recorded_at included)",
    "listings": "0004_people grants insert on every column (reviewed_* checked by policy only)",
    "notice_reads": "0001_core grants insert on every column (read_at included)",
    "notices": "0001_core grants insert on every column (published_at included)",
    "outbox": "0001_core grants insert on every column (status, attempts, sent_at included)",
    "shelters": "0004_people grants insert on every column",
    "tasks": "0003_supervision grants insert on every column (completed_at, escalated_to included)",
}

# SECURITY DEFINER functions whose search_path does not start with pg_catalog (none since
# 0013_database_boundary: a function created in vg or public would shadow a built-in one),
# with their current setting.
SEARCH_PATH_NOT_CATALOG_FIRST: dict[str, str] = {}

# Triggers and policies whose name does not start with their table's name.
MISNAMED = {
    ("audit_log", "audit_append_only"): "named after the audit domain, not the table",
    ("audit_log", "audit_chain_link"): "named after the audit domain, not the table",
    ("audit_log", "audit_no_truncate"): "named after the audit domain, not the table",
    ("audit_log", "audit_read"): "named after the audit domain, not the table",
}

# SELECT policies not named <table>_read, each with why.
SELECT_POLICY_NOT_READ = {
    ("ballots", "ballots_own"): "secret ballot: the voter reads only its own row",
}

VG_TABLES = """
    select c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity,
           (select count(*) from pg_policy p where p.polrelid = c.oid) as policies
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'vg' and c.relkind in ('r', 'p')
     order by c.relname
"""


async def test_every_table_has_forced_rls_and_a_policy(owner_pool):
    rows = await owner_pool.fetch(VG_TABLES)
    assert len(rows) > 20
    without = {
        r["relname"]
        for r in rows
        if not (r["relrowsecurity"] and r["relforcerowsecurity"] and r["policies"] > 0)
    }
    assert without == set(NO_RLS)


async def test_request_role_inserts_and_updates_name_their_columns(owner_pool):
    rows = await owner_pool.fetch(
        """select table_name, privilege_type from information_schema.table_privileges
            where grantee = 'vg_request' and table_schema = 'vg'
              and privilege_type in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')"""
    )
    table_wide = {(r["table_name"], r["privilege_type"]) for r in rows}
    assert table_wide == {(table, "INSERT") for table in TABLE_WIDE_INSERT}
    # Every other write privilege of the request role is column by column.
    columns = await owner_pool.fetch(
        """select distinct table_name, privilege_type from information_schema.column_privileges
            where grantee = 'vg_request' and table_schema = 'vg'
              and privilege_type in ('INSERT', 'UPDATE')"""
    )
    assert {(r["table_name"], r["privilege_type"]) for r in columns} >= {
        ("finance_entries", "INSERT"),
        ("consultations", "UPDATE"),
        ("residents", "UPDATE"),
    }


async def test_security_definer_functions_set_search_path_catalog_first(owner_pool):
    rows = await owner_pool.fetch(
        """select p.oid::regprocedure::text as signature, p.proconfig
             from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'vg' and p.prosecdef"""
    )
    assert rows
    paths = {}
    for row in rows:
        name = row["signature"].removeprefix("vg.")
        settings = [s for s in row["proconfig"] or [] if s.startswith("search_path=")]
        assert settings, f"SECURITY DEFINER vg.{name} sets no search_path"
        paths[name] = settings[0].removeprefix("search_path=")
    not_catalog_first = {
        name: path for name, path in paths.items() if not path.startswith("pg_catalog")
    }
    assert not_catalog_first == SEARCH_PATH_NOT_CATALOG_FIRST


async def test_triggers_and_policies_are_named_after_their_table(owner_pool):
    triggers = await owner_pool.fetch(
        """select c.relname, t.tgname as name from pg_trigger t
             join pg_class c on c.oid = t.tgrelid
             join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'vg' and not t.tgisinternal"""
    )
    policies = await owner_pool.fetch(
        """select c.relname, p.polname as name, p.polcmd from pg_policy p
             join pg_class c on c.oid = p.polrelid
             join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'vg'"""
    )
    assert triggers and policies
    misnamed = {
        (r["relname"], r["name"])
        for r in [*triggers, *policies]
        if not r["name"].startswith(r["relname"] + "_")
    }
    assert misnamed == set(MISNAMED)
    snake = re.compile(r"^[a-z][a-z0-9_]*$")
    assert all(snake.match(r["name"]) for r in [*triggers, *policies])
    select_not_read = {
        (r["relname"], r["name"])
        for r in policies
        if r["polcmd"] == b"r" and not r["name"].endswith("_read")
    }
    assert select_not_read == set(SELECT_POLICY_NOT_READ)


def test_alembic_history_has_one_head(database):
    script = ScriptDirectory.from_config(migrations.alembic_config(database))
    assert len(script.get_heads()) == 1, script.get_heads()


async def test_migrated_database_records_the_one_head(database):
    script = ScriptDirectory.from_config(migrations.alembic_config(database))
    conn = await asyncpg.connect(database.url("owner"))  # alembic_version is vg_owner's
    try:
        rows = await conn.fetch("select version_num from public.alembic_version")
    finally:
        await conn.close()
    assert [r["version_num"] for r in rows] == list(script.get_heads())


def test_each_revision_is_a_thin_file_naming_its_sql_pair(database):
    script = ScriptDirectory.from_config(migrations.alembic_config(database))
    expected = set()
    for revision in script.walk_revisions():
        source = Path(revision.path).read_text(encoding="utf-8")
        assert "op.execute" not in source and "from alembic import op" not in source, (
            f"{revision.path}: SQL belongs in migrations/sql/"
        )
        if revision.is_merge_point and "run_sql_file" not in source:
            continue  # a merge revision runs no SQL
        for kind in ("up", "down"):
            name = f"{revision.revision}.{kind}.sql"
            assert f'run_sql_file("{name}")' in source, revision.path
            expected.add(name)
    assert {p.name for p in SQL_DIR.glob("*.sql")} == expected


def test_sql_files_ship_in_the_wheel():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = pyproject["tool"]["setuptools"]["package-data"]["villagegraph"]
    assert "migrations/sql/*.sql" in package_data
    assert SQL_DIR == ROOT / "villagegraph" / "migrations" / "sql"
