"""The app's state, one typed object passed explicitly to whatever needs it.

The pool and the notice hub exist only while the app runs (its lifespan opens and closes
them); asking for them outside that is a programming error, reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from villagegraph.config import Settings
from villagegraph.database import Database
from villagegraph.metrics import Metrics
from villagegraph.subscriptions import NoticeHub
from villagegraph.tenants.auth import TokenService


@dataclass
class AppState:
    settings: Settings
    database: Database
    tokens: TokenService
    metrics: Metrics
    pool: asyncpg.Pool | None = None
    login_pool: asyncpg.Pool | None = None
    event_pool: asyncpg.Pool | None = None
    shared_pool: asyncpg.Pool | None = None
    hub: NoticeHub | None = None

    def request_pool(self) -> asyncpg.Pool:
        if self.pool is None:
            raise RuntimeError("the app has not started: no request pool yet")
        return self.pool

    def events(self) -> asyncpg.Pool:
        """Subscriptions' pool, apart from the requests' (database.create_event_pool)."""
        if self.event_pool is None:
            raise RuntimeError("the app has not started: no event pool yet")
        return self.event_pool

    def login(self) -> asyncpg.Pool:
        """The login path's pool (`vg_login`)."""
        if self.login_pool is None:
            raise RuntimeError("the app has not started: no login pool yet")
        return self.login_pool

    def shared(self) -> asyncpg.Pool:
        """The pool of the state every serving process shares (villagegraph/shared.py)."""
        if self.shared_pool is None:
            raise RuntimeError("the app has not started: no shared-state pool yet")
        return self.shared_pool

    def notice_hub(self) -> NoticeHub:
        if self.hub is None:
            raise RuntimeError("the app has not started: no notice hub yet")
        return self.hub
