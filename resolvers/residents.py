"""Residents (村民/居民): the people a village's affairs are for."""

from __future__ import annotations

from typing import Any

from resolvers.loaders import Loader, by_key

RESIDENT_COLUMNS = (
    "id, village_code, name, gender, birth_date, residence_code, residence_member, tags"
)


class ResidentByIdLoader(Loader[int, Any]):
    async def batch_load(self, keys: list[int]) -> list[Any]:
        rows = await self.db.fetch(
            f"select {RESIDENT_COLUMNS} from vg.residents where id = any($1::bigint[])", keys
        )
        return by_key(rows, keys, "id")
