"""Alembic migrations: tables, grants and row-level security policies together, run as
vg_owner (the roles themselves and the database's ownership are villagegraph/roles.py's).

Each revision is a thin file in versions/ naming its SQL in sql/ (<revision>.up.sql and
.down.sql), so a domain's tables and the policies guarding them sit in one SQL file. The
domain branches that grew from the core are merged by 0012_one_history; the history has one
head from there on (docs/CONVENTIONS.md says how to add a revision). This package must not
hold SQL in Python strings.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from villagegraph import roles
from villagegraph.database import Database

HERE = Path(__file__).parent


def alembic_config(db: Database) -> Config:
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("version_locations", str(HERE / "versions"))
    cfg.set_main_option("sqlalchemy.url", db.sqlalchemy_url().replace("%", "%%"))
    return cfg


def upgrade(db: Database) -> None:
    """Apply every migration, logged in as vg_owner (`heads` is the single head since
    0012_one_history; an older database, with one alembic_version row per domain branch, is
    merged by it). The admin's bootstrap (villagegraph/roles.py) must have run."""
    roles.check_migrator(db.url("owner"))
    command.upgrade(alembic_config(db), "heads")
