"""Org units: the public hierarchy of division codes (anonymous callers included)."""

from __future__ import annotations

from villagegraph.models import from_records
from villagegraph.models.hierarchy import OrgUnit
from villagegraph.resolvers.loaders import Loader, by_key, grouped

UNIT_COLUMNS = "code, name, level, parent_code, valid_from, valid_to"


class OrgUnitByCodeLoader(Loader[int, OrgUnit | None]):
    async def batch_load(self, keys: list[int]) -> list[OrgUnit | None]:
        rows = await self.db.fetch(
            f"select {UNIT_COLUMNS} from vg.org_units where code = any($1::bigint[])", keys
        )
        return by_key(from_records(OrgUnit, rows), keys, "code")


class OrgUnitChildrenByCodeLoader(Loader[int, list[OrgUnit]]):
    """Current (not closed) child units, in code order."""

    async def batch_load(self, keys: list[int]) -> list[list[OrgUnit]]:
        rows = await self.db.fetch(
            f"""select {UNIT_COLUMNS} from vg.org_units
                 where parent_code = any($1::bigint[]) and valid_to is null
                 order by code""",
            keys,
        )
        return grouped(from_records(OrgUnit, rows), keys, "parent_code")
