"""Subscriptions over graphql-transport-ws: which transaction a socket's fields resolve in.

A domain's subscription (schema/notices.NoticeSubscription) opens, for each event, a short
transaction of its own under the subscriber's RLS context and sends only what it may read;
fields of the sent object resolve in that same transaction (`event_session`), which closes
before the next event. This module decides no visibility. A socket's context carries a SocketSession instead of a request session: it points, in
each subscription's own task, at the session of the event being sent, so several
subscriptions on one socket never share a transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg

from villagegraph.errors import BadUserInput
from villagegraph.tenants.auth import Credential
from villagegraph.tenants.login import LoginPath
from villagegraph.tenants.principal import Principal
from villagegraph.tenants.session import ScopedSession

_event_session: ContextVar[ScopedSession | None] = ContextVar("vg_event_session", default=None)


class SocketSession(ScopedSession):
    """The `db` of a websocket's context: the current event's session, per task."""

    def __init__(self, credential: Credential | None) -> None:
        self._credential = credential

    @property
    def account_id(self) -> int | None:
        return None if self._credential is None else self._credential.account_id

    @property
    def credential(self) -> Credential | None:
        return self._credential

    @staticmethod
    def _event() -> ScopedSession:
        session = _event_session.get()
        if session is None:
            raise BadUserInput("This socket carries subscriptions; send queries over HTTP.")
        return session

    async def principal(self) -> Principal | None:
        return await self._event().principal()

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self._event().fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self._event().fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._event().fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        return await self._event().execute(sql, *args)

    async def fetch_with_timeout(
        self, sql: str, args: Any, timeout_ms: int
    ) -> list[asyncpg.Record]:
        return await self._event().fetch_with_timeout(sql, args, timeout_ms)

    async def audit(
        self,
        action: str,
        tenant: int | None,
        entity: str,
        entity_id: Any,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await self._event().audit(action, tenant, entity, entity_id, detail)

    def login_path(self) -> LoginPath:
        return self._event().login_path()

    async def set_account(self, credential: Credential) -> Principal | None:
        return await self._event().set_account(credential)

    async def close(self, commit: bool) -> None:
        """Each event's session is closed by its subscription; nothing is left to end."""


@contextmanager
def event_session(session: ScopedSession) -> Iterator[None]:
    """Point the socket's `db` at `session` while one event is sent (fields resolve in it)."""
    token = _event_session.set(session)
    try:
        yield
    finally:
        _event_session.reset(token)
