"""Benchmark cases of dashboards: the README's shape at every tier, without a period and
for its twelve months (both from rollups), rotating officials; and an analyst's ad hoc
period (not whole months: the live tables)."""

from __future__ import annotations

from typing import Any

import asyncpg

from bench.cases import BenchEnv, Case, as_account
from bench.http import GraphQLConnection
from villagegraph.tenants.hierarchy import child_divisor, level_of, subtree_end

# --- dashboards: the README's TownDashboard shape, per tier, with and without a period ---

DASHBOARD = """query TownDashboard($u: ID!, $from: String, $to: String) {
  dashboard(unit: $u, from: $from, to: $to) {
    unit { name level }
    residents partyMembers noticesPublished noticeReach
    children { unit { code name } residents noticeReach }
  }
}"""
WANTED = frozenset({"residents", "party_members", "notices_published", "notice_reach"})
PERIOD = ("2026-01", "2026-12")  # the README's period: twelve whole months

# The floor is the statements the service runs for this shape: the unit, its children,
# and the figure providers' statements (resolvers/dashboard.py), under the same context.
UNIT = "select code, name, level, parent_code from vg.org_units where code = $1"
CHILDREN = (
    "select code, name, level, parent_code from vg.org_units where parent_code = $1 order by code"
)


def dashboard_case(name: str, level: str, period: tuple[str, str] | None) -> Case:
    variables: dict[str, str] = {}
    if period is not None:
        variables = {"from": period[0], "to": period[1]}

    async def graphql(http: GraphQLConnection, env: BenchEnv, i: int) -> Any:
        account, unit = env.official(level, i)
        return await http.post(DASHBOARD, {"u": str(unit), **variables}, env.token(account))

    async def floor(pool: asyncpg.Pool, env: BenchEnv, i: int) -> Any:
        from villagegraph.resolvers.dashboard import DashboardScope, dashboard_figures
        from villagegraph.schema.inputs import period_bound
        from villagegraph.tenants.auth import Credential
        from villagegraph.tenants.session import RequestSession

        account, unit = env.official(level, i)
        scope = DashboardScope(
            unit=unit,
            lo=unit,
            hi=subtree_end(unit),
            child_divisor=child_divisor(level_of(unit)),
            since=period_bound(variables.get("from"), "from", end=False),
            until=period_bound(variables.get("to"), "to", end=True),
        )
        session = RequestSession(pool, Credential(account, env.sessions[account]))
        try:
            await session.fetchrow(UNIT, unit)
            await session.fetch(CHILDREN, unit)
            return await dashboard_figures(session, scope, WANTED)
        finally:
            await session.close(commit=True)

    return Case(name, graphql, floor)


# --- analyst: an ad hoc period, grouped over the live tables -----------------------------

ANALYST_FROM, ANALYST_TO = "2026-03-15", "2026-09-20"

FLOOR_ANALYST = """
select p.child, p.is_total, p.notices_published, r.notice_reach
  from (select publisher_code - publisher_code % 100000000 as child,
               grouping(publisher_code - publisher_code % 100000000) = 1 as is_total,
               count(*) as notices_published
          from vg.notices
         where publisher_code between $1 and $2 and published_at between $3 and $4
         group by grouping sets ((), (publisher_code - publisher_code % 100000000))) p
  full join (select resident_village - resident_village % 100000000 as child,
               grouping(resident_village - resident_village % 100000000) = 1 as is_total,
               count(distinct (resident_village, resident_id)) as notice_reach
          from vg.notice_reads
         where resident_village between $1 and $2 and read_at between $3 and $4
         group by grouping sets ((), (resident_village - resident_village % 100000000))) r
    on r.child is not distinct from p.child and r.is_total = p.is_total"""


async def analyst_graphql(http: GraphQLConnection, env: BenchEnv, i: int) -> Any:
    variables = {"u": str(env.city), "from": ANALYST_FROM, "to": ANALYST_TO}
    return await http.post(DASHBOARD, variables, env.token(env.analyst))


async def analyst_floor(pool: asyncpg.Pool, env: BenchEnv, i: int) -> Any:
    from villagegraph.schema.inputs import period_bound

    since = period_bound(ANALYST_FROM, "from", end=False)
    until = period_bound(ANALYST_TO, "to", end=True)
    async with as_account(pool, env, env.analyst) as conn:
        return await conn.fetch(FLOOR_ANALYST, env.city, subtree_end(env.city), since, until)


CASES: list[Case] = [
    *(
        dashboard_case(f"{level.lower()} dashboard{suffix}", level, period)
        for level in ("TOWN", "COUNTY", "CITY")
        for suffix, period in (("", None), (" 2026", PERIOD))
    ),
    Case("analyst grouped period", analyst_graphql, analyst_floor, heavy=True),
]
