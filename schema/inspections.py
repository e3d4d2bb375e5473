"""Inspections (远程验收): who read a village's ledger, tasks, notices or finance from outside.

The reads are recorded by the domains that serve them (resolvers/inspections.record_inspection);
this module only lists them. RLS decides who may see which inspection.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from villagegraph import resolvers
from villagegraph.schema.context import Info
from villagegraph.schema.hierarchy import OrgUnit, load_unit, subtree_bounds
from villagegraph.schema.inputs import division_code
from villagegraph.schema.pagination import Connection, Keyset, Page

# The sort key, and so the cursor, of the connection field below (schema/pagination.py).
INSPECTION_ORDER = Keyset(("inspected_at", datetime), ("id", int))


@strawberry.enum
class InspectionSubject(Enum):
    LEDGER = "LEDGER"
    TASKS = "TASKS"
    NOTICES = "NOTICES"
    FINANCE = "FINANCE"


@strawberry.type(
    description="远程验收: an official outside a village read its ledger, tasks, notices or finance."
)
class Inspection:
    id: strawberry.ID
    subject: InspectionSubject
    inspector_name: str
    search: str | None
    inspected_at: datetime
    village_code: strawberry.Private[int]
    queried_code: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Any) -> Inspection:
        return cls(
            id=strawberry.ID(str(row["id"])),
            subject=InspectionSubject(row["subject"]),
            inspector_name=row["inspector_name"],
            search=row["search"],
            inspected_at=row["inspected_at"],
            village_code=row["village_code"],
            queried_code=row["queried_unit"],
        )

    @strawberry.field(description="The inspected village.")
    async def village(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.village_code)
        assert unit is not None
        return unit

    @strawberry.field(description="The unit the inspector asked about (the village or above).")
    async def queried_unit(self, info: Info) -> OrgUnit | None:
        return await load_unit(info, self.queried_code)


@strawberry.type
class InspectionQuery:
    @strawberry.field(
        description="Who read a village's ledger or tasks from outside, newest first."
    )
    async def inspections(
        self,
        info: Info,
        unit: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Inspection]:
        page = Page(INSPECTION_ORDER, first, after)
        lo, hi = subtree_bounds(division_code(unit))
        db = info.context.db
        rows = await resolvers.inspections.inspections_page(db, lo, hi, page.after, page.limit)
        return page.connection(
            rows,
            Inspection.from_row,
            lambda: resolvers.inspections.inspections_count(db, lo, hi),
        )
