"""Dashboards: a unit's figures and one level of children, grouped in SQL on the hierarchy.

Each domain contributes a figure provider: one statement that groups its rows by child
unit (`code - code % divisor`) with a grand total for the unit itself (GROUPING SETS).
Flows (notices published, reach, money) respect the period; stocks (residents) do not.
Figures of a unit include what the unit itself published, so a parent's figure is the
sum of its children's plus its own-level rows; those own-level rows come back under the
unit's own code (`code - code % divisor` maps them to the unit itself), which is what
`Dashboard.own` shows.

People and notice figures read the rollups of 0005_rollups (per unit, and per unit and
month, kept by triggers in the writing transaction): a city dashboard adds up a few
thousand rows instead of grouping millions. Reach over several whole months, which does
not add up across months, reads vg.unit_reader_months (0023_period_rollups: residents
counted by the month they read in and the month they last read in before it), exactly.
Periods that are not whole months read the live tables.

Each statement's rows become a NamedTuple of its figures (`PeopleFigures`, ...), zero where a
unit has no rows; a unit's `DashboardFigures` holds one of each, so a figure renamed on
either side fails in mypy, not as a silent zero.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import partial
from typing import NamedTuple, TypeVar

from asyncpg import Record

from villagegraph.tenants.session import ScopedSession


class PeopleFigures(NamedTuple):
    """Stocks: registered residents, party members and cadres serving today."""

    residents: int = 0
    party_members: int = 0
    cadres: int = 0


class NoticeFigures(NamedTuple):
    """Notices published in the period, and distinct residents who read one (reach)."""

    notices_published: int = 0
    notice_reach: int = 0


class AffairsFigures(NamedTuple):
    """Consultations, suggestions and village finance (see affairs_figures)."""

    open_consultations: int = 0
    resolved_consultations: int = 0
    open_suggestions: int = 0
    answered_suggestions: int = 0
    median_hours_to_first_answer: float | None = None  # not additive: no zero
    income: Decimal = Decimal(0)
    expense: Decimal = Decimal(0)
    budget_income: Decimal = Decimal(0)
    budget_expense: Decimal = Decimal(0)


class TaskFigures(NamedTuple):
    """待办/督办 by assignee unit (see task_figures)."""

    open_tasks: int = 0
    overdue_tasks: int = 0
    supervised_overdue_tasks: int = 0
    tasks_completed: int = 0
    tasks_completed_on_time: int = 0
    villages_out_of_compliance: int = 0


class DashboardFigures(NamedTuple):
    """One unit's figures; the zeros of a domain whose figures were not asked for."""

    people: PeopleFigures = PeopleFigures()
    notices: NoticeFigures = NoticeFigures()
    affairs: AffairsFigures = AffairsFigures()
    tasks: TaskFigures = TaskFigures()


F = TypeVar("F", bound=tuple[object, ...])


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


def split_totals(rows: list[Record], figures: type[F]) -> dict[int | None, F]:
    """GROUPING SETS rows → {None: unit total, child code: figures}; the columns other than
    `child` and `is_total` are fields of `figures` (a NamedTuple), the others keep their zero."""
    if not rows:
        return {}
    names = tuple(name for name in rows[0].keys() if name != "child" and name != "is_total")
    if names == vars(figures)["_fields"]:  # every figure, in order: by position (faster)
        return {
            None if row["is_total"] else row["child"]: figures(*map(row.__getitem__, names))
            for row in rows
        }
    return {
        None if row["is_total"] else row["child"]: figures(**{name: row[name] for name in names})
        for row in rows
    }


async def people_figures(
    db: ScopedSession, scope: DashboardScope
) -> dict[int | None, PeopleFigures]:
    """Residents and party members from the rollups; cadres are the people holding a village
    committee or party branch seat today (vg.cadres; one person with two seats, 一肩挑,
    counts once)."""
    child = scope.child_key("unit_code")
    rows = await db.fetch(
        f"""select {child} as child, grouping({child}) = 1 as is_total,
                   coalesce(sum(residents), 0)::bigint as residents,
                   coalesce(sum(party_members), 0)::bigint as party_members,
                   count(distinct cadre) as cadres
              from (select unit_code, residents, party_members, null::text as cadre
                      from vg.unit_figures where unit_code between $1 and $2
                    union all
                    select village_code, 0, 0,
                           village_code || ':' || coalesce('resident ' || resident_id,
                                                           'account ' || account_id, name)
                      from vg.cadres
                     where village_code between $1 and $2
                       and term_start <= current_date
                       and (term_end is null or term_end > current_date)
                   ) as s
             group by grouping sets ((), ({child}))""",
        scope.lo,
        scope.hi,
    )
    return split_totals(rows, PeopleFigures)


ROLLED_UP_NOTICES = """
    coalesce(sum(published), 0)::bigint as notices_published,
    coalesce(sum(readers), 0)::bigint as notice_reach"""


async def notice_figures(
    db: ScopedSession, scope: DashboardScope
) -> dict[int | None, NoticeFigures]:
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
        return split_totals(rows, NoticeFigures)
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
        return split_totals(rows, NoticeFigures)
    published = await _published(db, scope)
    reach = await _rolled_up_reach(db, scope) if scope.months() else await _live_reach(db, scope)
    none = NoticeFigures()
    return {
        key: NoticeFigures(
            published.get(key, none).notices_published, reach.get(key, none).notice_reach
        )
        for key in published.keys() | reach.keys()
    }


async def _published(db: ScopedSession, scope: DashboardScope) -> dict[int | None, NoticeFigures]:
    """Notices published in the period (reach left at zero)."""
    child = scope.child_key("unit_code")
    months = scope.months()
    if months is not None:
        rows = await db.fetch(
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
        return split_totals(rows, NoticeFigures)
    child = scope.child_key("publisher_code")
    rows = await db.fetch(
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
    return split_totals(rows, NoticeFigures)


async def _rolled_up_reach(
    db: ScopedSession, scope: DashboardScope
) -> dict[int | None, NoticeFigures]:
    """Distinct readers over whole months from vg.unit_reader_months (0021): per unit, the
    residents who read in a month of the period after last reading before the period
    (previous month before `first`; an open start counts each resident's first month).
    The unit's own rows give its total, each child's rows its figure."""
    months = scope.months()
    assert months is not None
    first, last = months
    rows = await db.fetch(
        """select u.code as child, u.code = $1 as is_total,
                  coalesce(sum(f.readers), 0)::bigint as notice_reach
             from (select $1::bigint as code
                   union all
                   select code from vg.org_units where parent_code = $1 and $4) as u
             left join vg.unit_reader_months f
               on f.unit_code = u.code
              and f.month between coalesce($2::date, '-infinity') and coalesce($3::date, 'infinity')
              and (f.previous_month < coalesce($2::date, '-infinity')
                   or f.previous_month = '-infinity')
            group by u.code""",
        scope.unit,
        first,
        last,
        scope.child_divisor is not None,
    )
    figures = split_totals(rows, NoticeFigures)
    if scope.child_divisor is None:  # a village: its own figure is its total
        figures[scope.unit] = figures[None]
    return figures


async def _live_reach(db: ScopedSession, scope: DashboardScope) -> dict[int | None, NoticeFigures]:
    """Distinct residents of the subtree who read any notice in the period."""
    child = scope.child_key("resident_village")
    rows = await db.fetch(
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
    return split_totals(rows, NoticeFigures)


async def affairs_figures(
    db: ScopedSession, scope: DashboardScope
) -> dict[int | None, AffairsFigures]:
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
    finance = await _money(db, scope)
    return _affairs(
        split_totals(consultations, AffairsFigures),
        split_totals(suggestions, AffairsFigures),
        finance,
    )


async def _money(db: ScopedSession, scope: DashboardScope) -> dict[int | None, AffairsFigures]:
    """Village finance of affairs_figures: booked income and expense, and the budgets."""
    # Finance periods are months ('YYYY-MM'), compared with the period's months in local
    # time; booked entries only. Budgets (the latest revision of each line) of the years the
    # period touches (every year without one) ride in the same statement, for budget
    # against actual at every tier.
    child = scope.child_key("village_code")
    rows = await db.fetch(
        f"""with bounds as (
                select to_char($3::timestamptz at time zone 'Asia/Shanghai', 'YYYY-MM') as since,
                       to_char($4::timestamptz at time zone 'Asia/Shanghai', 'YYYY-MM') as until
            ), money as (
                select e.village_code, e.direction, e.amount, 0.00 as budget
                  from vg.finance_entries e, bounds
                 where e.village_code between $1 and $2 and e.status = 'BOOKED'
                   and (bounds.since is null or e.period >= bounds.since)
                   and (bounds.until is null or e.period <= bounds.until)
                union all
                select b.village_code, b.direction, 0.00, b.amount
                  from (select distinct on (village_code, year, direction, category)
                               village_code, year, direction, amount
                          from vg.finance_budgets
                         where village_code between $1 and $2
                         order by village_code, year, direction, category, id desc) b, bounds
                 where (bounds.since is null or b.year >= left(bounds.since, 4)::int)
                   and (bounds.until is null or b.year <= left(bounds.until, 4)::int)
            )
            select {child} as child, grouping({child}) = 1 as is_total,
                   coalesce(sum(amount) filter (where direction = 'INCOME'), 0.00) as income,
                   coalesce(sum(amount) filter (where direction = 'EXPENSE'), 0.00) as expense,
                   coalesce(sum(budget) filter (where direction = 'INCOME'), 0.00)
                       as budget_income,
                   coalesce(sum(budget) filter (where direction = 'EXPENSE'), 0.00)
                       as budget_expense
              from money
             group by grouping sets ((), ({child}))""",
        scope.lo,
        scope.hi,
        scope.since,
        scope.until,
    )
    return split_totals(rows, AffairsFigures)


def _affairs(
    votes: dict[int | None, AffairsFigures],
    answers: dict[int | None, AffairsFigures],
    money: dict[int | None, AffairsFigures],
) -> dict[int | None, AffairsFigures]:
    """Each unit's figures from the three statements' (each sets only its own fields)."""
    none = AffairsFigures()
    figures: dict[int | None, AffairsFigures] = {}
    for key in votes.keys() | answers.keys() | money.keys():
        v, a, m = votes.get(key, none), answers.get(key, none), money.get(key, none)
        figures[key] = AffairsFigures(
            v.open_consultations,
            v.resolved_consultations,
            a.open_suggestions,
            a.answered_suggestions,
            a.median_hours_to_first_answer,
            m.income,
            m.expense,
            m.budget_income,
            m.budget_expense,
        )
    return figures


async def task_figures(db: ScopedSession, scope: DashboardScope) -> dict[int | None, TaskFigures]:
    """待办/督办 by assignee unit: open and overdue now (stocks), completions in the period
    (flows), and villages with an unresolved disclosure-compliance task."""
    rows = await db.fetch(
        f"""select {scope.child_key("assignee_code")} as child,
                   grouping({scope.child_key("assignee_code")}) = 1 as is_total,
                   count(*) filter (where completed_at is null) as open_tasks,
                   count(*) filter (where completed_at is null and due_at <= now()) as overdue_tasks,
                   count(*) filter (where completed_at is null and due_at <= now() and supervised)
                       as supervised_overdue_tasks,
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
    return split_totals(rows, TaskFigures)


# The figures (Dashboard field names) each provider computes.
PEOPLE = frozenset(PeopleFigures._fields)
NOTICES = frozenset(NoticeFigures._fields)
AFFAIRS = frozenset(AffairsFigures._fields)
TASKS = frozenset(TaskFigures._fields)


async def dashboard_figures(
    db: ScopedSession, scope: DashboardScope, wanted: frozenset[str] | None = None
) -> dict[int | None, DashboardFigures]:
    """The figures of the unit (key None) and its children; only the providers of `wanted`
    figures run (all when None), so a screen showing two figures does not group every
    domain's rows."""

    def asked(figures: frozenset[str]) -> bool:
        return wanted is None or not figures.isdisjoint(wanted)

    people = await people_figures(db, scope) if asked(PEOPLE) else {}
    notices = await notice_figures(db, scope) if asked(NOTICES) else {}
    affairs = await affairs_figures(db, scope) if asked(AFFAIRS) else {}
    tasks = await task_figures(db, scope) if asked(TASKS) else {}
    none = DashboardFigures()
    return {
        key: DashboardFigures(
            people.get(key, none.people),
            notices.get(key, none.notices),
            affairs.get(key, none.affairs),
            tasks.get(key, none.tasks),
        )
        for key in people.keys() | notices.keys() | affairs.keys() | tasks.keys()
    }


# --- monthly series (charts) -------------------------------------------------------------

MAX_SERIES_MONTHS = 36


class MonthFigures(NamedTuple):
    """One local month of a subtree's flows (see monthly_figures); zero without rows."""

    notices_published: int = 0
    notice_reach: int = 0
    income: Decimal = Decimal(0)
    expense: Decimal = Decimal(0)
    tasks_assigned: int = 0
    tasks_completed: int = 0
    tasks_completed_on_time: int = 0
    resolved_consultations: int = 0
    answered_suggestions: int = 0


NO_MONTH = MonthFigures()


def _add_months(months: dict[date, MonthFigures], rows: list[Record]) -> None:
    """Each statement's columns (besides `month`) are fields of MonthFigures."""
    for row in rows:
        figures = {name: value for name, value in row.items() if name != "month"}
        months[row["month"]] = months.get(row["month"], NO_MONTH)._replace(**figures)


async def monthly_figures(
    db: ScopedSession, lo: int, hi: int, first: date, last: date
) -> dict[date, MonthFigures]:
    """Per local month from `first` to `last` (first days of months), the subtree's flows:
    notices published and reach from the monthly rollups (reach adds up across villages,
    each resident reading in one household village), booked finance by period, tasks by the month
    they were assigned and completed, consultations closed and suggestions first answered."""
    months: dict[date, MonthFigures] = {}
    merge = partial(_add_months, months)

    local_month = "date_trunc('month', {} at time zone 'Asia/Shanghai')::date"
    merge(
        await db.fetch(
            """select month, sum(notices_published)::bigint as notices_published,
                      sum(notice_readers)::bigint as notice_reach
                 from vg.unit_monthly_figures
                where unit_code between $1 and $2 and month between $3 and $4
                group by month""",
            lo,
            hi,
            first,
            last,
        )
    )
    merge(
        await db.fetch(
            """select to_date(period, 'YYYY-MM') as month,
                      coalesce(sum(amount) filter (where direction = 'INCOME'), 0.00) as income,
                      coalesce(sum(amount) filter (where direction = 'EXPENSE'), 0.00) as expense
                 from vg.finance_entries
                where village_code between $1 and $2 and status = 'BOOKED'
                  and period between to_char($3::date, 'YYYY-MM') and to_char($4::date, 'YYYY-MM')
                group by period""",
            lo,
            hi,
            first,
            last,
        )
    )
    bounds = "between $3::date and ($4::date + interval '1 month' - interval '1 microsecond')"
    for column, figures in (
        ("created_at", "count(*) as tasks_assigned"),
        (
            "completed_at",
            "count(*) as tasks_completed,"
            " count(*) filter (where completed_at <= due_at) as tasks_completed_on_time",
        ),
    ):
        month = local_month.format(column)
        merge(
            await db.fetch(
                f"""select {month} as month, {figures} from vg.tasks
                     where assignee_code between $1 and $2
                       and ({column} at time zone 'Asia/Shanghai') {bounds}
                     group by 1""",
                lo,
                hi,
                first,
                last,
            )
        )
    for table, column, name in (
        ("consultations", "closed_at", "resolved_consultations"),
        ("suggestions", "first_answered_at", "answered_suggestions"),
    ):
        month = local_month.format(column)
        merge(
            await db.fetch(
                f"""select {month} as month, count(*) as {name} from vg.{table}
                     where village_code between $1 and $2
                       and ({column} at time zone 'Asia/Shanghai') {bounds}
                     group by 1""",
                lo,
                hi,
                first,
                last,
            )
        )
    return months
