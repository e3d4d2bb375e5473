"""Benchmark cases of the ledger: a keyword search over a county."""

from __future__ import annotations

from typing import Any

import asyncpg

from bench.cases import BenchEnv, Case, as_account
from bench.cases.inspections import FLOOR_INSPECTION
from bench.http import GraphQLConnection
from villagegraph.tenants.hierarchy import subtree_end

# --- the ledger: a keyword over a county ------------------------------------------------

LEDGER_PAGE = 20  # the search asks for first: 20
LEDGER_KEYWORD = "河道"  # two characters: the short-gram index, not the trigram one
# Under RLS the index conditions are applied inside vg.ledger_term_matches (migration
# 0011), as the service does; the careful human has no faster way past RLS.
LEDGER_SEARCH = """query($u: ID!, $q: String!) { ledger(unit: $u, search: $q, first: 20) {
  edges { node { id category occurredOn text village { code name } } }
  pageInfo { hasNextPage endCursor } } }"""

FLOOR_LEDGER = """
select e.id, e.category, e.occurred_on, e.text, o.code, o.name
  from (select e.*, (length(e.search_text) - length(replace(e.search_text, $3, '')))
                    / length($3) as relevance
          from vg.ledger_term_matches($1, $2, $3) m
          join vg.ledger_entries e on e.village_code = m.village_code and e.id = m.id
         order by relevance desc, e.occurred_on desc, e.id desc limit $4) e
  join vg.org_units o on o.code = e.village_code
 order by e.relevance desc, e.occurred_on desc, e.id desc"""


async def ledger_setup(conn: asyncpg.Connection, env: BenchEnv) -> None:
    account, _ = env.officials["COUNTY"]
    env.prepared["county_name"] = await conn.fetchval(
        "select display_name from vg.accounts where id = $1", account
    )


async def ledger_graphql(http: GraphQLConnection, env: BenchEnv, i: int) -> Any:
    account, county = env.officials["COUNTY"]
    data = await http.post(
        LEDGER_SEARCH, {"u": str(county), "q": LEDGER_KEYWORD}, env.token(account)
    )
    if not data["ledger"]["edges"]:
        raise RuntimeError(f"no ledger entry holds {LEDGER_KEYWORD}")
    return data


async def ledger_floor(pool: asyncpg.Pool, env: BenchEnv, i: int) -> Any:
    account, county = env.officials["COUNTY"]
    async with as_account(pool, env, account) as conn:
        rows = await conn.fetch(
            FLOOR_LEDGER, county, subtree_end(county), LEDGER_KEYWORD, LEDGER_PAGE + 1
        )
        villages = sorted({row["code"] for row in rows[:LEDGER_PAGE]})
        await conn.execute(
            FLOOR_INSPECTION,
            villages,
            account,
            env.prepared["county_name"],
            "LEDGER",
            county,
            LEDGER_KEYWORD,
        )
        return rows


CASES: list[Case] = [
    Case(
        "ledger search county",
        ledger_graphql,
        ledger_floor,
        setup=ledger_setup,
        requires=("ledger_entries",),
    ),
]
