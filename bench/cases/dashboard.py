"""Benchmark cases of dashboards: rollups per tier, and an ad hoc period."""

from __future__ import annotations

from typing import Any

import asyncpg

from bench.cases import BenchEnv, Case, as_account
from bench.http import GraphQLConnection
from villagegraph.tenants.hierarchy import child_divisor, level_of, subtree_end

# --- dashboards --------------------------------------------------------------------------

FIGURES = "residents partyMembers cadres noticesPublished noticeReach"
DASHBOARD = f"""query($u: ID!, $from: String, $to: String) {{
  dashboard(unit: $u, from: $from, to: $to) {{ unit {{ code name }} {FIGURES}
    children {{ unit {{ code name }} {FIGURES} }} }} }}"""

# One statement over the rollups: the unit's and its children's figures, children named.
FLOOR_DASHBOARD = """
with figures as (
    select child, grouping(child) = 1 as is_total, sum(residents) as residents,
           sum(party_members) as party_members, count(distinct cadre) as cadres,
           sum(published) as notices_published, sum(readers) as notice_reach
      from (select unit_code - unit_code % $3 as child, residents, party_members,
                   null::text as cadre, notices_published as published,
                   notice_readers as readers
              from vg.unit_figures where unit_code between $1 and $2
            union all
            select village_code - village_code % $3, 0, 0,
                   village_code || ':' || coalesce('resident ' || resident_id,
                                                   'account ' || account_id, name), 0, 0
              from vg.cadres
             where village_code between $1 and $2 and term_start <= current_date
               and (term_end is null or term_end > current_date)) s
     group by grouping sets ((), (child))
)
select u.code, u.name, f.* from vg.org_units u
  left join figures f on f.child = u.code and not f.is_total
 where u.parent_code = $1
union all
select u.code, u.name, f.* from vg.org_units u, figures f where u.code = $1 and f.is_total"""


def dashboard_case(name: str, level: str) -> Case:
    async def graphql(http: GraphQLConnection, env: BenchEnv, i: int) -> Any:
        account, unit = env.officials[level]
        return await http.post(DASHBOARD, {"u": str(unit)}, env.token(account))

    async def floor(pool: asyncpg.Pool, env: BenchEnv, i: int) -> Any:
        account, unit = env.officials[level]
        divisor = child_divisor(level_of(unit)) or 1
        async with as_account(pool, env, account) as conn:
            return await conn.fetch(FLOOR_DASHBOARD, unit, subtree_end(unit), divisor)

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
    dashboard_case("town dashboard", "TOWN"),
    dashboard_case("county dashboard", "COUNTY"),
    dashboard_case("city dashboard", "CITY"),
    Case("analyst grouped period", analyst_graphql, analyst_floor, heavy=True),
]
