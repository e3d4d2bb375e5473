"""Dashboards for officials and analysts: a subtree's figures with one level of drill-down,
the unit's own items beside its children's (`own`, so children + own add up to the unit), and
a monthly series per figure for charts (`monthly`)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry.types.nodes import SelectedField

from villagegraph.errors import BadUserInput
from villagegraph.resolvers.dashboard import (
    MAX_SERIES_MONTHS,
    NO_MONTH,
    DashboardFigures,
    DashboardScope,
    MonthFigures,
    dashboard_figures,
    monthly_figures,
)
from villagegraph.resolvers.hierarchy import OrgUnitChildrenByCodeLoader
from villagegraph.schema.context import Info
from villagegraph.schema.guards import permits
from villagegraph.schema.hierarchy import OrgUnit, load_unit
from villagegraph.schema.inputs import LOCAL_TIME, division_code, period_bound
from villagegraph.tenants.hierarchy import Level, child_divisor, level_of, subtree_end
from villagegraph.tenants.principal import Principal


@strawberry.type(
    description="The unit's own items, held at its own level rather than by a child unit: "
    "a parent's figure is the sum of its children's plus these."
)
class DashboardOwn:
    notices_published: int = strawberry.field(description="Notices the unit itself published.")
    open_tasks: int = strawberry.field(description="Open tasks assigned to the unit itself.")
    overdue_tasks: int
    supervised_overdue_tasks: int
    tasks_completed: int
    tasks_completed_on_time: int

    @classmethod
    def build(cls, figures: DashboardFigures) -> DashboardOwn:
        tasks = figures.tasks
        return cls(
            notices_published=figures.notices.notices_published,
            open_tasks=tasks.open_tasks,
            overdue_tasks=tasks.overdue_tasks,
            supervised_overdue_tasks=tasks.supervised_overdue_tasks,
            tasks_completed=tasks.tasks_completed,
            tasks_completed_on_time=tasks.tasks_completed_on_time,
        )


@strawberry.type(description="One local month of a subtree's flows, for charts.")
class DashboardMonth:
    month: str = strawberry.field(description="YYYY-MM, Asia/Shanghai time.")
    notices_published: int
    notice_reach: int = strawberry.field(
        description="Residents who read a notice that month, summed over their villages."
    )
    income: Decimal
    expense: Decimal
    tasks_assigned: int
    tasks_completed: int
    tasks_completed_on_time: int
    resolved_consultations: int
    answered_suggestions: int

    @classmethod
    def build(cls, month: date, figures: MonthFigures) -> DashboardMonth:
        return cls(
            month=month.strftime("%Y-%m"),
            notices_published=figures.notices_published,
            notice_reach=figures.notice_reach,
            income=figures.income,
            expense=figures.expense,
            tasks_assigned=figures.tasks_assigned,
            tasks_completed=figures.tasks_completed,
            tasks_completed_on_time=figures.tasks_completed_on_time,
            resolved_consultations=figures.resolved_consultations,
            answered_suggestions=figures.answered_suggestions,
        )


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
    budget_income: Decimal = strawberry.field(
        description="Budgeted income of the years the period touches (every year without a "
        "period): the latest revision of each line, to set beside `income`."
    )
    budget_expense: Decimal = strawberry.field(
        description="Budgeted expense of the years the period touches, beside `expense`."
    )
    open_tasks: int = strawberry.field(description="Tasks not yet done (overdue included).")
    overdue_tasks: int = strawberry.field(description="Tasks not done and past their due date.")
    supervised_overdue_tasks: int = strawberry.field(
        description="督办 tasks not done and past their due date (their issuers' superiors "
        "are told at once)."
    )
    tasks_completed: int = strawberry.field(description="Tasks completed in the period.")
    tasks_completed_on_time: int = strawberry.field(
        description="Tasks completed in the period by their due date."
    )
    villages_out_of_compliance: int = strawberry.field(
        description="Villages with an unresolved missed disclosure deadline."
    )
    children: list[Dashboard]
    own: DashboardOwn | None = strawberry.field(
        description="The unit's own items beside its children's; null on the children "
        "themselves (ask for their own dashboard)."
    )
    scope: strawberry.Private[DashboardScope]

    @strawberry.field(
        description="The subtree's flows per month from `from` to `to` ('YYYY-MM'; by default "
        f"the dashboard's period, else the last 12 months), at most {MAX_SERIES_MONTHS} months."
    )
    async def monthly(
        self,
        info: Info,
        from_: Annotated[str | None, strawberry.argument(name="from")] = None,
        to: str | None = None,
    ) -> list[DashboardMonth]:
        first, last = series_months(
            period_bound(from_, "from", end=False) or self.scope.since,
            period_bound(to, "to", end=True) or self.scope.until,
        )
        figures = await monthly_figures(info.context.db, self.scope.lo, self.scope.hi, first, last)
        return [
            DashboardMonth.build(month, figures.get(month, NO_MONTH))
            for month in months(first, last)
        ]

    @strawberry.field(description="Share of the period's completions done by the due date.")
    def on_time_completion_rate(self) -> float | None:
        if not self.tasks_completed:
            return None
        return self.tasks_completed_on_time / self.tasks_completed

    @classmethod
    def build(
        cls,
        unit: OrgUnit,
        scope: DashboardScope,
        figures: DashboardFigures,
        children: list[Dashboard],
        own: DashboardOwn | None = None,
    ) -> Dashboard:
        people, notices, affairs, tasks = figures
        return cls(
            unit=unit,
            residents=people.residents,
            party_members=people.party_members,
            cadres=people.cadres,
            notices_published=notices.notices_published,
            notice_reach=notices.notice_reach,
            open_consultations=affairs.open_consultations,
            resolved_consultations=affairs.resolved_consultations,
            open_suggestions=affairs.open_suggestions,
            answered_suggestions=affairs.answered_suggestions,
            median_hours_to_first_answer=affairs.median_hours_to_first_answer,
            income=affairs.income,
            expense=affairs.expense,
            budget_income=affairs.budget_income,
            budget_expense=affairs.budget_expense,
            open_tasks=tasks.open_tasks,
            overdue_tasks=tasks.overdue_tasks,
            supervised_overdue_tasks=tasks.supervised_overdue_tasks,
            tasks_completed=tasks.tasks_completed,
            tasks_completed_on_time=tasks.tasks_completed_on_time,
            villages_out_of_compliance=tasks.villages_out_of_compliance,
            children=children,
            own=own,
            scope=scope,
        )


NO_FIGURES = DashboardFigures()


def _add_month(month: date, n: int = 1) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def series_months(since: datetime | None, until: datetime | None) -> tuple[date, date]:
    """First and last month of a series: the bounds given, else 12 months to this one."""
    last = (until or datetime.now(LOCAL_TIME)).astimezone(LOCAL_TIME).date().replace(day=1)
    first = since.astimezone(LOCAL_TIME).date().replace(day=1) if since else _add_month(last, -11)
    if first > last:
        raise BadUserInput("`from` must not be after `to`.", argument="from")
    if _add_month(first, MAX_SERIES_MONTHS) <= last:
        raise BadUserInput(f"A series covers at most {MAX_SERIES_MONTHS} months.", argument="from")
    return first, last


def months(first: date, last: date) -> list[date]:
    result = [first]
    while result[-1] < last:
        result.append(_add_month(result[-1]))
    return result


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
                if selection.name in ("children", "own"):
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
        if not await permits(info, Principal.can_read_subtree, code):
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
            Dashboard.build(
                OrgUnit.from_row(row),
                child_scope(scope, row.code),
                figures.get(row.code, NO_FIGURES),
                [],
            )
            for row in child_rows
        ]
        own = DashboardOwn.build(figures.get(code, NO_FIGURES))
        return Dashboard.build(root, scope, figures.get(None, NO_FIGURES), children, own)


def child_scope(parent: DashboardScope, code: int) -> DashboardScope:
    level = level_of(code)
    return DashboardScope(
        unit=code,
        lo=code,
        hi=subtree_end(code),
        child_divisor=child_divisor(level) if level is not Level.VILLAGE else None,
        since=parent.since,
        until=parent.until,
    )
