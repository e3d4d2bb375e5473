"""The DataLoader base: one instance per request (Context.loader), one query per batch.

Loaders are named for what they return and by what key (`OrgUnitByCodeLoader`); their
`batch_load(keys)` runs one statement and returns results in key order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

from strawberry.dataloader import DataLoader

from villagegraph.tenants.session import ScopedSession

K = TypeVar("K")
V = TypeVar("V")


class Loader(DataLoader[K, V], Generic[K, V]):
    def __init__(self, db: ScopedSession) -> None:
        super().__init__(load_fn=self.batch_load)
        self.db = db

    async def batch_load(self, keys: list[K]) -> Sequence[V]:
        raise NotImplementedError


R = TypeVar("R")


def by_key(rows: Iterable[R], keys: Sequence[Any], key: str) -> list[R | None]:
    """Rows in the order of `keys` (each row's attribute `key`), None where a key has none."""
    found = {getattr(row, key): row for row in rows}
    return [found.get(k) for k in keys]


def grouped(rows: Iterable[R], keys: Sequence[Any], key: str) -> list[list[R]]:
    """Rows grouped by their attribute `key`, one (possibly empty) list per requested key,
    in key order."""
    groups: dict[Any, list[R]] = {k: [] for k in keys}
    for row in rows:
        groups[getattr(row, key)].append(row)
    return [groups[k] for k in keys]
