"""Benchmark cases of tasks: a village's tasks drilled down by its town and its cadre."""

from __future__ import annotations

from typing import Any

import asyncpg

from bench.cases import BenchEnv, Case
from bench.http import GraphQLConnection
from bench.replay import replay

# --- a village's tasks, 50 with issuer and assignee ---------------------------------------

TASKS_PAGE = 50
DRILLDOWN = """query($u: ID!) { tasks(unit: $u, first: 50) {
  edges { node { id title dueAt status supervised completedAt
    issuer { code name } assignee { code name } } }
  pageInfo { hasNextPage endCursor } } }"""

FLOOR_DRILLDOWN = """
select t.id, t.title, t.due_at, t.supervised, t.completed_at,
       case when t.completed_at is not null then 'DONE'
            when t.due_at <= now() then 'OVERDUE' else 'OPEN' end as status,
       i.code, i.name, a.code, a.name
  from (select * from vg.tasks t where t.assignee_code between $1 and $1
         order by t.due_at, t.id limit $2) t
  join vg.org_units i on i.code = t.issuer_code
  join vg.org_units a on a.code = t.assignee_code
 order by t.due_at, t.id"""
# 远程验收: the service records an official's read of a village's tasks; so does the floor.


async def drilldown_setup(conn: asyncpg.Connection, env: BenchEnv) -> None:
    """The villages of the benchmark town with their cadre, and the town official's name."""
    official, town = env.officials["TOWN"]
    rows = await conn.fetch(
        """select u.code, g.account_id from vg.org_units u
             join vg.grants g on g.unit_code = u.code and g.role = 'CADRE'
            where u.parent_code = $1 order by u.code""",
        town,
    )
    env.prepared["villages"] = [(row["code"], row["account_id"]) for row in rows]
    env.prepared["official_name"] = await conn.fetchval(
        "select display_name from vg.accounts where id = $1", official
    )


def drilldown_case(name: str, as_cadre: bool) -> Case:
    def who(env: BenchEnv, i: int) -> tuple[int, int]:
        village, cadre = env.prepared["villages"][i % len(env.prepared["villages"])]
        return (cadre if as_cadre else env.officials["TOWN"][0]), village

    async def graphql(http: GraphQLConnection, env: BenchEnv, i: int) -> Any:
        account, village = who(env, i)
        return await http.post(DRILLDOWN, {"u": str(village)}, env.token(account))

    async def floor(pool: asyncpg.Pool, env: BenchEnv, i: int) -> Any:
        # The service's own statements, the inspection record of a town official included.
        account, village = who(env, i)
        return await replay(pool, env, account, DRILLDOWN, {"u": str(village)})

    return Case(name, graphql, floor, setup=drilldown_setup, requires=("tasks",))


CASES: list[Case] = [
    drilldown_case("tasks drill-down (town)", as_cadre=False),
    drilldown_case("tasks drill-down (cadre)", as_cadre=True),
]
