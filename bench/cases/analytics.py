"""Benchmark cases of analytics: an analyst's grouped question."""

from __future__ import annotations

from typing import Any

import asyncpg

from bench.cases import BenchEnv, Case, as_account
from bench.http import GraphQLConnection
from villagegraph.tenants.hierarchy import subtree_end

# --- analytics: an analyst's grouped question -------------------------------------------

ANALYTICS = """query($u: ID!, $from: String, $to: String) {
  analytics(measure: FINANCE_EXPENSE, unit: $u, by: [TOWN, MONTH], from: $from, to: $to,
            limit: 1000) { groups { unitCode month value } truncated } }"""
ANALYTICS_FROM, ANALYTICS_TO = "2025-11-01", "2026-10-31"

FLOOR_ANALYTICS = """
select f.village_code - f.village_code % 1000 as unit_code,
       to_char(date_trunc('month', p.at at time zone 'Asia/Shanghai'), 'YYYY-MM') as month,
       coalesce(sum(f.amount) filter (where f.direction = 'EXPENSE'), 0) as value
  from vg.finance_entries f
  cross join lateral (
      select (f.period || '-01')::timestamp at time zone 'Asia/Shanghai' as at) p
 where f.village_code between $1 and $2 and p.at >= $3 and p.at <= $4
 group by 1, 2 order by 1, 2 limit 1001"""


async def analytics_graphql(http: GraphQLConnection, env: BenchEnv, i: int) -> Any:
    variables = {"u": str(env.city), "from": ANALYTICS_FROM, "to": ANALYTICS_TO}
    return await http.post(ANALYTICS, variables, env.token(env.analyst))


async def analytics_floor(pool: asyncpg.Pool, env: BenchEnv, i: int) -> Any:
    from villagegraph.schema.inputs import period_bound

    since = period_bound(ANALYTICS_FROM, "from", end=False)
    until = period_bound(ANALYTICS_TO, "to", end=True)
    async with as_account(pool, env, env.analyst) as conn:
        return await conn.fetch(FLOOR_ANALYTICS, env.city, subtree_end(env.city), since, until)


CASES: list[Case] = [
    Case(
        "analytics finance by town",
        analytics_graphql,
        analytics_floor,
        requires=("finance_entries",),
    ),
]
