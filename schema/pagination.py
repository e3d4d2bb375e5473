"""Relay connections: `first`/`after`, edges with cursors, pageInfo and totalCount.

Cursors are opaque base64 of the sort key of the last row, so pages are keyset-paginated
(stable under inserts, index-friendly at any depth).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Sequence
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


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode()


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as error:
        raise BadUserInput("`after` is not a cursor from this API.", argument="after") from error
    if not isinstance(key, list) or len(key) != arity:
        raise BadUserInput("`after` is not a cursor from this API.", argument="after")
    return key


def connection(
    rows: Sequence[Any],
    size: int,
    node: Callable[[Any], T],
    cursor_key: Callable[[Any], tuple[Any, ...]],
    count_total: Callable[[], Awaitable[int]],
) -> Connection[T]:
    """Build a page from `size + 1` fetched rows (the extra row only says a next page exists)."""
    page = list(rows[:size])
    edges = [Edge(cursor=encode_cursor(*cursor_key(row)), node=node(row)) for row in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > size, end_cursor=edges[-1].cursor if edges else None
        ),
        count_total=count_total,
    )
