"""Typed rows: one SQLModel table model per table of schema `vg`, one module per domain.

The migrations own the tables; these models only describe them, so that a renamed or retyped
column fails in mypy instead of at runtime. tests/test_models_match_database.py compares
them with a migrated database, column by column. Models never create tables, open sessions
or decide visibility (RLS does); the request path keeps running its own SQL through asyncpg
and turns each record into a model with `from_record`, without validation.

A query that adds computed columns to a table's (a task's derived status, a shelter's
distance) returns a projection declared beside it in resolvers/: a plain SQLModel that
extends the table's `<Table>Base` with those columns, so every column is still declared
once. Aggregates that are no table's rows are small NamedTuples in their resolvers module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import InstrumentedAttribute, configure_mappers
from sqlmodel import SQLModel

from villagegraph.models import (
    accounts,
    audit,
    consultations,
    delivery,
    disclosure,
    finance,
    hierarchy,
    inspections,
    ledger,
    listings,
    notices,
    outbox,
    residents,
    rollups,
    serving,
    shelters,
    suggestions,
    tasks,
)

__all__ = [
    "accounts",
    "audit",
    "consultations",
    "delivery",
    "disclosure",
    "finance",
    "column_names",
    "from_record",
    "from_records",
    "hierarchy",
    "inspections",
    "into",
    "ledger",
    "listings",
    "metadata",
    "notices",
    "outbox",
    "residents",
    "rollups",
    "serving",
    "shelters",
    "suggestions",
    "tasks",
]

metadata = SQLModel.metadata

# Map every model now, not on the first attribute read in a request.
configure_mappers()

M = TypeVar("M", bound=SQLModel)


def from_record(model: type[M], record: Mapping[str, Any]) -> M:
    """`record` (an asyncpg Record, or any mapping of column to value) as a `model`.

    No validation and no SQLAlchemy instance state: the values are what PostgreSQL returned,
    already of the column's Python type. A record that selects only some columns gives a
    model whose other attributes are missing; such rows are snapshots, never added to an
    ORM session. Cheaper than `model.model_construct(**record)`, which routes every value
    through SQLAlchemy's attribute instrumentation, and than `model.__new__`, which SQLModel
    overrides to set up what the four assignments below set anyway.
    """
    row = _new(model)
    _set(row, "__dict__", dict(record))
    _set(row, "__pydantic_fields_set__", set())
    _set(row, "__pydantic_extra__", None)
    _set(row, "__pydantic_private__", None)
    return row


def from_records(model: type[M], records: Iterable[Mapping[str, Any]]) -> list[M]:
    return [from_record(model, record) for record in records]


def column_names(*columns: object) -> list[str]:
    """The names of table-model columns given as attributes (`Resident.village_code`).

    A statement that lists its columns this way (the seeds' inserts and copies) fails in
    mypy when the model renames or drops one, and the drift test keeps the model equal to
    the migrated table. Anything but a model's column is refused.
    """
    names = []
    for column in columns:
        if not isinstance(column, InstrumentedAttribute):
            raise TypeError(f"not a column of a table model: {column!r}")
        names.append(column.prop.columns[0].name)  # AccountSubject.class_ is `class`
    return names


def into(*columns: object) -> str:
    """`vg.<table> (<column>, ...)`, the target of an INSERT, from columns of one table model
    (`into(Task.assignee_code, Task.title)`; see column_names)."""
    names = column_names(*columns)
    models = {getattr(column, "class_", None) for column in columns}
    if len(models) != 1:
        raise TypeError(f"columns of one table model, not {len(models)}: {', '.join(names)}")
    return f"{inspect(models.pop()).tables[0].fullname} ({', '.join(names)})"


_new = object.__new__
_set = object.__setattr__
