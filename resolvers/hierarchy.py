"""Org units: the public hierarchy of division codes (anonymous callers included)."""

from __future__ import annotations

from typing import Any

from villagegraph.resolvers.loaders import Loader, by_key, grouped

UNIT_COLUMNS = "code, name, level, parent_code, valid_from, valid_to"


class OrgUnitByCodeLoader(Loader[int, Any]):
    async def batch_load(self, keys: list[int]) -> list[Any]:
        rows = await self.db.fetch(
            f"select {UNIT_COLUMNS} from vg.org_units where code = any($1::bigint[])", keys
        )
        return by_key(rows, keys, "code")


class OrgUnitChildrenByCodeLoader(Loader[int, list[Any]]):
    """Current (not closed) child units, in code order."""

    async def batch_load(self, keys: list[int]) -> list[list[Any]]:
        rows = await self.db.fetch(
            f"""select {UNIT_COLUMNS} from vg.org_units
                 where parent_code = any($1::bigint[]) and valid_to is null
                 order by code""",
            keys,
        )
        return grouped(rows, keys, "parent_code")
