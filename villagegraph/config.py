"""Settings read from the environment, once, in one place.

Every other module receives a `Settings` object; nothing reads `os.environ` elsewhere.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str | None
    jwt_secret: str | None = None
    jwt_algorithm: str = "HS256"
    jwt_public_key: str | None = None
    jwt_issuer: str = "villagegraph"
    token_ttl_seconds: int = 7 * 24 * 3600
    max_depth: int = 12
    max_page_size: int = 100
    pool_min_size: int = 2
    pool_max_size: int = 10
    max_body_bytes: int = 1024 * 1024
    request_timeout_seconds: float = 30.0
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        home = Path(env.get("VILLAGEGRAPH_HOME", "./.villagegraph")).expanduser().resolve()
        return cls(
            home=home,
            database_url=env.get("VILLAGEGRAPH_DATABASE_URL") or None,
            jwt_secret=env.get("VILLAGEGRAPH_JWT_SECRET") or None,
            jwt_algorithm=env.get("VILLAGEGRAPH_JWT_ALGORITHM", "HS256"),
            jwt_public_key=env.get("VILLAGEGRAPH_JWT_PUBLIC_KEY") or None,
            token_ttl_seconds=int(env.get("VILLAGEGRAPH_TOKEN_TTL", 7 * 24 * 3600)),
            max_depth=int(env.get("VILLAGEGRAPH_MAX_DEPTH", 12)),
            pool_min_size=int(env.get("VILLAGEGRAPH_POOL_MIN", 2)),
            pool_max_size=int(env.get("VILLAGEGRAPH_POOL_MAX", 10)),
            max_body_bytes=int(env.get("VILLAGEGRAPH_MAX_BODY_BYTES", 1024 * 1024)),
            request_timeout_seconds=float(env.get("VILLAGEGRAPH_REQUEST_TIMEOUT", 30)),
        )

    def signing_secret(self) -> str:
        """The HS256 secret: configured, or generated once into VILLAGEGRAPH_HOME."""
        if self.jwt_secret:
            return self.jwt_secret
        self.home.mkdir(parents=True, exist_ok=True)
        path = self.home / "jwt-secret"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
