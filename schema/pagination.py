"""Relay connections: `first`/`after`, edges with cursors, pageInfo and totalCount.

Cursors are opaque base64 of the sort key of the last row, so pages are keyset-paginated
(stable under inserts, index-friendly at any depth). This module alone writes and reads
cursors (`Keyset`) and slices pages (`Page`); the store receives the decoded, typed key
and never sees a cursor.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import strawberry

from villagegraph.errors import BadUserInput

T = TypeVar("T")
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count_total: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="All matching items the caller can see, across pages.")
    async def total_count(self) -> int:
        return await self.count_total()


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise BadUserInput(f"`first` must be between 0 and {MAX_PAGE_SIZE}.", argument="first")
    return first


def _encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode()


def _decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as error:
        raise BadUserInput(NOT_A_CURSOR, argument="after") from error
    if not isinstance(key, list) or len(key) != arity:
        raise BadUserInput(NOT_A_CURSOR, argument="after")
    return key


NOT_A_CURSOR = "`after` is not a cursor from this API."

# How a sort-key column is written in a cursor and read back.
_WRITE: dict[type, Callable[[Any], Any]] = {
    int: lambda value: value,
    datetime: lambda value: value.isoformat(),
    date: lambda value: value.isoformat(),
}
_READ: dict[type, Callable[[Any], Any]] = {
    int: int,
    datetime: datetime.fromisoformat,
    date: date.fromisoformat,
}


@dataclass(frozen=True)
class Keyset:
    """A field's sort key, column by column with its type, e.g.
    `Keyset(("published_at", datetime), ("id", int))`: the cursor of a row is the base64 of
    the JSON list of those columns (datetimes and dates in ISO form)."""

    columns: tuple[tuple[str, type], ...]

    def __init__(self, *columns: tuple[str, type]) -> None:
        object.__setattr__(self, "columns", columns)

    def cursor(self, row: Any) -> str:
        """The cursor of a typed row (villagegraph.models, or a projection): its sort-key
        attributes."""
        return _encode_cursor(*(_WRITE[kind](getattr(row, name)) for name, kind in self.columns))

    def decode(self, cursor: str | None) -> tuple[Any, ...] | None:
        """The sort key `after` names, typed, or None for the first page."""
        if cursor is None:
            return None
        key = _decode_cursor(cursor, len(self.columns))
        try:
            return tuple(
                _READ[kind](value) for (_, kind), value in zip(self.columns, key, strict=True)
            )
        except (ValueError, TypeError) as error:
            raise BadUserInput(NOT_A_CURSOR, argument="after") from error


class Page:
    """One request of a keyset-paginated field: `first`/`after` checked and decoded, how
    many rows to fetch (one more than the page, to know whether a next page exists) and
    the connection built from them. Every paginated field goes through this."""

    def __init__(self, keyset: Keyset, first: int | None, after: str | None) -> None:
        self.keyset = keyset
        self.size = page_size(first)
        self.after = keyset.decode(after)

    @property
    def limit(self) -> int:
        return self.size + 1

    def after_or_none(self) -> tuple[Any, ...]:
        """The `after` key column by column, all None on the first page (for SQL)."""
        return self.after if self.after is not None else (None,) * len(self.keyset.columns)

    def rows(self, fetched: Sequence[Any]) -> list[Any]:
        return list(fetched[: self.size])

    def connection(
        self,
        fetched: Sequence[Any],
        node: Callable[[Any], T],
        count_total: Callable[[], Awaitable[int]],
    ) -> Connection[T]:
        edges = [Edge(cursor=self.keyset.cursor(row), node=node(row)) for row in self.rows(fetched)]
        return Connection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(fetched) > self.size,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            count_total=count_total,
        )
