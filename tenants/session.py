"""The scoped database session: one transaction per GraphQL request, RLS context set once.

The connection is taken from the request pool (LOGIN role `vg_request`, no BYPASSRLS) on
the first statement; `vg.begin_request(session token)` verifies the caller's session in the
database, sets the signed context for the rest of the transaction and returns the facts
the Principal is built from. The login path (password hashes, new sessions) runs on the
`vg_login` pool, never on the request connection. Strawberry resolves
fields concurrently, so statements are serialised on the one connection. Every statement
is counted, which is how tests pin the number of queries an operation makes.
"""

from __future__ import annotations

import abc
import asyncio
import json
from typing import Any

import asyncpg

from villagegraph.tenants.auth import Credential
from villagegraph.tenants.login import LoginPath
from villagegraph.tenants.principal import Principal


class UnknownAccount(Exception):
    """The credential names no live session (expired, revoked, or its account is gone)."""


class ScopedSession(abc.ABC):
    """What resolvers may do with the caller's transaction. `RequestSession` is the one an
    HTTP request holds; a websocket's subscriptions hand each event its own
    (schema/subscriptions.py)."""

    @property
    @abc.abstractmethod
    def account_id(self) -> int | None: ...

    @abc.abstractmethod
    async def principal(self) -> Principal | None: ...

    @abc.abstractmethod
    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]: ...

    @abc.abstractmethod
    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None: ...

    @abc.abstractmethod
    async def fetchval(self, sql: str, *args: Any) -> Any: ...

    @abc.abstractmethod
    async def execute(self, sql: str, *args: Any) -> str: ...

    @abc.abstractmethod
    async def fetch_with_timeout(
        self, sql: str, args: Any, timeout_ms: int
    ) -> list[asyncpg.Record]:
        """`sql` in a savepoint under a statement timeout; a timeout ends only the savepoint."""

    @abc.abstractmethod
    async def audit(
        self,
        action: str,
        tenant: int | None,
        entity: str,
        entity_id: Any,
        detail: dict[str, Any] | None = None,
    ) -> None: ...

    @abc.abstractmethod
    def login_path(self) -> LoginPath: ...

    async def refresh(self) -> Principal | None:
        """Derive the caller's context again, in this transaction, after the request
        changed what it is derived from (an account bound to its resident record)."""
        raise NotImplementedError("this session cannot refresh its context")

    @abc.abstractmethod
    async def set_account(self, credential: Credential) -> Principal | None: ...

    @property
    @abc.abstractmethod
    def credential(self) -> Credential | None: ...

    @abc.abstractmethod
    async def close(self, commit: bool) -> None: ...


class RequestSession(ScopedSession):
    """One transaction on a `vg_request` connection, taken from the pool on first use."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        credential: Credential | None,
        login_pool: asyncpg.Pool | None = None,
    ) -> None:
        self._pool = pool
        self._login_pool = login_pool
        self._credential = credential
        self._conn: asyncpg.Connection | None = None
        self._transaction: Any = None
        self._lock = asyncio.Lock()
        self._principal: Principal | None = None
        self.statements = 0
        self.closed = False

    @property
    def account_id(self) -> int | None:
        return None if self._credential is None else self._credential.account_id

    @property
    def credential(self) -> Credential | None:
        """The verified bearer credential this request runs under (None: anonymous)."""
        return self._credential

    async def _start(self) -> asyncpg.Connection:
        if self.closed:
            raise RuntimeError("the request's session is already closed")
        if self._conn is not None and self._credential is not None and self._principal is None:
            # The session is gone: every field fails, not just the first.
            raise UnknownAccount(self._credential.account_id)
        if self._conn is None:
            conn = await self._pool.acquire()
            try:
                transaction = conn.transaction()
                await transaction.start()
                token = None if self._credential is None else self._credential.token
                facts = await conn.fetchval("select vg.begin_request($1)", token)
            except BaseException:
                # A connection that failed here may be half-broken (a restart, a killed
                # backend): never hand it to the next request.
                conn.terminate()
                await self._pool.release(conn)
                raise
            self._conn, self._transaction = conn, transaction
            self.statements += 1
            if self._credential is not None:
                principal = Principal.from_facts(json.loads(facts)) if facts else None
                if principal is None or principal.account_id != self._credential.account_id:
                    raise UnknownAccount(self._credential.account_id)
                self._principal = principal
        return self._conn

    async def principal(self) -> Principal | None:
        """The caller, or None when anonymous. Starts the session if needed."""
        if self._credential is None:
            return None
        async with self._lock:
            await self._start()
        return self._principal

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self._lock:
            conn = await self._start()
            self.statements += 1
            return await conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self._lock:
            conn = await self._start()
            self.statements += 1
            return await conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self._lock:
            conn = await self._start()
            self.statements += 1
            return await conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        async with self._lock:
            conn = await self._start()
            self.statements += 1
            return await conn.execute(sql, *args)

    async def fetch_with_timeout(
        self, sql: str, args: Any, timeout_ms: int
    ) -> list[asyncpg.Record]:
        """A nested transaction with its own statement timeout, for a statement that may
        fail without ending the request. The lock is held throughout: no other field's
        statement may run between the savepoint and its release."""
        async with self._lock:
            conn = await self._start()
            self.statements += 2
            async with conn.transaction():
                await conn.execute(f"set local statement_timeout = {int(timeout_ms)}")
                return await conn.fetch(sql, *args)

    async def audit(
        self,
        action: str,
        tenant: int | None,
        entity: str,
        entity_id: Any,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append the audit row of a mutation, in the mutation's own transaction."""
        await self.execute(
            "select vg.record_audit($1, $2, $3, $4, $5::jsonb)",
            action,
            tenant,
            entity,
            None if entity_id is None else str(entity_id),
            json.dumps(detail or {}, ensure_ascii=False, default=str),
        )

    def login_path(self) -> LoginPath:
        """The `vg_login` role's functions (passwords, failure counters, sessions)."""
        if self._login_pool is None:
            raise RuntimeError("this session has no login pool")
        return LoginPath(self._login_pool)

    async def refresh(self) -> Principal | None:
        if self._credential is None:
            return None
        return await self.set_account(self._credential)

    async def set_account(self, credential: Credential) -> Principal | None:
        """Switch this request's context to a session the login path just opened (login,
        refresh); `credential` is then that session's."""
        async with self._lock:
            conn = await self._start()
            self.statements += 1
            facts = await conn.fetchval("select vg.begin_request($1)", credential.token)
        self._credential = credential
        self._principal = Principal.from_facts(json.loads(facts)) if facts else None
        return self._principal

    async def close(self, commit: bool) -> None:
        """Commit or roll back, and return the connection to the pool. Idempotent."""
        if self.closed:
            return
        self.closed = True
        conn, transaction = self._conn, self._transaction
        self._conn = self._transaction = None
        if conn is None:
            return
        try:
            if commit:
                await transaction.commit()
            else:
                await transaction.rollback()
        except BaseException:
            conn.terminate()  # its state is unknown; the pool opens a fresh one
            raise
        finally:
            await self._pool.release(conn)


class WorkerStatements:
    """The worker's connection (owner role, no request context) in the shape the stores'
    writers need (`fetch`, `fetchval`, `audit`), for scans that reuse them, e.g.
    resolvers.tasks.assign; its audit rows are system rows: no actor."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self.conn.fetch(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.conn.fetchval(sql, *args)

    async def audit(
        self, action: str, tenant: int | None, entity: str, entity_id: Any, detail: Any = None
    ) -> None:
        await self.conn.execute(
            "select vg.record_audit($1, $2, $3, $4, $5::jsonb)",
            action,
            tenant,
            entity,
            str(entity_id),
            None if detail is None else json.dumps(detail, ensure_ascii=False, default=str),
        )
