"""Passwords (argon2) and bearer tokens (JWT): turning a request into a session credential.

HS256 with a secret generated into VILLAGEGRAPH_HOME by default: the token carries the
account (`sub`) and the opaque database session it was issued for (`sid`, "<id>.<secret>"),
which `vg.begin_request` verifies inside PostgreSQL. RS256/ES256 with a configured public
key or a JWKS URL for an external identity provider, whose `sub` claim is the account id:
the login role opens a database session for that account (cached per token). The algorithm
is pinned by configuration, never taken from the token header, so an HS256 token "signed"
with a public key is refused.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from villagegraph.config import Settings

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verifying against this keeps an unknown phone as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("villagegraph-dummy-password")


@dataclass(frozen=True)
class Credential:
    """A verified bearer token: its account, and the database session to run under."""

    account_id: int
    token: str


class InvalidToken(Exception):
    """The bearer token cannot be trusted (expired, tampered, wrong algorithm, malformed)."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError, UnicodeEncodeError):  # \ud800 in JSON
        return False


class TokenService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._jwks = (
            jwt.PyJWKClient(settings.jwt_jwks_url, lifespan=300, timeout=5)
            if settings.jwt_jwks_url
            else None
        )
        self._secret: str | None = None
        # Set by the app: opens database sessions for external identity providers' tokens.
        self.login_pool: asyncpg.Pool | None = None
        self._external_sessions: dict[str, tuple[float, str]] = {}

    def _hs_secret(self) -> str:
        """The HS256 secret, read once (it was a file read on every request)."""
        if self._secret is None:
            self._secret = self.settings.signing_secret()
        return self._secret

    @property
    def fetches_keys(self) -> bool:
        """True when verifying may block on the network (JWKS): call it off the event loop."""
        return self._jwks is not None

    def _verification_key(self, token: str) -> Any:
        if self.settings.jwt_algorithm.startswith("HS"):
            return self._hs_secret()
        if self._jwks is not None:
            return self._jwks.get_signing_key_from_jwt(token).key
        if not self.settings.jwt_public_key:
            raise RuntimeError(
                f"{self.settings.jwt_algorithm} needs VILLAGEGRAPH_JWT_PUBLIC_KEY or _JWKS_URL"
            )
        return self.settings.jwt_public_key

    def issue(self, account_id: int, session: str) -> str:
        """A bearer token for `session` (the credential `vg.open_session` returned)."""
        return self.issue_with_expiry(account_id, session)[0]

    def issue_with_expiry(self, account_id: int, session: str) -> tuple[str, datetime]:
        """A bearer token for `session`, and when it expires (Settings.token_ttl_seconds)."""
        if not self.settings.jwt_algorithm.startswith("HS"):
            raise RuntimeError("tokens are issued by the external identity provider")
        now = int(time.time())
        claims = {
            "sub": str(account_id),
            "sid": session,
            "iss": self.settings.jwt_issuer,
            "iat": now,
            "exp": now + self.settings.token_ttl_seconds,
        }
        expires_at = datetime.fromtimestamp(now + self.settings.token_ttl_seconds, tz=UTC)
        return jwt.encode(claims, self._hs_secret(), algorithm="HS256"), expires_at

    async def credential_for_header(self, header: str) -> Credential:
        """The credential of an `Authorization: Bearer <JWT>` value; InvalidToken when it is
        not one. A JWKS fetch runs off the event loop."""
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise InvalidToken("not a bearer token")
        if self.fetches_keys:
            claims = await asyncio.to_thread(self.claims, token)
        else:
            claims = self.claims(token)
        account_id = self._account(claims)
        if self.settings.jwt_algorithm.startswith("HS"):
            session = claims.get("sid")
            if not isinstance(session, str):
                raise InvalidToken("the token names no session")
            return Credential(account_id, session)
        return Credential(account_id, await self._external_session(token, account_id, claims))

    async def _external_session(self, token: str, account_id: int, claims: dict[str, Any]) -> str:
        """A database session for an identity provider's token, opened once per token."""
        now = time.time()
        cached = self._external_sessions.get(token)
        if cached is not None and cached[0] > now:
            return cached[1]
        if self.login_pool is None:
            raise RuntimeError("external tokens need the login pool")
        lifetime = max(1, int(claims["exp"]) - int(now))
        session = await self.login_pool.fetchval(
            "select vg.open_session($1, make_interval(secs => $2))", account_id, float(lifetime)
        )
        if session is None:
            raise InvalidToken("the token names no account")
        if len(self._external_sessions) > 10_000:
            self._external_sessions = {
                k: v for k, v in self._external_sessions.items() if v[0] > now
            }
        self._external_sessions[token] = (float(claims["exp"]), session)
        return str(session)

    @staticmethod
    def _account(claims: dict[str, Any]) -> int:
        try:
            return int(claims["sub"])
        except (ValueError, TypeError) as error:
            raise InvalidToken(str(error)) from error

    def account_id(self, token: str) -> int:
        """The account a token names (its signature, expiry and issuer checked)."""
        return self._account(self.claims(token))

    def claims(self, token: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(
                token,
                self._verification_key(token),
                algorithms=[self.settings.jwt_algorithm],
                issuer=self.settings.jwt_issuer,
                audience=self.settings.jwt_audience,
                options={"require": ["sub", "exp", "iat"]},
            )
            return dict(claims)
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise InvalidToken(str(error)) from error
