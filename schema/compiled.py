"""What the read-side compiler (villagegraph/compiler.py) knows of the schema: each type's
fields as SQL, declared beside the strawberry type with `@sql_type`, and each compilable
root field's rows, declared beside its Query class with `@sql_roots`.

A field with no entry here has no SQL form: an operation selecting it runs on the general
executor, whole. This module only declares; it runs no SQL and decides nothing about who
may see what (the statements run under the request's RLS context like any other).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from villagegraph.schema.pagination import Keyset
from villagegraph.tenants.session import ScopedSession

T = TypeVar("T")


@dataclass(frozen=True)
class Column:
    """A scalar or enum field: an SQL expression over the row alias `{t}` whose JSON is
    what the general executor serialises (text for IDs and enums, ISO text for times)."""

    expr: str


@dataclass(frozen=True)
class One:
    """An object field: the row of `table` (alias `{c}`) matching `where` (over `{t}`, the
    parent row, and `{c}`); JSON null when none matches."""

    table: str
    where: str


@dataclass(frozen=True)
class Many:
    """A list-of-objects field: the rows of `table` matching `where`, in `order` (over `{c}`)."""

    table: str
    where: str
    order: str


Mapping = Column | One | Many


def utc_iso(expr: str) -> str:
    """SQL text of a timestamptz as Python's `datetime.isoformat()` writes asyncpg's UTC
    value: seconds, `.ffffff` only when there are microseconds, then `+00:00`."""
    utc = f"({expr} at time zone 'UTC')"
    return (
        f"(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || case when to_char({utc}, 'US') = '000000' then '' else to_char({utc}, '.US') end"
        " || '+00:00')"
    )


class GeneralPath(Exception):
    """Raised by a prepare function: this request goes to the general executor, whose
    resolver answers it (with its refusal, through the guard layer)."""


@dataclass(frozen=True)
class SqlType:
    fields: dict[str, Mapping]


# Filled at import by the decorators below: GraphQL-facing class → its SQL mapping, and
# root field name (as in the schema, camelCase) → how its rows are read.
SQL_TYPES: dict[type, SqlType] = {}
SQL_ROOTS: dict[str, Callable[..., Awaitable[Any]]] = {}


def sql_type(**fields: Mapping) -> Callable[[type[T]], type[T]]:
    """Declare a strawberry type's fields as SQL, by GraphQL field name (camelCase)."""

    def declare(cls: type[T]) -> type[T]:
        SQL_TYPES[cls] = SqlType(dict(fields))
        return cls

    return declare


def sql_roots(**roots: Callable[..., Awaitable[Any]]) -> Callable[[type[T]], type[T]]:
    """Declare a Query class's compilable root fields: name → `async prepare(db, **args)`
    returning `PageRows` or `OneRow`. Prepare does what the resolver does before its SQL
    (check and decode arguments, ask who is calling) and raises the same API errors, or
    GeneralPath where the resolver would refuse through the guard layer; either sends the
    request to the general executor, which reports it as usual."""

    def declare(cls: type[T]) -> type[T]:
        SQL_ROOTS.update(roots)
        return cls

    return declare


@dataclass(frozen=True)
class Rows:
    """A statement with positional `$n` parameters and its arguments."""

    sql: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Effect:
    """A read's side effect (the remote-inspection log): `column` of the page's rows is
    collected into an array by the plan, then `run(db, values)` runs once, after it."""

    column: str
    run: Callable[[ScopedSession, list[Any]], Awaitable[None]]


@dataclass(frozen=True)
class PageRows:
    """A keyset connection: `page` fetches up to `size` + 1 rows in `order` (column names
    of its output), `count` is its totalCount; cursors are `keyset`'s (pagination.py)."""

    page: Rows
    count: Rows
    keyset: Keyset
    order: str
    size: int
    effect: Effect | None = None


@dataclass(frozen=True)
class OneRow:
    """A nullable object: the statement's one row, or JSON null without one."""

    row: Rows
