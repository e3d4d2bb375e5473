"""Passwords (argon2) and bearer tokens (JWT): turning a request into an account id.

HS256 with a secret generated into VILLAGEGRAPH_HOME by default; RS256/ES256 with a
configured public key for an external identity provider. The algorithm is pinned by
configuration, never taken from the token header.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path

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
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _cached_secret(home: str, configured: str | None) -> str:
    return Settings(home=Path(home), database_url=None, jwt_secret=configured).signing_secret()


def _secret(settings: Settings) -> str:
    """The HS256 secret, read once per process (it was a file read per request)."""
    return _cached_secret(str(settings.home), settings.jwt_secret)


@dataclass(frozen=True)
class TokenService:
    settings: Settings

    def _verification_key(self) -> str:
        if self.settings.jwt_algorithm.startswith("HS"):
            return _secret(self.settings)
        if not self.settings.jwt_public_key:
            raise RuntimeError(f"{self.settings.jwt_algorithm} needs VILLAGEGRAPH_JWT_PUBLIC_KEY")
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
        return jwt.encode(claims, _secret(self.settings), algorithm="HS256")

    def account_id(self, token: str) -> int:
        try:
            claims = jwt.decode(
                token,
                self._verification_key(),
                algorithms=[self.settings.jwt_algorithm],
                issuer=self.settings.jwt_issuer,
                options={"require": ["sub", "exp", "iat"]},
            )
            return int(claims["sub"])
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise InvalidToken(str(error)) from error
