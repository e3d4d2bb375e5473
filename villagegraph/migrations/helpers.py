"""Runs a revision's SQL file: the SQL of every migration lives in migrations/sql/, where a
DBA reads it as it is sent; revisions in versions/ only name their files.

This module must not build or rewrite SQL: what a file says is exactly what the server gets.
"""

from __future__ import annotations

from pathlib import Path

from alembic import op

SQL_DIR = Path(__file__).parent / "sql"


def sql_path(name: str) -> Path:
    """The file `name` (e.g. "0002_affairs.up.sql") in migrations/sql/."""
    return SQL_DIR / name


def run_sql_file(name: str) -> None:
    """Send the file to the server as one simple query, inside the revision's transaction.

    No parameter processing: `%`, `:name` and backslashes reach PostgreSQL untouched, so a
    file behaves here as it does in `psql -1 -f`.
    """
    sql = sql_path(name).read_text(encoding="utf-8")
    op.get_bind().exec_driver_sql(sql, execution_options={"no_parameters": True})
