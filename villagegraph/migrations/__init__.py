"""Alembic migrations: tables, roles, grants and row-level security policies together.

Each domain has its own revision branching from the core (`alembic upgrade heads`), so a
domain's tables and the policies guarding them live in one file.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from villagegraph.database import Database

HERE = Path(__file__).parent


def alembic_config(db: Database) -> Config:
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("version_locations", str(HERE / "versions"))
    cfg.set_main_option("sqlalchemy.url", db.sqlalchemy_url().replace("%", "%%"))
    return cfg


def upgrade(db: Database) -> None:
    """Apply every migration of every domain."""
    command.upgrade(alembic_config(db), "heads")
