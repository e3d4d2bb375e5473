"""Floors that are the statements the service actually runs: record, then replay.

`recorded_floor` runs a case's GraphQL document once per (account, variables) in process,
through the service's schema with a session that records every statement and its
arguments (rolled back: nothing persists), and from then on replays those statements on
a request-role connection after `vg.begin_request`, in one transaction, as the service
does. The floor is therefore the service's own SQL without the service's Python.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from bench.cases import BenchEnv, as_account
from villagegraph.schema import build_schema
from villagegraph.schema.context import Context
from villagegraph.tenants.auth import Credential
from villagegraph.tenants.session import RequestSession

Statement = tuple[str, str, tuple[Any, ...]]  # (method, sql, args)


class RecordingSession(RequestSession):
    """A request session that keeps (method, sql, args) of every statement it runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recorded: list[Statement] = []

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        self.recorded.append(("fetch", sql, args))
        return await super().fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        self.recorded.append(("fetchrow", sql, args))
        return await super().fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self.recorded.append(("fetchval", sql, args))
        return await super().fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        self.recorded.append(("execute", sql, args))
        return await super().execute(sql, *args)


_schema: Any = None


async def record(
    pool: asyncpg.Pool, env: BenchEnv, account: int, document: str, variables: dict[str, Any]
) -> list[Statement]:
    global _schema
    if _schema is None:
        _schema = build_schema()
    session = RecordingSession(pool, Credential(account, env.sessions[account]))
    context = Context(
        request=None,
        response=None,
        db=session,
        settings=env.prepared["settings"],
        tokens=env.tokens,
        request_id="bench-floor",
    )
    try:
        result = await _schema.execute(document, variable_values=variables, context_value=context)
    finally:
        await session.close(commit=False)
    if result.errors:
        raise RuntimeError(f"recording the floor failed: {result.errors}")
    return session.recorded


async def replay(
    pool: asyncpg.Pool, env: BenchEnv, account: int, document: str, variables: dict[str, Any]
) -> list[Any]:
    """The recorded statements of (account, document, variables), replayed in one request
    transaction (recorded on first use)."""
    cache: dict[Any, list[Statement]] = env.prepared.setdefault("recorded floors", {})
    key = (account, document, json.dumps(variables, sort_keys=True))
    if key not in cache:
        cache[key] = await record(pool, env, account, document, variables)
    results = []
    async with as_account(pool, env, account) as conn:
        for method, sql, args in cache[key]:
            results.append(await getattr(conn, method)(sql, *args))
    return results
