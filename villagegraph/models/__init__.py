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

from sqlalchemy.orm import configure_mappers
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
    "from_record",
    "from_records",
    "hierarchy",
    "inspections",
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


_new = object.__new__
_set = object.__setattr__
