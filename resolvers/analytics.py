"""Ad hoc analytics: grouped counts and sums of a registered measure, in one SQL statement.

A measure is a SQL fragment over its own table: where the rows are (`source`), which column
holds the division code of the tenant (`tenant`), which the time (`time`, for MONTH and the
period; None for stocks such as residents), which the category (`category`), and the
aggregate (`value`). The query groups it by tier (the tenant code truncated to the county,
town or village), by month and by category, filtered to a subtree and a period. It runs
under the caller's RLS context like every query, so a measure can never widen what a
caller sees; it only reads, returns at most `limit` groups, and runs under a
statement_timeout. A domain declares its measures as `Measure` constants in its own resolvers
module and names them in villagegraph/domains.DOMAINS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

import asyncpg

from villagegraph.domains import parts
from villagegraph.errors import BadUserInput, QueryTooComplex
from villagegraph.resolvers.measure import Measure
from villagegraph.tenants.session import ScopedSession

MAX_GROUPS = 1000
TIME_ZONE = "Asia/Shanghai"  # months are the calendar months of the villages


# Every domain's measures (its `Measure` constants in resolvers/<domain>.py), in the order
# of villagegraph/domains.DOMAINS: the order of the AnalyticsMeasure enum.
MEASURES: tuple[Measure, ...] = tuple(parts("villagegraph.resolvers", "measures"))


def measure_named(name: str) -> Measure:
    for measure in MEASURES:
        if measure.name == name:
            return measure
    raise BadUserInput(f"There is no measure {name}.", argument="measure")


# `code - code % divisor` is the unit of that tier holding `code` (tenants/hierarchy.py).
TIER_DIVISORS = {"COUNTY": 1_000_000, "TOWN": 1_000, "VILLAGE": 1}


class MeasureGroup(NamedTuple):
    """One group of an answer: its keys (None where the request does not group by them)
    and the measure's value over it."""

    unit_code: int | None
    month: str | None  # 'YYYY-MM'
    category: str | None
    value: int | Decimal

    @classmethod
    def from_record(cls, record: asyncpg.Record) -> MeasureGroup:
        return cls(
            record.get("unit_code"), record.get("month"), record.get("category"), record["value"]
        )


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
) -> tuple[list[MeasureGroup], bool]:
    """The groups (at most `limit`) and whether more existed."""
    if request.by_month and request.measure.time is None:
        raise BadUserInput(f"{request.measure.name} is a stock; it has no months.", argument="by")
    if request.by_category and request.measure.category is None:
        raise BadUserInput(f"{request.measure.name} has no category.", argument="by")
    sql, args = build_sql(request)
    try:
        rows = await db.fetch_with_timeout(sql, args, timeout_ms)
    except asyncpg.QueryCanceledError as error:
        raise QueryTooComplex(
            f"The analysis took longer than {timeout_ms} ms; narrow the unit, period or grouping.",
            limit="statementTimeout",
        ) from error
    if request.measure.protected:
        rows = [row for row in rows if row["value"] is not None]
    groups = [MeasureGroup.from_record(row) for row in rows[: request.limit]]
    return groups, len(rows) > request.limit
