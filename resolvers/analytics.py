"""Ad hoc analytics: grouped counts and sums of a registered measure, in one SQL statement.

A measure is a SQL fragment over its own table: where the rows are (`source`), which column
holds the division code of the tenant (`tenant`), which the time (`time`, for MONTH and the
period; None for stocks such as residents), which the category (`category`), and the
aggregate (`value`). The query groups it by tier (the tenant code truncated to the county,
town or village), by month and by category, filtered to a subtree and a period. It runs
under the caller's RLS context like every query, so a measure can never widen what a
caller sees; it only reads, returns at most `limit` groups, and runs under a
statement_timeout. A domain adds its measure by appending one `Measure` to MEASURES below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from villagegraph.errors import BadUserInput, QueryTooComplex
from villagegraph.tenants.session import ScopedSession

MAX_GROUPS = 1000
TIME_ZONE = "Asia/Shanghai"  # months are the calendar months of the villages


@dataclass(frozen=True)
class Measure:
    name: str  # the AnalyticsMeasure enum value, UPPER_CASE
    description: str
    source: str  # FROM clause; tables are read under RLS
    tenant: str  # bigint division code column
    time: str | None  # timestamptz/date column; None: a stock, not filtered by period
    category: str | None  # text column; None: no CATEGORY grouping
    value: str = "count(*)"  # aggregate; must add up across groups for SUM-like measures


MEASURES: list[Measure] = [
    Measure(
        name="NOTICES",
        description="Notices published, by the publishing unit; category: board.",
        source="vg.notices n",
        tenant="n.publisher_code",
        time="n.published_at",
        category="n.board",
    ),
    Measure(
        name="NOTICE_READS",
        description="Read receipts, by the reader's village; category: the notice's board.",
        source="vg.notice_reads r join vg.notices n"
        " on n.publisher_code = r.notice_publisher and n.id = r.notice_id",
        tenant="r.resident_village",
        time="r.read_at",
        category="n.board",
    ),
    Measure(
        name="RESIDENTS",
        description="Registered residents, by household village; category: tag (a resident"
        " with several tags counts once in each, once in any total).",
        source="vg.residents p left join lateral unnest(p.tags) as t (tag) on true",
        tenant="p.village_code",
        time=None,
        category="t.tag",
        value="count(distinct p.id)",
    ),
    Measure(
        name="FINANCE_INCOME",
        description="Income booked (reversals net out), by village and period; category: the"
        " entry's category.",
        source="vg.finance_entries f",
        tenant="f.village_code",
        time="((f.period || '-01')::timestamp at time zone 'Asia/Shanghai')",
        category="f.category",
        value="coalesce(sum(f.amount) filter (where f.direction = 'INCOME'), 0)",
    ),
    Measure(
        name="FINANCE_EXPENSE",
        description="Expense booked (reversals net out), by village and period; category: the"
        " entry's category.",
        source="vg.finance_entries f",
        tenant="f.village_code",
        time="((f.period || '-01')::timestamp at time zone 'Asia/Shanghai')",
        category="f.category",
        value="coalesce(sum(f.amount) filter (where f.direction = 'EXPENSE'), 0)",
    ),
    Measure(
        name="CONSULTATIONS",
        description="Consultations (码上协商) by village, when voting opens; category: the rule.",
        source="vg.consultations c",
        tenant="c.village_code",
        time="c.opens_at",
        category="c.rule",
    ),
    Measure(
        name="BALLOTS",
        description="Ballots cast in closed consultations, by village and closing time;"
        " category: the rule. Open votes are secret until they close.",
        source="vg.consultations c",
        tenant="c.village_code",
        time="c.closed_at",
        category="c.rule",
        value="coalesce(sum(c.ballots_cast), 0)",
    ),
    Measure(
        name="TASKS",
        description="Tasks (待办/督办) by assignee unit, when assigned; category: supervised"
        " (督办) or not.",
        source="vg.tasks t",
        tenant="t.assignee_code",
        time="t.created_at",
        category="case when t.supervised then 'SUPERVISED' else 'ROUTINE' end",
    ),
    Measure(
        name="TASKS_COMPLETED_LATE",
        description="Tasks completed after their due date, by assignee unit and completion"
        " time; category: supervised or not.",
        source="vg.tasks t",
        tenant="t.assignee_code",
        time="t.completed_at",
        category="case when t.supervised then 'SUPERVISED' else 'ROUTINE' end",
        value="count(*) filter (where t.completed_at > t.due_at)",
    ),
    Measure(
        name="LEDGER_ENTRIES",
        description="Ledger entries (村情记录) by village and the day they record; category:"
        " the entry's category.",
        source="vg.ledger_entries l",
        tenant="l.village_code",
        time="(l.occurred_on::timestamp at time zone 'Asia/Shanghai')",
        category="l.category",
    ),
    Measure(
        name="SUGGESTIONS",
        description="Suggestions (提建议) by village, when submitted; category: status.",
        source="vg.suggestions s",
        tenant="s.village_code",
        time="s.submitted_at",
        category="s.status",
    ),
]


def measure_named(name: str) -> Measure:
    for measure in MEASURES:
        if measure.name == name:
            return measure
    raise BadUserInput(f"There is no measure {name}.", argument="measure")


# `code - code % divisor` is the unit of that tier holding `code` (tenants/hierarchy.py).
TIER_DIVISORS = {"COUNTY": 1_000_000, "TOWN": 1_000, "VILLAGE": 1}


@dataclass(frozen=True)
class AnalyticsRequest:
    measure: Measure
    lo: int
    hi: int
    tier: str | None  # COUNTY | TOWN | VILLAGE
    by_month: bool
    by_category: bool
    since: datetime | None
    until: datetime | None
    limit: int


def build_sql(request: AnalyticsRequest) -> tuple[str, list[Any]]:
    """The one statement of an analytics request and its arguments. Only registered
    fragments are interpolated, never client text."""
    m = request.measure
    args: list[Any] = [request.lo, request.hi]
    columns: list[str] = []
    if request.tier is not None:
        divisor = TIER_DIVISORS[request.tier]
        columns.append(f"({m.tenant} - {m.tenant} % {divisor}) as unit_code")
    if request.by_month:
        assert m.time is not None
        columns.append(
            f"to_char(date_trunc('month', {m.time} at time zone '{TIME_ZONE}'), 'YYYY-MM') as month"
        )
    if request.by_category:
        assert m.category is not None
        columns.append(f"{m.category} as category")
    where = f"{m.tenant} between $1 and $2"
    if m.time is not None and request.since is not None:
        args.append(request.since)
        where += f" and {m.time} >= ${len(args)}"
    if m.time is not None and request.until is not None:
        args.append(request.until)
        where += f" and {m.time} <= ${len(args)}"
    keys = ", ".join(str(i + 1) for i in range(len(columns)))
    select = ", ".join([*columns, f"{m.value} as value"])
    args.append(request.limit + 1)
    sql = f"select {select} from {m.source} where {where}"
    if keys:
        sql += f" group by {keys} order by {keys}"
    return sql + f" limit ${len(args)}", args


async def run_analytics(
    db: ScopedSession, request: AnalyticsRequest, timeout_ms: int
) -> tuple[list[Any], bool]:
    """The groups (at most `limit`) and whether more existed."""
    if request.by_month and request.measure.time is None:
        raise BadUserInput(f"{request.measure.name} is a stock; it has no months.", argument="by")
    if request.by_category and request.measure.category is None:
        raise BadUserInput(f"{request.measure.name} has no category.", argument="by")
    sql, args = build_sql(request)
    savepoint = await db.savepoint()
    try:
        async with savepoint:
            await db.execute(f"set local statement_timeout = {int(timeout_ms)}")
            rows = await db.fetch(sql, *args)
    except asyncpg.QueryCanceledError as error:
        raise QueryTooComplex(
            f"The analysis took longer than {timeout_ms} ms; narrow the unit, period or grouping.",
            limit="statementTimeout",
        ) from error
    return rows[: request.limit], len(rows) > request.limit
