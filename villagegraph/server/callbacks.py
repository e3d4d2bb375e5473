"""Delivery receipts the channels push back: /callbacks/wechat (WeChat's event push, XML,
signed with the configured token: sha1 of the sorted token, timestamp and nonce) and
/callbacks/sms (Aliyun-style SMS status reports, a JSON list, signed with HMAC-SHA256 of
the body in `X-Signature`). A receipt marks the delivery whose provider message id it
names (vg.record_receipt, on the login path: no request context exists here).

This module verifies signatures and parses; it must not decide anything about delivery
(the worker does) nor read any other data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import xml.etree.ElementTree as ET
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from villagegraph.server.state import AppState

log = logging.getLogger("villagegraph.callbacks")
MAX_CALLBACK_BYTES = 256 * 1024


def wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def sms_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def wechat_receipts(body: bytes) -> list[tuple[str, str]]:
    """(msgid, receipt) pairs of a TEMPLATESENDJOBFINISH or subscribe_msg_sent_event push."""
    root = ET.fromstring(body)  # noqa: S314 - signed by WeChat; no DTDs in the payload
    event = (root.findtext("Event") or "").strip()
    if event == "TEMPLATESENDJOBFINISH":
        status = (root.findtext("Status") or "").strip()
        receipt = "DELIVERED" if status == "success" else f"FAILED:{status}"
        return [((root.findtext("MsgID") or "").strip(), receipt)]
    if event == "subscribe_msg_sent_event":
        found = []
        for item in root.iter("List"):
            code = (item.findtext("ErrorCode") or "").strip()
            receipt = "DELIVERED" if code == "0" else f"FAILED:{item.findtext('ErrorStatus')}"
            found.append(((item.findtext("MsgID") or "").strip(), receipt))
        return found
    return []


def sms_receipts(reports: Any) -> list[tuple[str, str]]:
    """(BizId, receipt) pairs of Aliyun SmsReport entries: {biz_id, success, err_code}."""
    found = []
    for report in reports if isinstance(reports, list) else []:
        success = report.get("success") in (True, "true")
        receipt = "DELIVERED" if success else f"FAILED:{report.get('err_code')}"
        found.append((str(report.get("biz_id") or ""), receipt))
    return found


class Callbacks:
    def __init__(self, state: AppState) -> None:
        self.state = state

    async def _record(self, channel: str, receipts: list[tuple[str, str]]) -> int:
        matched = 0
        async with self.state.login().acquire() as conn:
            for msgid, receipt in receipts:
                if msgid:
                    matched += int(
                        await conn.fetchval(
                            "select vg.record_receipt($1, $2, $3)", channel, msgid, receipt
                        )
                    )
        return matched

    async def wechat(self, request: Request) -> Response:
        """WeChat's server check (GET echostr) and event pushes (POST XML)."""
        token = self.state.settings.wechat_callback_token
        q = request.query_params
        expected = wechat_signature(token or "", q.get("timestamp", ""), q.get("nonce", ""))
        if not token or not hmac.compare_digest(expected, q.get("signature", "")):
            return PlainTextResponse("bad signature", status_code=403)
        if request.method == "GET":
            return PlainTextResponse(q.get("echostr", ""))
        body = await request.body()
        if len(body) > MAX_CALLBACK_BYTES:
            return PlainTextResponse("too large", status_code=413)
        try:
            receipts = wechat_receipts(body)
        except ET.ParseError:
            return PlainTextResponse("bad xml", status_code=400)
        await self._record("wechat", receipts)
        return PlainTextResponse("success")  # what WeChat expects back

    async def sms(self, request: Request) -> Response:
        """SMS status reports; answers {"code": 0} as Aliyun's report push expects."""
        secret = self.state.settings.sms_callback_secret
        body = await request.body()
        if len(body) > MAX_CALLBACK_BYTES:
            return JSONResponse({"code": 413, "msg": "too large"}, status_code=413)
        signature = request.headers.get("X-Signature", "")
        if not secret or not hmac.compare_digest(sms_signature(secret, body), signature):
            return JSONResponse({"code": 403, "msg": "bad signature"}, status_code=403)
        try:
            reports = json.loads(body)
        except ValueError:
            return JSONResponse({"code": 400, "msg": "bad json"}, status_code=400)
        matched = await self._record("sms", sms_receipts(reports))
        return JSONResponse({"code": 0, "msg": "成功", "matched": matched})
