"""Dashboards for officials and analysts: a subtree's figures with one level of drill-down."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry.types.nodes import SelectedField

from villagegraph.resolvers.dashboard import DashboardScope, Figures, dashboard_figures
from villagegraph.resolvers.hierarchy import OrgUnitChildrenByCodeLoader
from villagegraph.schema.context import Info, principal_of
from villagegraph.schema.hierarchy import OrgUnit, load_unit
from villagegraph.schema.inputs import division_code, period_bound
from villagegraph.tenants.hierarchy import Level, child_divisor, level_of, subtree_end


@strawberry.type(description="A unit's figures over its whole subtree, with its children's.")
class Dashboard:
    unit: OrgUnit
    residents: int
    party_members: int
    cadres: int
    notices_published: int
    notice_reach: int = strawberry.field(description="Distinct residents who read a notice.")
    open_consultations: int = strawberry.field(description="Consultations open for voting now.")
    resolved_consultations: int = strawberry.field(
        description="Consultations closed in the period."
    )
    open_suggestions: int = strawberry.field(description="Suggestions not yet answered now.")
    answered_suggestions: int = strawberry.field(
        description="Suggestions first answered in the period."
    )
    median_hours_to_first_answer: float | None = strawberry.field(
        description="Median hours from submission to first answer, for those answered in the period."
    )
    income: Decimal = strawberry.field(description="Village finance income in the period.")
    expense: Decimal = strawberry.field(description="Village finance expense in the period.")
    open_tasks: int = strawberry.field(description="Tasks not yet done (overdue included).")
    overdue_tasks: int = strawberry.field(description="Tasks not done and past their due date.")
    tasks_completed: int = strawberry.field(description="Tasks completed in the period.")
    tasks_completed_on_time: int = strawberry.field(
        description="Tasks completed in the period by their due date."
    )
    villages_out_of_compliance: int = strawberry.field(
        description="Villages with an unresolved missed disclosure deadline."
    )
    children: list[Dashboard]

    @strawberry.field(description="Share of the period's completions done by the due date.")
    def on_time_completion_rate(self) -> float | None:
        if not self.tasks_completed:
            return None
        return self.tasks_completed_on_time / self.tasks_completed

    @classmethod
    def build(cls, unit: OrgUnit, figures: Figures, children: list[Dashboard]) -> Dashboard:
        known = {name for name in cls.__annotations__ if name not in ("unit", "children")}
        values: dict[str, Any] = {name: figures.get(name, _zero(cls, name)) for name in known}
        return cls(unit=unit, children=children, **values)


def _zero(cls: type, name: str) -> Any:
    if str(cls.__annotations__.get(name)).endswith("| None"):
        return None  # a figure that is not additive (a median) has no zero
    return Decimal(0) if cls.__annotations__.get(name) in (Decimal, "Decimal") else 0


# Fields computed from other figures, and what they need.
DERIVED_FIGURES = {"on_time_completion_rate": {"tasks_completed", "tasks_completed_on_time"}}


def requested_figures(info: Info) -> frozenset[str]:
    """The Dashboard fields this operation selects, on the unit and on its children
    (fragments included), as Python field names."""
    names: set[str] = set()

    def walk(selections: list[Any]) -> None:
        for selection in selections:
            if isinstance(selection, SelectedField):
                name = re.sub(r"(?<!^)([A-Z])", r"_\1", selection.name).lower()
                names.add(name)
                names.update(DERIVED_FIGURES.get(name, ()))
                if selection.name == "children":
                    walk(selection.selections)
            else:  # a fragment spread or an inline fragment
                walk(selection.selections)

    for field in info.selected_fields:
        walk(field.selections)
    return frozenset(names)


@strawberry.type
class DashboardQuery:
    @strawberry.field(description="Null when the unit is outside the caller's scope.")
    async def dashboard(
        self,
        info: Info,
        unit: strawberry.ID,
        from_: Annotated[str | None, strawberry.argument(name="from")] = None,
        to: str | None = None,
    ) -> Dashboard | None:
        code = division_code(unit)
        since = period_bound(from_, "from", end=False)
        until = period_bound(to, "to", end=True)
        principal = await principal_of(info)
        if principal is None or not principal.can_read_subtree(code):
            return None
        root = await load_unit(info, code)
        if root is None:
            return None
        level = level_of(code)
        scope = DashboardScope(
            unit=code,
            lo=code,
            hi=subtree_end(code),
            child_divisor=child_divisor(level) if level is not Level.VILLAGE else None,
            since=since,
            until=until,
        )
        figures = await dashboard_figures(info.context.db, scope, requested_figures(info))
        child_rows = await info.context.loader(OrgUnitChildrenByCodeLoader).load(code)
        children = [
            Dashboard.build(OrgUnit.from_row(row), figures.get(row.code, {}), [])
            for row in child_rows
        ]
        return Dashboard.build(root, figures.get(None, {}), children)
