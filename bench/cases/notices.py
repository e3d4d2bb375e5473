"""Benchmark cases of notices: the resident feed (first and deep page), publishing."""

from __future__ import annotations

from typing import Any

import asyncpg

from bench.cases import BenchEnv, Case, as_account
from bench.http import GraphQLConnection
from bench.replay import replay
from villagegraph.models import from_record
from villagegraph.models.notices import Notice
from villagegraph.schema.notices import NOTICE_ORDER
from villagegraph.tenants.hierarchy import ancestors_or_self

FEED_PAGE = 20
DEEP_OFFSET = 200  # the deep page starts after the 200th notice (page 11)


# --- resident feed: the README's Feed query; the floor replays the service's statements --

FEED = """query Feed($after: String) {
  feed(first: 20, after: $after) {
    edges { node { id title board publishedAt publisher { name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
# Hand-written feed SQL: what the publishing case polls with.

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
    account, _ = env.resident(i)
    return await replay(pool, env, account, FEED, {})


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
            cursor = NOTICE_ORDER.cursor(from_record(Notice, row))
            env.deep_cursors[account] = (cursor, row["published_at"], row["id"])


async def feed_deep_graphql(http: GraphQLConnection, env: BenchEnv, i: int) -> Any:
    account, _ = env.resident(i)
    cursor, _, _ = env.deep_cursors[account]
    return await http.post(FEED, {"after": cursor}, env.token(account))


async def feed_deep_floor(pool: asyncpg.Pool, env: BenchEnv, i: int) -> Any:
    account, _ = env.resident(i)
    cursor, _, _ = env.deep_cursors[account]
    return await replay(pool, env, account, FEED, {"after": cursor})


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
    async with as_account(pool, env, account) as conn:
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
        async with as_account(pool, env, resident) as conn:
            rows = await conn.fetch(FLOOR_FEED, _publishers(village), None, None, 100)
        if any(row["id"] == notice for row in rows):
            return notice
    raise RuntimeError(f"notice {notice} never reached the feed")


CASES: list[Case] = [
    Case("feed first page", feed_first_graphql, feed_first_floor),
    Case("feed deep page", feed_deep_graphql, feed_deep_floor, setup=deep_cursor_setup),
    Case("publish city notice", publish_graphql, publish_floor),
]
