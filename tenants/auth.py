"""Passwords (argon2) and bearer tokens (JWT): turning a request into an account id.

HS256 with a secret generated into VILLAGEGRAPH_HOME by default; RS256/ES256 with a
configured public key or a JWKS URL for an external identity provider, whose `sub` claim
is the account id. The algorithm is pinned by configuration, never taken from the token
header, so an HS256 token "signed" with a public key is refused.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from villagegraph.config import Settings

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verifying against this keeps an unknown phone as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("villagegraph-dummy-password")


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

    def issue(self, account_id: int) -> str:
        if not self.settings.jwt_algorithm.startswith("HS"):
            raise RuntimeError("tokens are issued by the external identity provider")
        now = int(time.time())
        claims = {
            "sub": str(account_id),
            "iss": self.settings.jwt_issuer,
            "iat": now,
            "exp": now + self.settings.token_ttl_seconds,
        }
        return jwt.encode(claims, self._hs_secret(), algorithm="HS256")

    async def account_for_header(self, header: str) -> int:
        """The account named by an `Authorization: Bearer <JWT>` value; InvalidToken when
        it is not one. A JWKS fetch runs off the event loop."""
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise InvalidToken("not a bearer token")
        if self.fetches_keys:
            return await asyncio.to_thread(self.account_id, token)
        return self.account_id(token)

    def account_id(self, token: str) -> int:
        try:
            claims = jwt.decode(
                token,
                self._verification_key(token),
                algorithms=[self.settings.jwt_algorithm],
                issuer=self.settings.jwt_issuer,
                audience=self.settings.jwt_audience,
                options={"require": ["sub", "exp", "iat"]},
            )
            return int(claims["sub"])
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise InvalidToken(str(error)) from error
