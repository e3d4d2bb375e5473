"""Settings read from the environment, once, in one place.

Every other module receives a `Settings` object; nothing reads `os.environ` elsewhere.
"""

from __future__ import annotations

import json
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
    jwt_jwks_url: str | None = None
    jwt_issuer: str = "villagegraph"
    jwt_audience: str | None = None
    token_ttl_seconds: int = 7 * 24 * 3600
    max_depth: int = 12
    max_page_size: int = 100
    pool_min_size: int = 2
    pool_max_size: int = 10
    max_body_bytes: int = 1024 * 1024
    request_timeout_seconds: float = 30.0
    extra: dict[str, str] = field(default_factory=dict)
    # API protection (villagegraph/limits.py): per-role overrides of DEFAULT_LIMITS, e.g.
    # VILLAGEGRAPH_LIMITS='{"anonymous": {"rate_per_minute": 30}}'.
    limits: dict[str, dict[str, int]] = field(default_factory=dict)
    anonymous_introspection: bool = True
    analyst_statement_timeout_ms: int = 5000
    # Persisted documents (villagegraph/persisted.py): APQ, or only a trusted manifest.
    automatic_persisted_queries: bool = True
    trusted_documents: Path | None = None
    # The notification worker: default channel (log | wechat | sms | webhook) and where
    # each channel's HTTP API lives, so tests can point them at a local server.
    notify_channel: str = "log"
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = None
    wechat_template_id: str | None = None
    sms_gateway_url: str | None = None
    webhook_url: str | None = None
    outbox_max_attempts: int = 5
    outbox_backoff_seconds: float = 30.0
    outbox_lease_seconds: float = 60.0
    worker_interval_seconds: float = 30.0

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
            jwt_jwks_url=env.get("VILLAGEGRAPH_JWT_JWKS_URL") or None,
            jwt_issuer=env.get("VILLAGEGRAPH_JWT_ISSUER", "villagegraph"),
            jwt_audience=env.get("VILLAGEGRAPH_JWT_AUDIENCE") or None,
            token_ttl_seconds=int(env.get("VILLAGEGRAPH_TOKEN_TTL", 7 * 24 * 3600)),
            max_depth=int(env.get("VILLAGEGRAPH_MAX_DEPTH", 12)),
            pool_min_size=int(env.get("VILLAGEGRAPH_POOL_MIN", 2)),
            pool_max_size=int(env.get("VILLAGEGRAPH_POOL_MAX", 10)),
            limits=json.loads(env.get("VILLAGEGRAPH_LIMITS") or "{}"),
            anonymous_introspection=_flag(env.get("VILLAGEGRAPH_ANONYMOUS_INTROSPECTION", "1")),
            analyst_statement_timeout_ms=int(env.get("VILLAGEGRAPH_ANALYST_TIMEOUT_MS", 5000)),
            automatic_persisted_queries=_flag(env.get("VILLAGEGRAPH_APQ", "1")),
            trusted_documents=(
                Path(env["VILLAGEGRAPH_TRUSTED_DOCUMENTS"])
                if env.get("VILLAGEGRAPH_TRUSTED_DOCUMENTS")
                else None
            ),
            notify_channel=env.get("VILLAGEGRAPH_NOTIFY_CHANNEL", "log"),
            wechat_api_base=env.get("VILLAGEGRAPH_WECHAT_API_BASE", "https://api.weixin.qq.com"),
            wechat_app_id=env.get("VILLAGEGRAPH_WECHAT_APP_ID") or None,
            wechat_app_secret=env.get("VILLAGEGRAPH_WECHAT_APP_SECRET") or None,
            wechat_template_id=env.get("VILLAGEGRAPH_WECHAT_TEMPLATE_ID") or None,
            sms_gateway_url=env.get("VILLAGEGRAPH_SMS_GATEWAY_URL") or None,
            webhook_url=env.get("VILLAGEGRAPH_WEBHOOK_URL") or None,
            outbox_max_attempts=int(env.get("VILLAGEGRAPH_OUTBOX_MAX_ATTEMPTS", 5)),
            outbox_backoff_seconds=float(env.get("VILLAGEGRAPH_OUTBOX_BACKOFF_SECONDS", 30)),
            outbox_lease_seconds=float(env.get("VILLAGEGRAPH_OUTBOX_LEASE_SECONDS", 60)),
            worker_interval_seconds=float(env.get("VILLAGEGRAPH_WORKER_INTERVAL", 30)),
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


def _flag(value: str) -> bool:
    return value.strip().lower() not in ("", "0", "false", "no", "off")
