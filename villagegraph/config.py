"""Settings read from the environment, once, in one place.

Every setting is declared once below: its field, its VILLAGEGRAPH_* variable, its cast and
its default. `Settings.from_env` reads them all through one strict reader (in the spirit
of Starlette's `Config`): a value that does not cast is refused with the variable's name,
and a flag accepts only true/1/false/0. Every other module receives a `Settings` object;
nothing reads `os.environ` elsewhere, and no other module writes a setting's default.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A VILLAGEGRAPH_* variable holds a value its setting cannot take."""


def flag(value: str) -> bool:
    """Only true/1/false/0 (any case): a typo must not silently mean 'on'."""
    flags = {"true": True, "1": True, "false": False, "0": False}
    if value.strip().lower() not in flags:
        raise ValueError(f"{value!r} is not one of true, 1, false, 0")
    return flags[value.strip().lower()]


def optional_text(value: str) -> str | None:
    return value or None


def optional_path(value: str) -> Path | None:
    return Path(value) if value else None


def home_path(value: str) -> Path:
    return Path(value).expanduser().resolve()


def json_object(value: str) -> dict[str, Any]:
    parsed = json.loads(value or "{}")
    if not isinstance(parsed, dict):
        raise ValueError("not a JSON object")
    return parsed


def setting(variable: str, default: T, cast: Callable[[str], Any] = str) -> T:
    """A field read from `variable` (cast by `cast`) and falling back to `default`."""
    metadata = {"variable": variable, "cast": cast}
    if isinstance(default, (dict, list)):
        return dataclasses.field(  # type: ignore[no-any-return]
            default_factory=lambda: type(default)(default), metadata=metadata
        )
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    home: Path = setting("VILLAGEGRAPH_HOME", Path("./.villagegraph"), home_path)
    database_url: str | None = setting("VILLAGEGRAPH_DATABASE_URL", None, optional_text)
    jwt_secret: str | None = setting("VILLAGEGRAPH_JWT_SECRET", None, optional_text)
    jwt_algorithm: str = setting("VILLAGEGRAPH_JWT_ALGORITHM", "HS256")
    jwt_public_key: str | None = setting("VILLAGEGRAPH_JWT_PUBLIC_KEY", None, optional_text)
    jwt_jwks_url: str | None = setting("VILLAGEGRAPH_JWT_JWKS_URL", None, optional_text)
    jwt_issuer: str = setting("VILLAGEGRAPH_JWT_ISSUER", "villagegraph")
    jwt_audience: str | None = setting("VILLAGEGRAPH_JWT_AUDIENCE", None, optional_text)
    # Access tokens are short-lived; the refresh token (rotated on use) keeps a login going.
    token_ttl_seconds: int = setting("VILLAGEGRAPH_TOKEN_TTL", 15 * 60, int)
    refresh_ttl_seconds: int = setting("VILLAGEGRAPH_REFRESH_TTL", 30 * 24 * 3600, int)
    max_depth: int = setting("VILLAGEGRAPH_MAX_DEPTH", 12, int)
    pool_min_size: int = setting("VILLAGEGRAPH_POOL_MIN", 2, int)
    pool_max_size: int = setting("VILLAGEGRAPH_POOL_MAX", 10, int)
    # HTTP limits (villagegraph/server/http_limits.py), before GraphQL parses anything.
    max_body_bytes: int = setting("VILLAGEGRAPH_MAX_BODY_BYTES", 1024 * 1024, int)
    request_timeout_seconds: float = setting("VILLAGEGRAPH_REQUEST_TIMEOUT", 30.0, float)
    # API protection (villagegraph/limits.py): per-role overrides of DEFAULT_LIMITS, e.g.
    # VILLAGEGRAPH_LIMITS='{"anonymous": {"rate_per_minute": 30}}'.
    limits: dict[str, dict[str, int]] = setting("VILLAGEGRAPH_LIMITS", {}, json_object)
    # Login attempts (login, refreshToken, changePassword) per client address and minute.
    login_attempts_per_minute: int = setting("VILLAGEGRAPH_LOGIN_ATTEMPTS_PER_MINUTE", 10, int)
    # The one schema-visibility switch: introspection, `_service { sdl }` and websockets.
    anonymous_introspection: bool = setting("VILLAGEGRAPH_ANONYMOUS_INTROSPECTION", True, flag)
    # The federation gateway's way to the SDL when the switch is off: `X-Gateway-Token`.
    gateway_token: str | None = setting("VILLAGEGRAPH_GATEWAY_TOKEN", None, optional_text)
    # The largest response body; a bigger result is replaced by QUERY_TOO_COMPLEX.
    max_response_bytes: int = setting("VILLAGEGRAPH_MAX_RESPONSE_BYTES", 8 * 1024 * 1024, int)
    # Proxy addresses whose X-Forwarded-For / X-Forwarded-Proto uvicorn trusts
    # (comma-separated, or *); empty: none, the peer address is the client's.
    forwarded_allow_ips: str = setting("VILLAGEGRAPH_FORWARDED_ALLOW_IPS", "")
    # /metrics: a bearer token it requires, and/or a separate address it is served on.
    metrics_token: str | None = setting("VILLAGEGRAPH_METRICS_TOKEN", None, optional_text)
    # Websockets: seconds to send connection_init; sockets per principal and per address.
    ws_init_timeout_seconds: float = setting("VILLAGEGRAPH_WS_INIT_TIMEOUT", 5.0, float)
    ws_max_sockets_per_principal: int = setting("VILLAGEGRAPH_WS_MAX_SOCKETS", 5, int)
    ws_max_sockets_per_address: int = setting("VILLAGEGRAPH_WS_MAX_SOCKETS_PER_ADDRESS", 20, int)
    analyst_statement_timeout_ms: int = setting("VILLAGEGRAPH_ANALYST_TIMEOUT_MS", 5000, int)
    # Garbage collection after start-up (server/app.py): freeze what start-up allocated
    # (schema, modules) so collections skip it, and collect the youngest generation every
    # this many allocations (Python's default 700; 0 leaves Python's settings alone).
    gc_threshold: int = setting("VILLAGEGRAPH_GC_THRESHOLD", 20_000, int)
    # Per-request log lines (the "operation" record): one in this many successful
    # operations is logged (1: all); refused or failed ones always are. Records are
    # written by a background thread (villagegraph/logs.py), not the event loop.
    request_log_sample: int = setting("VILLAGEGRAPH_REQUEST_LOG_SAMPLE", 1, int)
    # The read-side compiler (villagegraph/compiler.py): operations whose fields all have an
    # SQL form run as one statement; false runs everything on the general executor.
    compiled: bool = setting("VILLAGEGRAPH_COMPILED", True, flag)
    # Persisted documents (villagegraph/persisted.py): APQ, or only a trusted manifest.
    automatic_persisted_queries: bool = setting("VILLAGEGRAPH_APQ", True, flag)
    trusted_documents: Path | None = setting("VILLAGEGRAPH_TRUSTED_DOCUMENTS", None, optional_path)
    # The notification worker: `chain` sends each message through the recipient's channels
    # in order (WeChat, then SMS, or as the resident chose; `log` when neither is
    # configured); one name (log | wechat | sms | webhook) sends everything through it.
    # Where each channel's HTTP API lives is configurable, so tests use local servers.
    notify_channel: str = setting("VILLAGEGRAPH_NOTIFY_CHANNEL", "chain")
    wechat_api_base: str = setting("VILLAGEGRAPH_WECHAT_API_BASE", "https://api.weixin.qq.com")
    wechat_app_id: str | None = setting("VILLAGEGRAPH_WECHAT_APP_ID", None, optional_text)
    wechat_app_secret: str | None = setting("VILLAGEGRAPH_WECHAT_APP_SECRET", None, optional_text)
    wechat_template_id: str | None = setting("VILLAGEGRAPH_WECHAT_TEMPLATE_ID", None, optional_text)
    # template (公众号模板消息) or subscribe (订阅通知, /cgi-bin/message/subscribe/bizsend)
    wechat_message_api: str = setting("VILLAGEGRAPH_WECHAT_MESSAGE_API", "template")
    # Signs WeChat's event pushes (sha1 of token, timestamp, nonce) to /callbacks/wechat.
    wechat_callback_token: str | None = setting(
        "VILLAGEGRAPH_WECHAT_CALLBACK_TOKEN", None, optional_text
    )
    sms_gateway_url: str | None = setting("VILLAGEGRAPH_SMS_GATEWAY_URL", None, optional_text)
    sms_sign_name: str = setting("VILLAGEGRAPH_SMS_SIGN_NAME", "智慧村社通")
    sms_template_code: str = setting("VILLAGEGRAPH_SMS_TEMPLATE_CODE", "SMS_VILLAGEGRAPH")
    # HMAC-SHA256 key of the SMS status reports posted to /callbacks/sms (X-Signature).
    sms_callback_secret: str | None = setting(
        "VILLAGEGRAPH_SMS_CALLBACK_SECRET", None, optional_text
    )
    # Per channel: sends per second per worker, and sends per day (China Standard Time)
    # shared by every worker, e.g. '{"sms": 20}' and '{"sms": 50000, "wechat": 100000}'.
    channel_rates: dict[str, float] = setting("VILLAGEGRAPH_CHANNEL_RATES", {}, json_object)
    channel_daily_quotas: dict[str, int] = setting("VILLAGEGRAPH_CHANNEL_QUOTAS", {}, json_object)
    # Links in messages: <app_base_url>/<page>/<item id>.
    app_base_url: str = setting("VILLAGEGRAPH_APP_BASE_URL", "https://app.villagegraph.cn")
    # The fan-out of broadcasts: residents per batch (one transaction each).
    fanout_batch_size: int = setting("VILLAGEGRAPH_FANOUT_BATCH", 5000, int)
    # One-time sign-in codes: lifetime in seconds.
    login_code_ttl_seconds: int = setting("VILLAGEGRAPH_LOGIN_CODE_TTL", 600, int)
    webhook_url: str | None = setting("VILLAGEGRAPH_WEBHOOK_URL", None, optional_text)
    outbox_max_attempts: int = setting("VILLAGEGRAPH_OUTBOX_MAX_ATTEMPTS", 5, int)
    outbox_backoff_seconds: float = setting("VILLAGEGRAPH_OUTBOX_BACKOFF_SECONDS", 30.0, float)
    outbox_lease_seconds: float = setting("VILLAGEGRAPH_OUTBOX_LEASE_SECONDS", 60.0, float)
    worker_interval_seconds: float = setting("VILLAGEGRAPH_WORKER_INTERVAL", 30.0, float)
    # Passwords of the database's roles (villagegraph/roles.py); unset ones are generated
    # into VILLAGEGRAPH_HOME/secrets/.
    admin_password: str | None = setting("VILLAGEGRAPH_ADMIN_PASSWORD", None, optional_text)
    owner_password: str | None = setting("VILLAGEGRAPH_OWNER_PASSWORD", None, optional_text)
    request_password: str | None = setting("VILLAGEGRAPH_REQUEST_PASSWORD", None, optional_text)
    login_password: str | None = setting("VILLAGEGRAPH_LOGIN_PASSWORD", None, optional_text)
    worker_password: str | None = setting("VILLAGEGRAPH_WORKER_PASSWORD", None, optional_text)
    # Statistics disclosure control (issue 12): the smallest group a protected statistic
    # shows. `villagegraph migrate` writes it into vg.disclosure_settings, where the
    # database enforces it; it cannot go below 2.
    min_group_size: int = setting("VILLAGEGRAPH_MIN_GROUP_SIZE", 5, int)
    # `villagegraph serve` seeds the demo accounts (password `demo`) into an empty external
    # database only when asked: --demo or this flag.
    demo: bool = setting("VILLAGEGRAPH_DEMO", False, flag)
    # `villagegraph serve`'s defaults for --host and --port (not read from the environment).
    host: str = "127.0.0.1"
    port: int = 8000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every declared setting whose variable is set, cast; the rest keep their default."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for spec in dataclasses.fields(cls):
            variable = spec.metadata.get("variable")
            if variable is None or variable not in env:
                continue
            try:
                values[spec.name] = spec.metadata["cast"](env[variable])
            except ValueError as error:
                raise ConfigError(f"{variable}={env[variable]!r}: {error}") from error
        settings = cls(**values)
        if "home" not in values:  # the default home is relative to where we run
            settings = dataclasses.replace(settings, home=home_path(str(settings.home)))
        return settings

    @property
    def role_passwords(self) -> dict[str, str]:
        """The configured role passwords, by role (admin, owner, request, login, worker)."""
        configured = {
            "admin": self.admin_password,
            "owner": self.owner_password,
            "request": self.request_password,
            "login": self.login_password,
            "worker": self.worker_password,
        }
        return {role: password for role, password in configured.items() if password}

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
