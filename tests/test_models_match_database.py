"""The SQLModel table models (villagegraph/models) describe the migrated schema `vg` exactly.

Alembic's autogenerate comparison runs the models against the session's migrated database:
a table or column added, dropped, renamed, retyped or made (not) nullable on either side
fails here, so the models cannot drift from the migrations.

Compared: tables (rollup tables included), column names, types and nullability.
Not compared, because the models deliberately do not carry them: server defaults, indexes,
unique/foreign-key/check constraints, comments, sequences, RLS policies, grants, functions,
triggers and views. The migrations alone own those.
"""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, pool

from villagegraph import models
from villagegraph.database import Database

COMPARED = {
    "add_table",
    "remove_table",
    "add_column",
    "remove_column",
    "modify_type",
    "modify_nullable",
}

# vg.shelters.position is a `cube`, which SQLAlchemy does not reflect; its name and
# nullability are still compared.
pytestmark = pytest.mark.filterwarnings("ignore:Did not recognize type 'cube'")


def _include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    return type_ in ("table", "column")


def _differences(database: Database) -> list[Any]:
    # The database sets search_path to vg; with `public` as the default schema, Alembic
    # reflects vg under its name, as the models declare it.
    engine = create_engine(
        database.sqlalchemy_url(),
        poolclass=pool.NullPool,
        connect_args={"options": "-c search_path=public"},
    )
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_schemas": True,
                    "include_name": lambda name, type_, parent: type_ != "schema" or name == "vg",
                    "include_object": _include_object,
                    "compare_type": True,
                    "compare_server_default": False,
                },
            )
            return compare_metadata(context, models.metadata)
    finally:
        engine.dispose()


def _flatten(diffs: list[Any]) -> list[Any]:
    """Column changes come grouped in a list per column; table changes come alone."""
    flat: list[Any] = []
    for diff in diffs:
        flat.extend(diff if isinstance(diff, list) else [diff])
    return flat


def test_every_vg_table_has_a_model(database: Database) -> None:
    tables = {
        diff[1].name for diff in _flatten(_differences(database)) if diff[0] == "remove_table"
    }
    assert tables == set(), f"tables in vg without a model in villagegraph/models: {tables}"


def test_models_match_the_migrated_columns(database: Database) -> None:
    diffs = [diff for diff in _flatten(_differences(database)) if diff[0] in COMPARED]
    assert diffs == [], "villagegraph/models differ from the migrations:\n" + "\n".join(
        map(repr, diffs)
    )

    assert all(table.startswith("vg.") for table in models.metadata.tables)
