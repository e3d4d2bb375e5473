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

from villagegraph.schema.errors import BadUserInput
from villagegraph.tenants.session import ScopedSession

_event_session: ContextVar[ScopedSession | None] = ContextVar("vg_event_session", default=None)


class SocketSession:
    """The `db` of a websocket's context: the current event's session, per task."""

    def __init__(self, account_id: int | None) -> None:
        self.account_id = account_id

    def __getattr__(self, name: str) -> Any:
        session = _event_session.get()
        if session is None:
            raise BadUserInput("This socket carries subscriptions; send queries over HTTP.")
        return getattr(session, name)

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
