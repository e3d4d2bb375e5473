"""Analytics for ad hoc questions: grouped aggregates of a registered measure.

The AnalyticsMeasure enum is generated from resolvers/analytics.MEASURES, so a domain's
measure appears here (and in the SDL) without touching this module.
"""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, cast

import strawberry

from villagegraph.errors import BadUserInput
from villagegraph.resolvers.analytics import (
    MAX_GROUPS,
    MEASURES,
    AnalyticsRequest,
    MeasureGroup,
    measure_named,
    run_analytics,
)
from villagegraph.schema.context import Info
from villagegraph.schema.guards import authorize
from villagegraph.schema.hierarchy import OrgUnit, load_unit
from villagegraph.schema.inputs import division_code, period_bound
from villagegraph.tenants.hierarchy import subtree_end
from villagegraph.tenants.principal import Principal

_MEASURE_VALUES = cast(Any, Enum)("AnalyticsMeasure", {m.name: m.name for m in MEASURES})
AnalyticsMeasure: Any = strawberry.enum(
    _MEASURE_VALUES,
    description="What to count or sum. " + " ".join(f"{m.name}: {m.description}" for m in MEASURES),
)


@strawberry.enum(description="How to group: one tier at most, by month, by category.")
class AnalyticsDimension(Enum):
    COUNTY = "COUNTY"
    TOWN = "TOWN"
    VILLAGE = "VILLAGE"
    MONTH = "MONTH"
    CATEGORY = "CATEGORY"


TIERS = ("COUNTY", "TOWN", "VILLAGE")


@strawberry.type(description="One group: the keys asked for (others null) and its value.")
class AnalyticsGroup:
    unit_code: strawberry.ID | None
    month: str | None = strawberry.field(description="YYYY-MM, Asia/Shanghai time.")
    category: str | None
    value: Decimal = strawberry.field(
        description="The measure's value as a decimal string (sums of money keep their cents)."
    )
    count: int | None = strawberry.field(
        description="The value as an integer for counting measures (every measure but"
        " FINANCE_INCOME and FINANCE_EXPENSE); null for sums of money."
    )

    @strawberry.field(description="The tier unit of this group, when grouped by a tier.")
    async def unit(self, info: Info) -> OrgUnit | None:
        return None if self.unit_code is None else await load_unit(info, int(self.unit_code))


@strawberry.type
class AnalyticsResult:
    measure: AnalyticsMeasure  # type: ignore[valid-type]
    groups: list[AnalyticsGroup]
    truncated: bool = strawberry.field(description="More groups existed than `limit`.")


def _value(member: Any) -> str:
    return str(member.value)


def _group(row: MeasureGroup, integral: bool) -> AnalyticsGroup:
    value = Decimal(row.value)
    return AnalyticsGroup(
        unit_code=None if row.unit_code is None else strawberry.ID(str(row.unit_code)),
        month=row.month,
        category=row.category,
        value=value,
        count=int(value) if integral else None,
    )


@strawberry.type
class AnalyticsQuery:
    @strawberry.field(
        description="Grouped counts and sums of a measure over a subtree and a period, for"
        " officials and analysts (read-only, at most `limit` groups, time-bounded)."
    )
    async def analytics(
        self,
        info: Info,
        measure: AnalyticsMeasure,  # type: ignore[valid-type]
        unit: strawberry.ID,
        by: list[AnalyticsDimension],
        from_: Annotated[str | None, strawberry.argument(name="from")] = None,
        to: str | None = None,
        limit: int = 100,
    ) -> AnalyticsResult:
        code = division_code(unit)
        since = period_bound(from_, "from", end=False)
        until = period_bound(to, "to", end=True)
        if not 1 <= limit <= MAX_GROUPS:
            raise BadUserInput(f"`limit` must be between 1 and {MAX_GROUPS}.", argument="limit")
        tiers = [d.value for d in by if d.value in TIERS]
        if len(tiers) > 1 or len(set(by)) != len(by):
            raise BadUserInput("Group by one tier at most, each dimension once.", argument="by")
        await authorize(
            info,
            Principal.can_read_subtree,
            code,
            action="run analytics",
            refusal="Analytics are for officials and analysts over their own units.",
        )
        chosen = measure_named(_value(measure))
        request = AnalyticsRequest(
            measure=chosen,
            lo=code,
            hi=subtree_end(code),
            tier=tiers[0] if tiers else None,
            by_month=AnalyticsDimension.MONTH in by,
            by_category=AnalyticsDimension.CATEGORY in by,
            since=since,
            until=until,
            limit=limit,
        )
        rows, truncated = await run_analytics(
            info.context.db, request, info.context.settings.analyst_statement_timeout_ms
        )
        return AnalyticsResult(
            measure=measure,
            groups=[_group(row, chosen.integral) for row in rows],
            truncated=truncated,
        )
