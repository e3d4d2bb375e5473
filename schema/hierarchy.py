"""The hierarchy: city > county > town/street > village/community, by division code."""

from __future__ import annotations

from datetime import date

import strawberry

from villagegraph.errors import BadUserInput, NotFound
from villagegraph.models.hierarchy import OrgUnit as OrgUnitRow
from villagegraph.resolvers.hierarchy import (
    UNIT_COLUMNS,
    OrgUnitByCodeLoader,
    OrgUnitChildrenByCodeLoader,
)
from villagegraph.schema.compiled import Column, Many, One, OneRow, Rows, sql_roots, sql_type
from villagegraph.schema.context import Info
from villagegraph.tenants.hierarchy import Level, is_division_code, subtree_end
from villagegraph.tenants.session import ScopedSession

# One Level: the division-code tier of tenants/hierarchy.py, exposed as the GraphQL enum.
strawberry.enum(Level, description="The tier of an org unit.")


# The compiled path's form of each field below (schema/compiled.py); `path` has none.
@sql_type(
    code=Column("{t}.code::text"),
    name=Column("{t}.name"),
    level=Column("{t}.level"),
    validFrom=Column("{t}.valid_from"),
    validTo=Column("{t}.valid_to"),
    parent=One("vg.org_units", "{c}.code = {t}.parent_code"),
    children=Many(
        "vg.org_units", "{c}.parent_code = {t}.code and {c}.valid_to is null", "{c}.code"
    ),
)
@strawberry.federation.type(keys=["code"], description="An administrative unit (行政区划).")
class OrgUnit:
    code: strawberry.ID = strawberry.field(description="12-digit statistical division code.")
    name: str
    level: Level
    valid_from: date
    valid_to: date | None = strawberry.field(
        description="Set when the unit was merged or moved (村规模调整)."
    )
    parent_code: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: OrgUnitRow) -> OrgUnit:
        return cls(
            code=strawberry.ID(str(row.code)),
            name=row.name,
            level=Level(row.level),
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            parent_code=row.parent_code,
        )

    @property
    def code_int(self) -> int:
        return int(self.code)

    @strawberry.field
    async def parent(self, info: Info) -> OrgUnit | None:
        if self.parent_code is None:
            return None
        return await load_unit(info, self.parent_code)

    @strawberry.field(description="Current child units, one tier down, in code order.")
    async def children(self, info: Info) -> list[OrgUnit]:
        rows = await info.context.loader(OrgUnitChildrenByCodeLoader).load(self.code_int)
        return [OrgUnit.from_row(row) for row in rows]

    @strawberry.field(description="Ancestors from the city down to the parent.")
    async def path(self, info: Info) -> list[OrgUnit]:
        chain: list[OrgUnit] = []
        unit: OrgUnit | None = self
        while unit is not None and unit.parent_code is not None:
            unit = await load_unit(info, unit.parent_code)
            if unit is not None:
                chain.insert(0, unit)
        return chain

    @classmethod
    async def resolve_reference(cls, info: Info, code: strawberry.ID) -> OrgUnit | None:
        if not is_division_code(str(code)):
            return None
        return await load_unit(info, int(code))


async def load_unit(info: Info, code: int) -> OrgUnit | None:
    row = await info.context.loader(OrgUnitByCodeLoader).load(code)
    return None if row is None else OrgUnit.from_row(row)


async def require_unit(info: Info, code: int, argument: str = "unit") -> OrgUnit:
    """The unit with this code, or NOT_FOUND naming the argument."""
    unit = await load_unit(info, code)
    if unit is None:
        raise NotFound(f"There is no unit {code}.", argument=argument)
    return unit


def subtree_bounds(code: int) -> tuple[int, int]:
    return code, subtree_end(code)


async def unit_row(db: ScopedSession, code: str) -> OneRow:
    """`unit(code:)` for the compiled path: the same check, the loader's statement."""
    if not is_division_code(str(code)):
        raise BadUserInput("`code` must be a 12-digit division code.", argument="code")
    return OneRow(Rows(f"select {UNIT_COLUMNS} from vg.org_units where code = $1", (int(code),)))


@sql_roots(unit=unit_row)
@strawberry.type
class HierarchyQuery:
    @strawberry.field(description="An org unit by division code; the hierarchy is public.")
    async def unit(self, info: Info, code: strawberry.ID) -> OrgUnit | None:
        if not is_division_code(str(code)):
            raise BadUserInput("`code` must be a 12-digit division code.", argument="code")
        return await load_unit(info, int(code))
