"""Residents as the API shows them; RLS decides who may look a resident up."""

from __future__ import annotations

from typing import Any

import strawberry

from resolvers.residents import ResidentByIdLoader
from schema.context import Info
from schema.hierarchy import OrgUnit, load_unit


@strawberry.federation.type(keys=["id"], description="A registered resident (村民/居民).")
class Resident:
    id: strawberry.ID
    name: str
    tags: list[str]
    village_code: strawberry.Private[int]
    residence_code: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: Any) -> Resident:
        return cls(
            id=strawberry.ID(str(row["id"])),
            name=row["name"],
            tags=list(row["tags"]),
            village_code=row["village_code"],
            residence_code=row["residence_code"],
        )

    @strawberry.field(description="The household-registration village (户籍所在村社).")
    async def village(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.village_code)
        assert unit is not None
        return unit

    @strawberry.field(description="The residence village (常驻村社), when it differs.")
    async def residence_village(self, info: Info) -> OrgUnit | None:
        if self.residence_code is None:
            return None
        return await load_unit(info, self.residence_code)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Resident | None:
        if not str(id).isdigit():
            return None
        row = await info.context.loader(ResidentByIdLoader).load(int(id))
        return None if row is None else cls.from_row(row)
