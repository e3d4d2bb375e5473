"""Dashboards: a unit's figures and one level of children, grouped in SQL on the hierarchy.

Each domain contributes a figure provider: one statement that groups its rows by child
unit (`code - code % divisor`) with a grand total for the unit itself (GROUPING SETS).
Flows (notices published, reach, money) respect the period; stocks (residents) do not.
Figures of a unit include what the unit itself published, so a parent's figure is the
sum of its children's plus its own-level rows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tenants.session import ScopedSession

Figures = dict[str, Any]


@dataclass(frozen=True)
class DashboardScope:
    unit: int
    lo: int
    hi: int
    child_divisor: int | None  # None for a village: no child units
    since: datetime | None
    until: datetime | None

    def child_key(self, column: str) -> str:
        """SQL mapping `column` to the child unit holding it (the unit itself for villages)."""
        if self.child_divisor is None:
            return f"{self.unit}::bigint"
        return f"({column} - {column} % {self.child_divisor})"


FigureProvider = Callable[[ScopedSession, DashboardScope], Awaitable[dict[int | None, Figures]]]


def split_totals(rows: list[Any], key: str = "child") -> dict[int | None, Figures]:
    """GROUPING SETS rows → {None: unit total, child code: figures}."""
    result: dict[int | None, Figures] = {}
    for row in rows:
        figures = {k: v for k, v in dict(row).items() if k not in (key, "is_total")}
        result[None if row["is_total"] else row[key]] = figures
    return result


async def people_figures(db: ScopedSession, scope: DashboardScope) -> dict[int | None, Figures]:
    rows = await db.fetch(
        f"""select {scope.child_key("village_code")} as child,
                   grouping({scope.child_key("village_code")}) = 1 as is_total,
                   count(*) as residents,
                   count(*) filter (where '党员' = any (tags)) as party_members
              from vg.residents
             where village_code between $1 and $2
             group by grouping sets ((), ({scope.child_key("village_code")}))""",
        scope.lo,
        scope.hi,
    )
    # Cadres: people holding a village committee or party branch position today (a person
    # holding two seats, 一肩挑, counts once), from the position register vg.cadres.
    cadres = await db.fetch(
        f"""select {scope.child_key("village_code")} as child,
                   grouping({scope.child_key("village_code")}) = 1 as is_total,
                   count(distinct (village_code, coalesce('resident ' || resident_id,
                                                          'account ' || account_id, name)))
                       as cadres
              from vg.cadres
             where village_code between $1 and $2
               and term_start <= current_date and (term_end is null or term_end > current_date)
             group by grouping sets ((), ({scope.child_key("village_code")}))""",
        scope.lo,
        scope.hi,
    )
    figures = split_totals(rows)
    for key, values in split_totals(cadres).items():
        figures.setdefault(key, {}).update(values)
    return figures


async def notice_figures(db: ScopedSession, scope: DashboardScope) -> dict[int | None, Figures]:
    published = await db.fetch(
        f"""select {scope.child_key("publisher_code")} as child,
                   grouping({scope.child_key("publisher_code")}) = 1 as is_total,
                   count(*) as notices_published
              from vg.notices
             where publisher_code between $1 and $2
               and ($3::timestamptz is null or published_at >= $3)
               and ($4::timestamptz is null or published_at <= $4)
             group by grouping sets ((), ({scope.child_key("publisher_code")}))""",
        scope.lo,
        scope.hi,
        scope.since,
        scope.until,
    )
    # Reach: distinct residents of the subtree who read any notice in the period.
    reach = await db.fetch(
        f"""select {scope.child_key("resident_village")} as child,
                   grouping({scope.child_key("resident_village")}) = 1 as is_total,
                   count(distinct (resident_village, resident_id)) as notice_reach
              from vg.notice_reads
             where resident_village between $1 and $2
               and ($3::timestamptz is null or read_at >= $3)
               and ($4::timestamptz is null or read_at <= $4)
             group by grouping sets ((), ({scope.child_key("resident_village")}))""",
        scope.lo,
        scope.hi,
        scope.since,
        scope.until,
    )
    figures = split_totals(published)
    for key, values in split_totals(reach).items():
        figures.setdefault(key, {}).update(values)
    return figures


async def affairs_figures(db: ScopedSession, scope: DashboardScope) -> dict[int | None, Figures]:
    """Consultations, suggestions and village finance (villagers-only affairs).

    Open consultations and suggestions are stocks; resolved consultations, answered
    suggestions, income and expense are flows in the period (by close, first answer, month).
    The median hours to a first answer is not additive, so it is computed per group.
    """
    consultations = await db.fetch(
        f"""select {scope.child_key("village_code")} as child,
                   grouping({scope.child_key("village_code")}) = 1 as is_total,
                   count(*) filter (where closed_at is null and now() >= opens_at)
                       as open_consultations,
                   count(*) filter (where closed_at is not null
                       and ($3::timestamptz is null or closed_at >= $3)
                       and ($4::timestamptz is null or closed_at <= $4)) as resolved_consultations
              from vg.consultations
             where village_code between $1 and $2
             group by grouping sets ((), ({scope.child_key("village_code")}))""",
        scope.lo,
        scope.hi,
        scope.since,
        scope.until,
    )
    suggestions = await db.fetch(
        f"""select {scope.child_key("village_code")} as child,
                   grouping({scope.child_key("village_code")}) = 1 as is_total,
                   count(*) filter (where status in ('SUBMITTED', 'ACKNOWLEDGED', 'IN_PROGRESS'))
                       as open_suggestions,
                   count(*) filter (where first_answered_at is not null
                       and ($3::timestamptz is null or first_answered_at >= $3)
                       and ($4::timestamptz is null or first_answered_at <= $4))
                       as answered_suggestions,
                   percentile_cont(0.5) within group (order by extract(epoch from
                       first_answered_at - submitted_at) / 3600)
                       filter (where first_answered_at is not null
                       and ($3::timestamptz is null or first_answered_at >= $3)
                       and ($4::timestamptz is null or first_answered_at <= $4))
                       as median_hours_to_first_answer
              from vg.suggestions
             where village_code between $1 and $2
             group by grouping sets ((), ({scope.child_key("village_code")}))""",
        scope.lo,
        scope.hi,
        scope.since,
        scope.until,
    )
    # Finance periods are months ('YYYY-MM'), compared with the period's months in local time.
    finance = await db.fetch(
        f"""select {scope.child_key("village_code")} as child,
                   grouping({scope.child_key("village_code")}) = 1 as is_total,
                   coalesce(sum(amount) filter (where direction = 'INCOME'), 0.00) as income,
                   coalesce(sum(amount) filter (where direction = 'EXPENSE'), 0.00) as expense
              from vg.finance_entries
             where village_code between $1 and $2
               and ($3::timestamptz is null
                    or period >= to_char($3::timestamptz at time zone 'Asia/Shanghai', 'YYYY-MM'))
               and ($4::timestamptz is null
                    or period <= to_char($4::timestamptz at time zone 'Asia/Shanghai', 'YYYY-MM'))
             group by grouping sets ((), ({scope.child_key("village_code")}))""",
        scope.lo,
        scope.hi,
        scope.since,
        scope.until,
    )
    figures = split_totals(consultations)
    for rows in (suggestions, finance):
        for key, values in split_totals(rows).items():
            figures.setdefault(key, {}).update(values)
    return figures


async def task_figures(db: ScopedSession, scope: DashboardScope) -> dict[int | None, Figures]:
    """待办/督办 by assignee unit: open and overdue now (stocks), completions in the period
    (flows), and villages with an unresolved disclosure-compliance task."""
    rows = await db.fetch(
        f"""select {scope.child_key("assignee_code")} as child,
                   grouping({scope.child_key("assignee_code")}) = 1 as is_total,
                   count(*) filter (where completed_at is null) as open_tasks,
                   count(*) filter (where completed_at is null and due_at <= now()) as overdue_tasks,
                   count(*) filter (where completed_at is not null
                                      and ($3::timestamptz is null or completed_at >= $3)
                                      and ($4::timestamptz is null or completed_at <= $4))
                       as tasks_completed,
                   count(*) filter (where completed_at is not null and completed_at <= due_at
                                      and ($3::timestamptz is null or completed_at >= $3)
                                      and ($4::timestamptz is null or completed_at <= $4))
                       as tasks_completed_on_time,
                   count(distinct assignee_code) filter (
                       where completed_at is null and source_key like 'disclosure:%')
                       as villages_out_of_compliance
              from vg.tasks
             where assignee_code between $1 and $2
             group by grouping sets ((), ({scope.child_key("assignee_code")}))""",
        scope.lo,
        scope.hi,
        scope.since,
        scope.until,
    )
    return split_totals(rows)


# Every domain's provider, in the order their figures were added.
PROVIDERS: list[FigureProvider] = [
    people_figures,
    notice_figures,
    affairs_figures,
    task_figures,
]


async def dashboard_figures(db: ScopedSession, scope: DashboardScope) -> dict[int | None, Figures]:
    figures: dict[int | None, Figures] = {}
    for provider in PROVIDERS:
        for key, values in (await provider(db, scope)).items():
            figures.setdefault(key, {}).update(values)
    return figures
