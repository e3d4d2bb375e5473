"""Dashboards: a unit's figures and one level of children, grouped in SQL on the hierarchy.

Each domain contributes a figure provider: one statement that groups its rows by child
unit (`code - code % divisor`) with a grand total for the unit itself (GROUPING SETS).
Flows (notices published, reach, money) respect the period; stocks (residents) do not.
Figures of a unit include what the unit itself published, so a parent's figure is the
sum of its children's plus its own-level rows.

People and notice figures read the rollups of 0005_rollups (per unit, and per unit and
month, kept by triggers in the writing transaction): a city dashboard adds up a few
thousand rows instead of grouping millions. Periods that are not whole months (and
reach over more than one month, which does not add up across months) read the live
tables.
"""

from __future__ import annotations

import calendar
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time
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

    def months(self) -> tuple[date | None, date | None] | None:
        """The period as first and last local month, or None when it is not whole months."""
        first = last = None
        if self.since is not None:
            if self.since.day != 1 or self.since.time() != time.min:
                return None
            first = self.since.date()
        if self.until is not None:
            month_end = calendar.monthrange(self.until.year, self.until.month)[1]
            if self.until.day != month_end or self.until.time() != time.max:
                return None
            last = self.until.date().replace(day=1)
        return first, last

    def single_month(self) -> date | None:
        months = self.months()
        if months is None or months[0] is None or months[0] != months[1]:
            return None
        return months[0]


FigureProvider = Callable[[ScopedSession, DashboardScope], Awaitable[dict[int | None, Figures]]]


def split_totals(rows: list[Any], key: str = "child") -> dict[int | None, Figures]:
    """GROUPING SETS rows → {None: unit total, child code: figures}."""
    result: dict[int | None, Figures] = {}
    for row in rows:
        figures = {k: v for k, v in dict(row).items() if k not in (key, "is_total")}
        result[None if row["is_total"] else row[key]] = figures
    return result


async def people_figures(db: ScopedSession, scope: DashboardScope) -> dict[int | None, Figures]:
    child = scope.child_key("unit_code")
    rows = await db.fetch(
        f"""select {child} as child, grouping({child}) = 1 as is_total,
                   coalesce(sum(residents), 0)::bigint as residents,
                   coalesce(sum(party_members), 0)::bigint as party_members,
                   count(distinct cadre) as cadres
              from (select unit_code, residents, party_members, null::bigint as cadre
                      from vg.unit_figures where unit_code between $1 and $2
                    union all
                    select unit_code, 0, 0, account_id from vg.grants
                     where unit_code between $1 and $2 and role = 'CADRE' and revoked_at is null
                   ) as s
             group by grouping sets ((), ({child}))""",
        scope.lo,
        scope.hi,
    )
    return split_totals(rows)


ROLLED_UP_NOTICES = """
    coalesce(sum(published), 0)::bigint as notices_published,
    coalesce(sum(readers), 0)::bigint as notice_reach"""


async def notice_figures(db: ScopedSession, scope: DashboardScope) -> dict[int | None, Figures]:
    child = scope.child_key("unit_code")
    grouped = f"{child} as child, grouping({child}) = 1 as is_total, {ROLLED_UP_NOTICES}"
    month = scope.single_month()
    if scope.since is None and scope.until is None:
        rows = await db.fetch(
            f"""select {grouped}
                  from (select unit_code, notices_published as published,
                               notice_readers as readers
                          from vg.unit_figures where unit_code between $1 and $2) as s
                 group by grouping sets ((), ({child}))""",
            scope.lo,
            scope.hi,
        )
        return split_totals(rows)
    if month is not None:
        rows = await db.fetch(
            f"""select {grouped}
                  from (select unit_code, notices_published as published,
                               notice_readers as readers
                          from vg.unit_monthly_figures
                         where unit_code between $1 and $2 and month = $3) as s
                 group by grouping sets ((), ({child}))""",
            scope.lo,
            scope.hi,
            month,
        )
        return split_totals(rows)
    figures = split_totals(await _published(db, scope))
    for key, values in split_totals(await _live_reach(db, scope)).items():
        figures.setdefault(key, {}).update(values)
    return figures


async def _published(db: ScopedSession, scope: DashboardScope) -> list[Any]:
    child = scope.child_key("unit_code")
    months = scope.months()
    if months is not None:
        return await db.fetch(
            f"""select {child} as child, grouping({child}) = 1 as is_total,
                       coalesce(sum(notices_published), 0)::bigint as notices_published
                  from vg.unit_monthly_figures
                 where unit_code between $1 and $2
                   and ($3::date is null or month >= $3) and ($4::date is null or month <= $4)
                 group by grouping sets ((), ({child}))""",
            scope.lo,
            scope.hi,
            months[0],
            months[1],
        )
    child = scope.child_key("publisher_code")
    return await db.fetch(
        f"""select {child} as child, grouping({child}) = 1 as is_total,
                   count(*) as notices_published
              from vg.notices
             where publisher_code between $1 and $2
               and ($3::timestamptz is null or published_at >= $3)
               and ($4::timestamptz is null or published_at <= $4)
             group by grouping sets ((), ({child}))""",
        scope.lo,
        scope.hi,
        scope.since,
        scope.until,
    )


async def _live_reach(db: ScopedSession, scope: DashboardScope) -> list[Any]:
    """Distinct residents of the subtree who read any notice in the period."""
    child = scope.child_key("resident_village")
    return await db.fetch(
        f"""select {child} as child, grouping({child}) = 1 as is_total,
                   count(distinct (resident_village, resident_id)) as notice_reach
              from vg.notice_reads
             where resident_village between $1 and $2
               and ($3::timestamptz is null or read_at >= $3)
               and ($4::timestamptz is null or read_at <= $4)
             group by grouping sets ((), ({child}))""",
        scope.lo,
        scope.hi,
        scope.since,
        scope.until,
    )


# Every domain's provider, in the order their figures were added.
PROVIDERS: list[FigureProvider] = [people_figures, notice_figures]


async def dashboard_figures(db: ScopedSession, scope: DashboardScope) -> dict[int | None, Figures]:
    figures: dict[int | None, Figures] = {}
    for provider in PROVIDERS:
        for key, values in (await provider(db, scope)).items():
            figures.setdefault(key, {}).update(values)
    return figures
