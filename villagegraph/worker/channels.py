"""Channel adapters: how one outbox message reaches one person.

Each adapter sends a `Message` and either returns (delivered) or raises `DeliveryFailed`,
saying whether a retry can help. Every adapter hands the message's idempotency key to the
far side (WeChat `client_msg_id`, an `Idempotency-Key` header), because delivery is at
least once: a worker that dies after sending and before recording it sends again.
Adapters know nothing of the database; the outbox module decides retries and dead letters.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from villagegraph.config import Settings

log = logging.getLogger("villagegraph.worker.channels")

HTTP_TIMEOUT_SECONDS = 5.0
# The longest one send may take: WeChat's worst case is token, send, fresh token, send.
SEND_TIMEOUT_SECONDS = 4 * HTTP_TIMEOUT_SECONDS


@dataclass(frozen=True)
class Message:
    id: int
    kind: str
    tenant: int
    recipient_account: int | None
    address: str | None  # WeChat openid, phone number; None when the channel needs none
    payload: dict[str, Any]
    idempotency_key: str


class DeliveryFailed(Exception):
    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Channel(Protocol):
    name: str

    async def send(self, message: Message) -> None: ...


def summary(message: Message) -> str:
    """A one-line human text of a notification (SMS body, log line)."""
    payload = message.payload
    title = payload.get("title") or message.kind
    due = payload.get("due_at")
    return f"【智慧村社通】{title}" + (f"（截止 {str(due)[:16]}）" if due else "")


class LogChannel:
    """The embedded demo's default: writes the message to the log and succeeds."""

    name = "log"

    async def send(self, message: Message) -> None:
        log.info(
            "notify %s account=%s key=%s %s",
            message.kind,
            message.recipient_account,
            message.idempotency_key,
            summary(message),
        )


def _raise_for_http(response: httpx.Response, what: str) -> None:
    """2xx delivered; 408, 429 and 5xx may pass later; any other 4xx never will."""
    if response.is_success:
        return
    retryable = response.status_code in (408, 429) or response.status_code >= 500
    raise DeliveryFailed(f"{what} answered HTTP {response.status_code}", retryable=retryable)


class WebhookChannel:
    """POSTs the whole notification as JSON to a configured URL."""

    name = "webhook"

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http = http
        self.url = url

    async def send(self, message: Message) -> None:
        body = {
            "id": message.id,
            "kind": message.kind,
            "tenant": str(message.tenant),
            "recipient_account": message.recipient_account,
            "payload": message.payload,
            "idempotency_key": message.idempotency_key,
        }
        try:
            response = await self.http.post(
                self.url, json=body, headers={"Idempotency-Key": message.idempotency_key}
            )
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"webhook unreachable: {error!r}", retryable=True) from error
        _raise_for_http(response, "webhook")


class SmsChannel:
    """An HTTP SMS gateway: POST {phone, text, idempotency_key}."""

    name = "sms"

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http = http
        self.url = url

    async def send(self, message: Message) -> None:
        if not message.address:
            raise DeliveryFailed("the recipient has no phone number", retryable=False)
        body = {
            "phone": message.address,
            "text": summary(message),
            "idempotency_key": message.idempotency_key,
        }
        try:
            response = await self.http.post(
                self.url, json=body, headers={"Idempotency-Key": message.idempotency_key}
            )
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"SMS gateway unreachable: {error!r}", retryable=True) from error
        _raise_for_http(response, "SMS gateway")


# WeChat Official Account error codes (errcode) that decide what to do next.
WECHAT_TOKEN_INVALID = {40001, 40014, 42001}  # invalid or expired access_token: refresh
WECHAT_PERMANENT = {
    40003,  # invalid openid
    40036,  # invalid template_id size
    40037,  # invalid template_id
    43004,  # the user does not follow the account
    43101,  # the user refused to receive
    47003,  # template data does not match the template
}
TOKEN_MARGIN_SECONDS = 300  # refresh this long before WeChat says the token expires


class WeChatChannel:
    """公众号模板消息: access token from /cgi-bin/token, cached until shortly before it
    expires and refreshed at once when WeChat rejects it (40001/42001/40014); messages
    through /cgi-bin/message/template/send with `client_msg_id` as the idempotency key."""

    name = "wechat"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        app_id: str,
        app_secret: str,
        template_id: str,
        clock: Any = time.monotonic,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.template_id = template_id
        self.clock = clock
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    async def access_token(self, *, stale: str | None = None) -> str:
        """The cached token; a fresh one when it expired or when `stale` (the token WeChat
        just rejected) is still the cached one. Concurrent sends fetch it once."""
        async with self._token_lock:
            if self._token and self._token != stale and self.clock() < self._token_expires:
                return self._token
            return await self._fetch_token()

    async def _fetch_token(self) -> str:
        try:
            response = await self.http.get(
                f"{self.base_url}/cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": self.app_id,
                    "secret": self.app_secret,
                },
            )
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"WeChat token unreachable: {error!r}", retryable=True) from error
        _raise_for_http(response, "WeChat token endpoint")
        body = response.json()
        if "access_token" not in body:
            raise DeliveryFailed(
                f"WeChat token error {body.get('errcode')}: {body.get('errmsg')}", retryable=True
            )
        self._token = str(body["access_token"])
        self._token_expires = (
            self.clock() + int(body.get("expires_in", 7200)) - TOKEN_MARGIN_SECONDS
        )
        return self._token

    def template_body(self, message: Message) -> dict[str, Any]:
        payload = message.payload
        key = message.idempotency_key
        if len(key) > 64:
            key = hashlib.sha256(key.encode()).hexdigest()[:64]
        return {
            "touser": message.address,
            "template_id": self.template_id,
            "client_msg_id": key,
            "data": {
                "first": {"value": str(payload.get("title") or message.kind)},
                "keyword1": {"value": message.kind},
                "keyword2": {"value": str(payload.get("due_at") or "")[:16]},
                "remark": {"value": summary(message)},
            },
        }

    async def send(self, message: Message) -> None:
        if not message.address:
            raise DeliveryFailed("the recipient has no WeChat openid", retryable=False)
        body = self.template_body(message)
        rejected: str | None = None
        for attempt in range(2):
            token = await self.access_token(stale=rejected)
            try:
                response = await self.http.post(
                    f"{self.base_url}/cgi-bin/message/template/send",
                    params={"access_token": token},
                    json=body,
                )
            except httpx.HTTPError as error:
                raise DeliveryFailed(f"WeChat unreachable: {error!r}", retryable=True) from error
            _raise_for_http(response, "WeChat template/send")
            result = response.json()
            errcode = int(result.get("errcode", 0))
            if errcode == 0:
                return
            if errcode in WECHAT_TOKEN_INVALID and attempt == 0:
                rejected = token
                continue
            raise DeliveryFailed(
                f"WeChat error {errcode}: {result.get('errmsg')}",
                retryable=errcode not in WECHAT_PERMANENT,
            )


def build_channels(settings: Settings, http: httpx.AsyncClient) -> dict[str, Channel]:
    """The channels this worker can deliver through, by name (those configured)."""
    channels: dict[str, Channel] = {"log": LogChannel()}
    if settings.webhook_url:
        channels["webhook"] = WebhookChannel(http, settings.webhook_url)
    if settings.sms_gateway_url:
        channels["sms"] = SmsChannel(http, settings.sms_gateway_url)
    if settings.wechat_app_id and settings.wechat_app_secret and settings.wechat_template_id:
        channels["wechat"] = WeChatChannel(
            http,
            base_url=settings.wechat_api_base,
            app_id=settings.wechat_app_id,
            app_secret=settings.wechat_app_secret,
            template_id=settings.wechat_template_id,
        )
    return channels
