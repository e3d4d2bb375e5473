"""Channel adapters: how one outbox message reaches one person.

Each adapter sends a `Message` and either returns the far side's message id (delivered; a
receipt callback later names it) or raises `DeliveryFailed`, saying whether a retry on the
same channel can help, whether the channel refuses this recipient for good (the outbox
then falls back to the recipient's next channel), or whether the far side throttles us
(rate limit or daily quota: wait, no attempt counted). Every adapter hands the message's idempotency key to the
far side (WeChat `client_msg_id`, an `Idempotency-Key` header), because delivery is at
least once: a worker that dies after sending and before recording it sends again.
Adapters know nothing of the database; the outbox module decides retries, fallback and
dead letters. The words come from worker/messages.py, never from an adapter.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from villagegraph.config import Settings
from villagegraph.worker.messages import Text, render

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
    app_base_url: str = "https://app.villagegraph.cn"
    text: Text = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", render(self.kind, self.payload, self.app_base_url))


class DeliveryFailed(Exception):
    """`retryable`: the same channel may work later. `refused`: this channel will never
    reach this recipient (no address, the user refused): try the next channel.
    `throttled`: the far side limits our rate or quota: wait without counting an attempt."""

    def __init__(
        self, reason: str, *, retryable: bool, refused: bool = False, throttled: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.refused = refused
        self.throttled = throttled


class Channel(Protocol):
    name: str

    async def send(self, message: Message) -> str | None: ...


def summary(message: Message) -> str:
    """A one-line human text of a notification (SMS body, log line)."""
    return message.text.line()


class LogChannel:
    """The embedded demo's default: writes the message to the log and succeeds."""

    name = "log"

    async def send(self, message: Message) -> str | None:
        log.info(
            "notify %s account=%s address=%s key=%s %s",
            message.kind,
            message.recipient_account,
            message.address,
            message.idempotency_key,
            summary(message),
        )
        return None


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

    async def send(self, message: Message) -> str | None:
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
        return None


# Aliyun SendSms answers `Code`: these decide what happens next.
SMS_THROTTLED = {"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "isv.AMOUNT_NOT_ENOUGH"}
SMS_REFUSED = {
    "isv.MOBILE_NUMBER_ILLEGAL",  # not a phone number
    "isv.BLACK_KEY_CONTROL_LIMIT",  # the number is on the black list
    "isv.MOBILE_COUNT_OVER_LIMIT",
}
SMS_RETRYABLE = {"isp.SYSTEM_ERROR", "isp.GATEWAY_ERROR", "SignatureNonceUsed"}


class SmsChannel:
    """An SMS gateway speaking Aliyun's SendSms (dysmsapi 2017-05-25): POST PhoneNumbers,
    SignName, TemplateCode, TemplateParam (JSON) and OutId (our idempotency key); the answer
    is {Code, Message, BizId, RequestId}, Code "OK" when accepted. The status report comes
    later to /callbacks/sms, naming the BizId."""

    name = "sms"

    def __init__(
        self, http: httpx.AsyncClient, url: str, *, sign_name: str, template_code: str
    ) -> None:
        self.http = http
        self.url = url
        self.sign_name = sign_name
        self.template_code = template_code

    def request_body(self, message: Message) -> dict[str, str]:
        text = message.text
        params = {"kind": text.kind_words, "title": text.title[:20], "detail": text.detail[:35]}
        if text.link:
            params["link"] = text.link
        return {
            "Action": "SendSms",
            "Version": "2017-05-25",
            "PhoneNumbers": message.address or "",
            "SignName": self.sign_name,
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps(params, ensure_ascii=False),
            "OutId": message.idempotency_key[:64],
        }

    async def send(self, message: Message) -> str | None:
        if not message.address:
            raise DeliveryFailed("sms: no phone number", retryable=False, refused=True)
        try:
            response = await self.http.post(
                self.url,
                data=self.request_body(message),
                headers={"Idempotency-Key": message.idempotency_key},
            )
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"sms: gateway unreachable: {error!r}", retryable=True) from error
        _raise_for_http(response, "SMS gateway")
        answer = response.json()
        code = str(answer.get("Code"))
        if code == "OK":
            return str(answer.get("BizId") or "") or None
        reason = f"sms: {code} {answer.get('Message', '')}".strip()
        if code in SMS_THROTTLED:
            raise DeliveryFailed(reason, retryable=True, throttled=True)
        if code in SMS_REFUSED:
            raise DeliveryFailed(reason, retryable=False, refused=True)
        raise DeliveryFailed(reason, retryable=code in SMS_RETRYABLE)


# WeChat Official Account error codes (errcode) that decide what to do next.
WECHAT_TOKEN_INVALID = {40001, 40014, 42001}  # invalid or expired access_token: refresh
WECHAT_PERMANENT = {
    40036,  # invalid template_id size
    40037,  # invalid template_id
    47003,  # template data does not match the template
}
WECHAT_REFUSED = {
    40003,  # invalid openid
    43004,  # the user does not follow the account
    43101,  # the user refused to receive (or cancelled the subscription)
}
WECHAT_THROTTLED = {45009, 45047}  # API frequency limit; reached the daily/monthly limit
TOKEN_MARGIN_SECONDS = 300  # refresh this long before WeChat says the token expires


class WeChatChannel:
    """公众号模板消息 or 订阅通知: access token from /cgi-bin/token, cached until shortly
    before it expires and refreshed at once when WeChat rejects it (40001/42001/40014);
    messages through /cgi-bin/message/template/send (`client_msg_id` as the idempotency key,
    `msgid` in the answer) or /cgi-bin/message/subscribe/bizsend (`api="subscribe"`).
    43101 (the user refuses), 43004 and 40003 send the message to the next channel; 45009
    (frequency limit) waits."""

    name = "wechat"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        app_id: str,
        app_secret: str,
        template_id: str,
        api: str = "template",
        clock: Any = time.monotonic,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.template_id = template_id
        self.api = api
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
        text = message.text
        key = message.idempotency_key
        if len(key) > 64:
            key = hashlib.sha256(key.encode()).hexdigest()[:64]
        if self.api == "subscribe":
            body: dict[str, Any] = {
                "touser": message.address,
                "template_id": self.template_id,
                "data": {
                    "thing1": {"value": text.title[:20]},
                    "thing2": {"value": text.kind_words},
                    "thing3": {"value": (text.detail or text.kind_words)[:20]},
                },
            }
            if text.link:
                body["page"] = text.link
            return body
        body = {
            "touser": message.address,
            "template_id": self.template_id,
            "client_msg_id": key,
            "data": {
                "first": {"value": text.title},
                "keyword1": {"value": text.kind_words},
                "keyword2": {"value": text.detail},
                "remark": {"value": "点击查看详情" if text.link else ""},
            },
        }
        if text.link:
            body["url"] = text.link
        return body

    @property
    def path(self) -> str:
        if self.api == "subscribe":
            return "/cgi-bin/message/subscribe/bizsend"
        return "/cgi-bin/message/template/send"

    async def send(self, message: Message) -> str | None:
        if not message.address:
            raise DeliveryFailed("wechat: no openid bound", retryable=False, refused=True)
        body = self.template_body(message)
        rejected: str | None = None
        for attempt in range(2):
            token = await self.access_token(stale=rejected)
            try:
                response = await self.http.post(
                    f"{self.base_url}{self.path}", params={"access_token": token}, json=body
                )
            except httpx.HTTPError as error:
                raise DeliveryFailed(f"WeChat unreachable: {error!r}", retryable=True) from error
            _raise_for_http(response, f"WeChat {self.path}")
            result = response.json()
            errcode = int(result.get("errcode", 0))
            if errcode == 0:
                return str(result["msgid"]) if result.get("msgid") is not None else None
            if errcode in WECHAT_TOKEN_INVALID and attempt == 0:
                rejected = token
                continue
            reason = f"wechat: {errcode} {result.get('errmsg')}"
            if errcode in WECHAT_THROTTLED:
                raise DeliveryFailed(reason, retryable=True, throttled=True)
            if errcode in WECHAT_REFUSED:
                raise DeliveryFailed(reason, retryable=False, refused=True)
            raise DeliveryFailed(reason, retryable=errcode not in WECHAT_PERMANENT)
        raise AssertionError("unreachable")


async def exchange_oauth_code(
    http: httpx.AsyncClient, settings: Settings, code: str
) -> dict[str, Any]:
    """网页授权: a WeChat OAuth `code` → {openid, ...} via /sns/oauth2/access_token; raises
    ValueError with WeChat's errcode (40029 invalid code, 40163 code been used)."""
    if not (settings.wechat_app_id and settings.wechat_app_secret):
        raise ValueError("WeChat is not configured on this server")
    response = await http.get(
        f"{settings.wechat_api_base.rstrip('/')}/sns/oauth2/access_token",
        params={
            "appid": settings.wechat_app_id,
            "secret": settings.wechat_app_secret,
            "code": code,
            "grant_type": "authorization_code",
        },
    )
    answer = response.json() if response.is_success else {"errcode": response.status_code}
    if "openid" not in answer:
        raise ValueError(f"WeChat refused the code ({answer.get('errcode')})")
    return dict(answer)


def build_channels(settings: Settings, http: httpx.AsyncClient) -> dict[str, Channel]:
    """The channels this worker can deliver through, by name (those configured)."""
    channels: dict[str, Channel] = {"log": LogChannel()}
    if settings.webhook_url:
        channels["webhook"] = WebhookChannel(http, settings.webhook_url)
    if settings.sms_gateway_url:
        channels["sms"] = SmsChannel(
            http,
            settings.sms_gateway_url,
            sign_name=settings.sms_sign_name,
            template_code=settings.sms_template_code,
        )
    if settings.wechat_app_id and settings.wechat_app_secret and settings.wechat_template_id:
        channels["wechat"] = WeChatChannel(
            http,
            base_url=settings.wechat_api_base,
            app_id=settings.wechat_app_id,
            app_secret=settings.wechat_app_secret,
            template_id=settings.wechat_template_id,
            api=settings.wechat_message_api,
        )
    return channels
