"""The opt-in PostGraphile 4 comparison (`python -m bench --postgraphile`): the feed.

bench/postgraphile/ pins PostGraphile 4.14.1 (package-lock.json; `npm ci` there once).
Its server.js runs over the same database as vg_request and calls vg.begin_request with
the resident's database session first in each request's transaction, so RLS decides
exactly as for villagegraph; see the comment at its top for why pgSettings alone cannot.
The case sends PostGraphile's own spelling of the feed (the resident's visible notices,
newest first, 20 with their publisher's name and pageInfo) and shares the feed's floor.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from bench.cases import BenchEnv, Case
from bench.cases.notices import feed_first_floor
from bench.http import GraphQLConnection

HERE = Path(__file__).resolve().parent / "postgraphile"
FEED = """query { allNotices(first: 20, orderBy: [PUBLISHED_AT_DESC, ID_DESC]) {
  nodes { id title board publishedAt orgUnitByPublisherCode { name } }
  pageInfo { hasNextPage endCursor } } }"""


def start(port: int, request_url: str) -> subprocess.Popen[bytes]:
    if not (HERE / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    env = {"PG_URL": request_url, "PATH": "/usr/bin:/bin:/usr/local/bin"}
    return subprocess.Popen(["node", "server.js", str(port)], cwd=HERE, env=env)


def feed_case(port: int) -> Case:
    connections: dict[int, GraphQLConnection] = {}

    async def graphql(http: GraphQLConnection, env: BenchEnv, i: int) -> Any:
        conn = connections.setdefault(id(http), GraphQLConnection("127.0.0.1", port))
        account, _ = env.resident(i)
        return await conn.post(FEED, {}, env.sessions[account])

    return Case("feed first page (PostGraphile)", graphql, feed_first_floor)
