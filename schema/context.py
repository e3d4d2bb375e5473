"""The per-request context every resolver receives. Who the caller is and what it may do
are asked through schema/guards.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
import strawberry
from starlette.requests import Request

from villagegraph.config import Settings
from villagegraph.subscriptions import NoticeHub
from villagegraph.tenants.auth import TokenService
from villagegraph.tenants.session import ScopedSession

L = TypeVar("L")


@dataclass
class Context:
    request: Request | Any
    response: Any
    db: ScopedSession
    settings: Settings
    tokens: TokenService
    request_id: str
    # What a subscription needs to open a session per event (schema/subscriptions.py);
    # None where no app runs (a schema executed directly, in tests).
    pool: asyncpg.Pool | None = None
    hub: NoticeHub | None = None
    # The peer address (proxy headers count only from configured proxies) and the
    # per-address bucket of login attempts (server/admission.py); none outside an app.
    client_address: str = "-"
    admit_login: Callable[[str], Awaitable[None]] | None = None
    _loaders: dict[type, Any] = field(default_factory=dict)

    def loader(self, loader_class: type[L]) -> L:
        """The request's instance of a DataLoader class, created on first use."""
        if loader_class not in self._loaders:
            self._loaders[loader_class] = loader_class(self.db)  # type: ignore[call-arg]
        return self._loaders[loader_class]  # type: ignore[no-any-return]

    def reset_loaders(self) -> None:
        """Forget cached loads: a subscription's next event reads in a new transaction."""
        self._loaders.clear()


@dataclass(kw_only=True)
class SocketContext(Context):
    """A websocket's context. Strawberry fills `connection_params` from connection_init;
    `admit_subscription(account, client, payload)` raises the refusal of a subscribe
    message the caller's limits do not allow."""

    admit_subscription: Callable[[int | None, str, dict[str, Any]], Awaitable[None]]
    connection_params: dict[str, Any] = field(default_factory=dict)


Info = strawberry.Info[Context, None]
