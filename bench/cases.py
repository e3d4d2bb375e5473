"""The benchmark cases: each a GraphQL request and its floor, in CASES.

A case is one operation as a client sends it (`graphql`), and the same result computed by
hand-written SQL under the same RLS context (`floor`: role vg_request, vg.begin_request
in a transaction, the statements a careful human would write). Both receive the
iteration number, so principals and pages rotate the same way.

Domain cases plug in with one line each once their tables exist: append a Case to CASES
with `requires=("tasks",)` (the vg tables it reads); a case whose tables are missing is
reported as skipped. A case may also `check` its writes afterwards (the ballots: counts
exact), as the owner; the runner reports what the check found.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench.http import GraphQLConnection
from villagegraph.schema.notices import NOTICE_ORDER
from villagegraph.tenants.auth import TokenService
from villagegraph.tenants.hierarchy import ancestors_or_self, child_divisor, level_of, subtree_end

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
    prepared: dict[str, Any] = field(default_factory=dict)  # what a case's setup found

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
    check: Callable[[asyncpg.Connection, BenchEnv], Awaitable[str]] | None = None


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
            cursor = NOTICE_ORDER.cursor(row)
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
    from villagegraph.schema.inputs import period_bound

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
FLOOR_INSPECTION = """
insert into vg.inspections (village_code, account_id, inspector_name, subject, queried_unit,
                            search)
select v, $2, $3, $4, $5, $6 from unnest($1::bigint[]) v"""


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
        account, village = who(env, i)
        async with as_account(pool, account) as conn:
            rows = await conn.fetch(FLOOR_DRILLDOWN, village, TASKS_PAGE + 1)
            if not as_cadre and rows:
                await conn.execute(
                    FLOOR_INSPECTION,
                    [village],
                    account,
                    env.prepared["official_name"],
                    "TASKS",
                    village,
                    None,
                )
            return rows

    return Case(name, graphql, floor, setup=drilldown_setup, requires=("tasks",))


# --- the ledger: a keyword over a county ------------------------------------------------

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
    async with as_account(pool, account) as conn:
        rows = await conn.fetch(
            FLOOR_LEDGER, county, subtree_end(county), LEDGER_KEYWORD, FEED_PAGE + 1
        )
        villages = sorted({row["code"] for row in rows[:FEED_PAGE]})
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


# --- ballots cast at concurrency 10 -----------------------------------------------------

BALLOT_VILLAGES = 20
CAST_BALLOT = """mutation($c: ID!, $o: Int!) { castBallot(consultation: $c, option: $o) {
  id } }"""


async def ballot_setup(conn: asyncpg.Connection, env: BenchEnv) -> None:
    """Two consultations open now in each of 20 villages (one for the service, one for the
    floor) with every resident on the roll and an account per resident; voters interleave
    the villages, so concurrent ballots rarely share a village's audit chain."""
    villages = [
        row["code"]
        for row in await conn.fetch(
            """select code from vg.org_units where level = 'VILLAGE'
                order by (code % 1000003 * 2654435761) % 1000003, code limit $1""",
            BALLOT_VILLAGES,
        )
    ]
    async with conn.transaction():
        await conn.execute(
            """insert into vg.accounts (phone, password_hash, display_name, resident_village,
                                        resident_id)
               select '15' || lpad(r.id::text, 9, '0'),
                      (select password_hash from vg.accounts order by id limit 1), r.name,
                      r.village_code, r.id
                 from vg.residents r where r.village_code = any($1::bigint[])
               on conflict (phone) do nothing""",
            villages,
        )
        created = await conn.fetch(
            """insert into vg.consultations (village_code, title, description, options,
                   opens_at, closes_at, rule, eligibility)
               select v, 'bench ' || side, '基准测试投票', array['同意', '不同意', '弃权'],
                      now() - interval '1 minute', now() + interval '1 day',
                      'SIMPLE_MAJORITY', 'VILLAGERS'
                 from unnest($1::bigint[]) v, unnest(array['graphql', 'floor']) side
               returning village_code, id, title""",
            villages,
        )
        await conn.execute(
            """insert into vg.consultation_electors (village_code, consultation_id,
                   resident_village, resident_id, household)
               select c.village_code, c.id, r.village_code, r.id, r.household_no
                 from vg.consultations c
                 join vg.residents r on r.village_code = c.village_code
                where c.id = any($1::bigint[])""",
            [row["id"] for row in created],
        )
        voters = await conn.fetch(
            """select a.id, a.resident_village, a.resident_id from vg.accounts a
                where a.resident_village = any($1::bigint[]) and a.phone like '15%'
                order by row_number() over (partition by a.resident_village order by a.id),
                         a.resident_village""",
            villages,
        )
    for side in ("graphql", "floor"):
        consultation = {
            row["village_code"]: row["id"] for row in created if row["title"] == f"bench {side}"
        }
        queue = [
            (v["id"], v["resident_village"], v["resident_id"], consultation[v["resident_village"]])
            for v in voters
        ]
        env.prepared[f"ballots {side}"] = {
            "voters": iter(queue),
            "consultations": sorted(consultation.values()),
            "accepted": itertools.count(),
        }


def _next_voter(env: BenchEnv, side: str) -> tuple[int, int, int, int]:
    voters = env.prepared[f"ballots {side}"]["voters"]
    try:
        return next(voters)  # type: ignore[no-any-return]
    except StopIteration:
        raise RuntimeError(f"no voters left for the {side} ballots") from None


async def ballot_graphql(http: GraphQLConnection, env: BenchEnv, i: int) -> Any:
    account, _, _, consultation = _next_voter(env, "graphql")
    data = await http.post(CAST_BALLOT, {"c": str(consultation), "o": i % 3}, env.token(account))
    next(env.prepared["ballots graphql"]["accepted"])
    return data


async def ballot_floor(pool: asyncpg.Pool, env: BenchEnv, i: int) -> Any:
    account, village, resident, consultation = _next_voter(env, "floor")
    async with as_account(pool, account) as conn:
        await conn.execute(
            """insert into vg.ballots (village_code, consultation_id, resident_village,
                                       resident_id, option_index)
               values ($1, $2, $1, $3, $4)""",
            village,
            consultation,
            resident,
            i % 3,
        )
        await conn.execute(
            "select vg.record_audit('consultation.ballot', $1, 'consultation', $2, '{}')",
            village,
            str(consultation),
        )
    next(env.prepared["ballots floor"]["accepted"])


async def ballot_check(conn: asyncpg.Connection, env: BenchEnv) -> str:
    """Every accepted ballot is stored once, and nothing else is: exact counts per side."""
    found = []
    for side in ("graphql", "floor"):
        prepared = env.prepared[f"ballots {side}"]
        accepted = next(prepared["accepted"])
        stored = await conn.fetchval(
            """select count(*) from vg.ballots where consultation_id = any($1::bigint[])""",
            prepared["consultations"],
        )
        distinct = await conn.fetchval(
            """select count(distinct (resident_village, resident_id)) from vg.ballots
                where consultation_id = any($1::bigint[])""",
            prepared["consultations"],
        )
        if not stored == distinct == accepted:
            raise RuntimeError(f"{side}: {accepted} accepted, {stored} stored, {distinct} voters")
        found.append(f"{side} {stored} ballots = accepted")
    return "; ".join(found)


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
    async with as_account(pool, env.analyst) as conn:
        return await conn.fetch(FLOOR_ANALYTICS, env.city, subtree_end(env.city), since, until)


CASES: list[Case] = [
    Case("feed first page", feed_first_graphql, feed_first_floor),
    Case("feed deep page", feed_deep_graphql, feed_deep_floor, setup=deep_cursor_setup),
    dashboard_case("town dashboard", "TOWN"),
    dashboard_case("county dashboard", "COUNTY"),
    dashboard_case("city dashboard", "CITY"),
    Case("publish city notice", publish_graphql, publish_floor),
    Case("analyst grouped period", analyst_graphql, analyst_floor, heavy=True),
    drilldown_case("tasks drill-down (town)", as_cadre=False),
    drilldown_case("tasks drill-down (cadre)", as_cadre=True),
    Case(
        "ledger search county",
        ledger_graphql,
        ledger_floor,
        setup=ledger_setup,
        requires=("ledger_entries",),
    ),
    Case(
        "ballots cast",
        ballot_graphql,
        ballot_floor,
        setup=ballot_setup,
        requires=("ballots",),
        check=ballot_check,
    ),
    Case(
        "analytics finance by town",
        analytics_graphql,
        analytics_floor,
        requires=("finance_entries",),
    ),
]
