"""The benchmark cases: each a GraphQL request and its floor, in CASES.

A case is one operation as a client sends it (`graphql`), and the same result computed by
hand-written SQL under the same RLS context (`floor`: role vg_request, vg.begin_request
in a transaction, the statements a careful human would write). Both receive the
iteration number, so principals and pages rotate the same way.

Domain cases plug in with one line each once their tables exist: append a Case to CASES
with `requires=("tasks",)` (the vg tables it reads); a case whose tables are missing is
reported as skipped. Planned: village task drill-down (50 tasks with issuer and
assignee), ledger keyword search over a county, consultation ballots cast at
concurrency 10 (ballots/s with exact counts).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench.http import GraphQLConnection
from schema.pagination import encode_cursor
from tenants.auth import TokenService
from tenants.hierarchy import ancestors_or_self, child_divisor, level_of, subtree_end

FEED_PAGE = 20
DEEP_OFFSET = 200  # the deep page starts after the 200th notice (page 11)


@dataclass
class BenchEnv:
    """Who the benchmark acts as, and what each case prepared."""

    tokens: TokenService
    residents: list[tuple[int, int]]  # (account, household village)
    officials: dict[str, tuple[int, int]]  # level -> (account, unit)
    analyst: int
    city: int
    token_cache: dict[int, str] = field(default_factory=dict)
    deep_cursors: dict[int, tuple[str, Any, int]] = field(default_factory=dict)

    def token(self, account: int) -> str:
        if account not in self.token_cache:
            self.token_cache[account] = self.tokens.issue(account)
        return self.token_cache[account]

    def resident(self, i: int) -> tuple[int, int]:
        return self.residents[i % len(self.residents)]


@asynccontextmanager
async def as_account(pool: asyncpg.Pool, account: int) -> AsyncIterator[asyncpg.Connection]:
    """A request-role transaction with the account's RLS context, as the service opens it."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.fetchval("select vg.begin_request($1)", account)
        yield conn


GraphQLCall = Callable[[GraphQLConnection, BenchEnv, int], Awaitable[Any]]
FloorCall = Callable[[asyncpg.Pool, BenchEnv, int], Awaitable[Any]]


@dataclass(frozen=True)
class Case:
    name: str
    graphql: GraphQLCall
    floor: FloorCall
    setup: Callable[[asyncpg.Connection, BenchEnv], Awaitable[None]] | None = None
    requires: tuple[str, ...] = ()
    heavy: bool = False  # seconds per request: fewer iterations


# --- resident feed ---------------------------------------------------------------------

FEED = """query($after: String) { feed(first: 20, after: $after) {
  edges { node { id title board publishedAt publisher { code name } } }
  pageInfo { hasNextPage endCursor } } }"""

FLOOR_FEED = """
select n.id, n.title, n.board, n.published_at, o.code, o.name
  from unnest($1::bigint[]) as p (code)
  cross join lateral (
      select n.id, n.title, n.board, n.published_at, n.publisher_code from vg.notices n
       where n.publisher_code = p.code
         and ($2::timestamptz is null or (n.published_at, n.id) < ($2, $3))
       order by n.published_at desc, n.id desc limit $4) n
  join vg.org_units o on o.code = n.publisher_code
 order by n.published_at desc, n.id desc limit $4"""


def _publishers(village: int) -> list[int]:
    return ancestors_or_self(village)


async def feed_first_graphql(http: GraphQLConnection, env: BenchEnv, i: int) -> Any:
    account, _ = env.resident(i)
    return await http.post(FEED, {}, env.token(account))


async def feed_first_floor(pool: asyncpg.Pool, env: BenchEnv, i: int) -> Any:
    account, village = env.resident(i)
    async with as_account(pool, account) as conn:
        return await conn.fetch(FLOOR_FEED, _publishers(village), None, None, FEED_PAGE + 1)


async def deep_cursor_setup(conn: asyncpg.Connection, env: BenchEnv) -> None:
    for account, village in env.residents:
        row = await conn.fetchrow(
            """select published_at, id from vg.notices
                where publisher_code = any($1::bigint[])
                order by published_at desc, id desc offset $2 limit 1""",
            _publishers(village),
            DEEP_OFFSET - 1,
        )
        if row is not None:
            cursor = encode_cursor(row["published_at"].isoformat(), row["id"])
            env.deep_cursors[account] = (cursor, row["published_at"], row["id"])


async def feed_deep_graphql(http: GraphQLConnection, env: BenchEnv, i: int) -> Any:
    account, _ = env.resident(i)
    cursor, _, _ = env.deep_cursors[account]
    return await http.post(FEED, {"after": cursor}, env.token(account))


async def feed_deep_floor(pool: asyncpg.Pool, env: BenchEnv, i: int) -> Any:
    account, village = env.resident(i)
    _, at, notice = env.deep_cursors[account]
    async with as_account(pool, account) as conn:
        return await conn.fetch(FLOOR_FEED, _publishers(village), at, notice, FEED_PAGE + 1)


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
                   null::bigint as cadre, notices_published as published,
                   notice_readers as readers
              from vg.unit_figures where unit_code between $1 and $2
            union all
            select unit_code - unit_code % $3, 0, 0, account_id, 0, 0
              from vg.grants
             where unit_code between $1 and $2 and role = 'CADRE' and revoked_at is null) s
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
        async with as_account(pool, account) as conn:
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
    from schema.inputs import period_bound

    since = period_bound(ANALYST_FROM, "from", end=False)
    until = period_bound(ANALYST_TO, "to", end=True)
    async with as_account(pool, env.analyst) as conn:
        return await conn.fetch(FLOOR_ANALYST, env.city, subtree_end(env.city), since, until)


# --- publishing at city level: time until a resident's feed shows it ---------------------

PUBLISH = """mutation($u: ID!, $t: String!) { publishNotice(input: {
  unit: $u, board: NOTICE, title: $t, body: "全市通知", audience: PUBLIC }) { id } }"""
# Concurrent publishers push each other down the feed (now() is a transaction's start):
# look for it in the first 100, not at the top.
FEED_HEAD = "{ feed(first: 100) { edges { node { id } } } }"


async def publish_graphql(http: GraphQLConnection, env: BenchEnv, i: int) -> Any:
    account, unit = env.officials["CITY"]
    published = await http.post(PUBLISH, {"u": str(unit), "t": f"bench {i}"}, env.token(account))
    notice = published["publishNotice"]["id"]
    resident, _ = env.resident(i)
    for _ in range(1000):
        feed = await http.post(FEED_HEAD, {}, env.token(resident))
        if any(edge["node"]["id"] == notice for edge in feed["feed"]["edges"]):
            return notice
    raise RuntimeError(f"notice {notice} never reached the feed")


async def publish_floor(pool: asyncpg.Pool, env: BenchEnv, i: int) -> Any:
    account, unit = env.officials["CITY"]
    async with as_account(pool, account) as conn:
        notice = await conn.fetchval(
            """insert into vg.notices (publisher_code, board, title, body, audience, published_by)
               values ($1, 'NOTICE', $2, '全市通知', 'PUBLIC', $3) returning id""",
            unit,
            f"floor {i}",
            account,
        )
        await conn.execute(
            "select vg.record_audit('notice.publish', $1, 'notice', $2, '{}')", unit, str(notice)
        )
    resident, village = env.resident(i)
    for _ in range(1000):
        async with as_account(pool, resident) as conn:
            rows = await conn.fetch(FLOOR_FEED, _publishers(village), None, None, 100)
        if any(row["id"] == notice for row in rows):
            return notice
    raise RuntimeError(f"notice {notice} never reached the feed")


CASES: list[Case] = [
    Case("feed first page", feed_first_graphql, feed_first_floor),
    Case("feed deep page", feed_deep_graphql, feed_deep_floor, setup=deep_cursor_setup),
    dashboard_case("town dashboard", "TOWN"),
    dashboard_case("county dashboard", "COUNTY"),
    dashboard_case("city dashboard", "CITY"),
    Case("publish city notice", publish_graphql, publish_floor),
    Case("analyst grouped period", analyst_graphql, analyst_floor, heavy=True),
]
