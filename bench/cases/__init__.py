"""The benchmark cases: each a GraphQL request and its floor, in CASES.

A case is one operation as a client sends it (`graphql`), and the same result computed by
hand-written SQL under the same RLS context (`floor`: role vg_request, vg.begin_request
in a transaction, the statements a careful human would write). Both receive the
iteration number, so principals and pages rotate the same way.

Each domain keeps its cases in bench/cases/<domain>.py (`CASES`, maybe empty), and CASES
below joins them in the order of villagegraph/domains.DOMAINS. A case names the vg tables
it reads, `requires=("tasks",)`; a case whose tables are missing is reported as skipped. A case may also `check` its writes afterwards (the ballots: counts
exact), as the owner; the runner reports what the check found.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench.http import GraphQLConnection
from villagegraph.domains import DOMAINS
from villagegraph.tenants.auth import TokenService


@dataclass
class BenchEnv:
    """Who the benchmark acts as, and what each case prepared."""

    tokens: TokenService
    residents: list[tuple[int, int]]  # (account, household village)
    officials: dict[str, tuple[int, int]]  # level -> (account, unit)
    analyst: int
    city: int
    token_cache: dict[int, str] = field(default_factory=dict)
    # account -> database session (vg.open_session), opened by load_env for every account
    # the cases act as.
    sessions: dict[int, str] = field(default_factory=dict)
    # level -> officials of that level (units with villages), rotated by the dashboards
    official_pool: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    deep_cursors: dict[int, tuple[str, Any, int]] = field(default_factory=dict)
    prepared: dict[str, Any] = field(default_factory=dict)  # what a case's setup found

    def token(self, account: int) -> str:
        if account not in self.token_cache:
            self.token_cache[account] = self.tokens.issue(account, self.sessions[account])
        return self.token_cache[account]

    def resident(self, i: int) -> tuple[int, int]:
        return self.residents[i % len(self.residents)]

    def official(self, level: str, i: int) -> tuple[int, int]:
        """The i-th official of a level, rotating (the first when there is one)."""
        pool = self.official_pool.get(level) or [self.officials[level]]
        return pool[i % len(pool)]


@asynccontextmanager
async def as_account(
    pool: asyncpg.Pool, env: BenchEnv, account: int
) -> AsyncIterator[asyncpg.Connection]:
    """A request-role transaction with the account's RLS context, as the service opens it."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.fetchval("select vg.begin_request($1)", env.sessions[account])
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


def _domain_cases(domain: str) -> list[Case]:
    cases: list[Case] = importlib.import_module(f"bench.cases.{domain}").CASES
    return cases


CASES: list[Case] = [case for domain in DOMAINS for case in _domain_cases(domain.name)]
