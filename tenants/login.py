"""The login path: what the `vg_login` role may do, through its guarded functions only.

Looking up a phone's password hash, counting wrong passwords per phone in the database
(`vg.login_wait`, `vg.login_failed`, `vg.login_succeeded`: the counters hold across every
process of the service), opening, rotating and refreshing sessions with refresh tokens,
and one-time sign-in codes sent by SMS (`vg.issue_login_code`, `vg.redeem_login_code`).
It never runs on a request's connection and decides nothing about what a caller may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import asyncpg


@dataclass(frozen=True)
class SessionPair:
    """A session's credentials: the access secret the bearer token carries, and the
    refresh token that rotates it."""

    account_id: int
    session: str
    refresh: str


class LoginCredentials(NamedTuple):
    """What vg.login_lookup tells the login path about a phone."""

    account_id: int
    password_hash: str


class LoginPath:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def lookup(self, phone: str) -> LoginCredentials | None:
        """The account id and password hash of an enabled account with this phone."""
        row = await self.pool.fetchrow(
            "select account_id, password_hash from vg.login_lookup($1)", phone
        )
        return None if row is None else LoginCredentials(**row)

    async def wait(self, phone: str) -> int:
        """Seconds this phone must wait before a password is checked (0: go ahead)."""
        return int(await self.pool.fetchval("select vg.login_wait($1)", phone))

    async def failed(self, phone: str, address: str) -> int:
        """Count and audit a wrong password; the wait it imposes on the next attempt."""
        return int(await self.pool.fetchval("select vg.login_failed($1, $2)", phone, address))

    async def succeeded(self, phone: str) -> None:
        await self.pool.execute("select vg.login_succeeded($1)", phone)

    async def open(self, account_id: int, ttl_seconds: int) -> SessionPair | None:
        """A new session (a new family) for an account that proved who it is."""
        row = await self.pool.fetchrow(
            "select session, refresh from vg.open_refreshable_session($1, make_interval(secs => $2))",
            account_id,
            float(ttl_seconds),
        )
        if row is None or row["session"] is None:
            return None
        return SessionPair(account_id, row["session"], row["refresh"])

    async def refresh(self, refresh_token: str, ttl_seconds: int) -> SessionPair | None:
        """Rotate: the session this refresh token belongs to ends, its child begins. None
        for an unknown token, or a reused one (whose whole family the database ended)."""
        row = await self.pool.fetchrow(
            "select account_id, session, refresh"
            " from vg.refresh_session($1, make_interval(secs => $2))",
            refresh_token,
            float(ttl_seconds),
        )
        if row is None or row["session"] is None:
            return None
        return SessionPair(int(row["account_id"]), row["session"], row["refresh"])

    async def issue_code(self, phone: str, code_hash: bytes, code: str, ttl_seconds: int) -> bool:
        """Store a sign-in code's hash and queue the code to the phone by SMS; False when
        the phone asked too often (once a minute, five times an hour)."""
        outcome = await self.pool.fetchval(
            "select vg.issue_login_code($1, $2, $3, make_interval(secs => $4))",
            phone,
            code_hash,
            code,
            float(ttl_seconds),
        )
        return bool(outcome == "ISSUED")

    async def redeem_code(
        self, phone: str, code_hash: bytes, display_name: str
    ) -> tuple[int, bool] | None:
        """(account, created) when this is the phone's latest code, unused and unexpired;
        a wrong guess is counted (5 end the code)."""
        row = await self.pool.fetchrow(
            "select account_id, created from vg.redeem_login_code($1, $2, $3)",
            phone,
            code_hash,
            display_name,
        )
        if row is None or row["account_id"] is None:
            return None
        return int(row["account_id"]), bool(row["created"])
