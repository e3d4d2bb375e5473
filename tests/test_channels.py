"""Channels with fallback and receipts (issue 14), against a local fake of WeChat and of an
Aliyun-style SMS gateway (tests/test_worker.py's `remote`, on 127.0.0.1): each recipient's
channels in order, 43101/no openid falling back to SMS, 45009 and BUSINESS_LIMIT_CONTROL
waiting without an attempt, daily quotas, quiet hours (urgent ignores them), DEAD with
every channel's reason, and signed receipt callbacks."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx

from tests.demo import VILLAGE_CADRE
from tests.test_worker import worker_settings
from villagegraph.server import create_app
from villagegraph.server.callbacks import wechat_signature
from villagegraph.worker.channels import build_channels
from villagegraph.worker.outbox import deliver_outbox

OK_SMS = {"Code": "OK", "Message": "OK", "BizId": "900619746936498^0", "RequestId": "r"}


def answers(wechat: dict[str, Any], sms: dict[str, Any] | None = None) -> Any:
    def respond(path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        if path == "/cgi-bin/token":
            return 200, {"access_token": "TOKEN", "expires_in": 7200}
        if path == "/sms":
            return 200, sms or OK_SMS
        return 200, wechat

    return respond


async def person(owner_pool: Any, openid: str | None, **prefs: Any) -> int:
    """A fresh account (phone 18…) with an optional openid and preferences."""
    phone = f"18{uuid.uuid4().int % 10**9:09d}"
    account = await owner_pool.fetchval(
        "insert into vg.accounts (phone, password_hash, display_name) values ($1, '!', '测试')"
        " returning id",
        phone,
    )
    if openid:
        await owner_pool.execute(
            "insert into vg.channel_addresses values ($1, 'wechat', $2)", account, openid
        )
    if prefs:
        await owner_pool.execute(
            """insert into vg.notification_preferences (account_id, channels, quiet_start, quiet_end)
               values ($1, $2, $3, $4)""",
            account,
            prefs.get("channels", ["wechat", "sms"]),
            prefs.get("quiet_start"),
            prefs.get("quiet_end"),
        )
    return int(account)


async def message_to(owner_pool: Any, account: int, kind: str = "task.assigned") -> str:
    key = f"t:{uuid.uuid4().hex}"
    await owner_pool.execute(
        """insert into vg.outbox (tenant_code, kind, recipient_account, payload, idempotency_key)
           values (330302006001, $1, $2, '{"title": "通知", "task": 1}', $3)""",
        kind,
        account,
        key,
    )
    return key


async def deliver(owner_pool: Any, config: Any, now: datetime | None = None) -> None:
    async with httpx.AsyncClient() as http:
        await deliver_outbox(
            owner_pool, config, build_channels(config, http), now or datetime.now(UTC), "w"
        )


async def row(owner_pool: Any, key: str) -> Any:
    return await owner_pool.fetchrow("select * from vg.outbox where idempotency_key = $1", key)


def chain_settings(settings: Any, base: str, **extra: Any) -> Any:
    return worker_settings(settings, base, notify_channel="chain", **extra)


async def test_no_openid_or_a_refusal_falls_back_to_sms_and_the_receipt_ids_are_kept(
    owner_pool, settings, remote
):
    fake, base = remote
    fake.respond = answers({"errcode": 43101, "errmsg": "user refuse to accept the msg"})
    config = chain_settings(settings, base)
    without = await message_to(owner_pool, await person(owner_pool, None))
    refusing = await message_to(owner_pool, await person(owner_pool, "o-refuses"))
    await deliver(owner_pool, config)
    for key in (without, refusing):
        sent = await row(owner_pool, key)
        assert (sent["status"], sent["channel"]) == ("SENT", "sms")
        assert sent["provider_msgid"] == OK_SMS["BizId"]
    fake.respond = answers({"errcode": 0, "errmsg": "ok", "msgid": 200228332})
    fine = await message_to(owner_pool, await person(owner_pool, "o-fine"))
    await deliver(owner_pool, config)
    sent = await row(owner_pool, fine)
    assert (sent["channel"], sent["provider_msgid"]) == ("wechat", "200228332")
    [request] = [r for r in fake.requests if r["body"].get("touser") == "o-fine"]
    assert request["path"] == "/cgi-bin/message/template/send"
    assert request["body"]["data"]["keyword1"]["value"] == "新任务"
    assert request["body"]["url"].endswith("/tasks/1")


async def test_every_channel_refusing_is_dead_with_each_reason(owner_pool, settings, remote):
    fake, base = remote
    fake.respond = answers(
        {"errcode": 43004, "errmsg": "require subscribe"},
        {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"},
    )
    key = await message_to(owner_pool, await person(owner_pool, "o-gone"))
    await deliver(owner_pool, chain_settings(settings, base))
    dead = await row(owner_pool, key)
    assert dead["status"] == "DEAD"
    assert dead["last_error"] == (
        "wechat: 43004 require subscribe; sms: isv.MOBILE_NUMBER_ILLEGAL 非法手机号"
    )


async def test_rate_limits_wait_without_counting_an_attempt(owner_pool, settings, remote):
    fake, base = remote
    fake.respond = answers({"errcode": 45009, "errmsg": "reach max api daily quota limit"})
    key = await message_to(owner_pool, await person(owner_pool, "o-busy"))
    now = datetime.now(UTC)
    await deliver(owner_pool, chain_settings(settings, base), now)
    waiting = await row(owner_pool, key)
    assert (waiting["status"], waiting["attempts"], waiting["channel_step"]) == ("PENDING", 0, 0)
    assert waiting["next_attempt_at"] > now and "45009" in waiting["last_error"]
    fake.respond = answers({}, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"})
    sms = await message_to(owner_pool, await person(owner_pool, None))
    await deliver(owner_pool, chain_settings(settings, base), now)
    assert (await row(owner_pool, sms))["attempts"] == 0


async def test_a_daily_quota_defers_to_the_next_day_in_china(owner_pool, settings, remote):
    fake, base = remote
    fake.respond = answers({"errcode": 0, "msgid": 1})
    today = datetime.now(UTC)
    config = chain_settings(settings, base, channel_daily_quotas={"wechat": 1})
    await deliver(owner_pool, chain_settings(settings, base), today)  # what others left due
    await owner_pool.execute(
        "delete from vg.channel_usage where channel = 'wechat'"
    )  # owner only: tests start the day afresh
    first = await message_to(owner_pool, await person(owner_pool, "o-q1"))
    second = await message_to(owner_pool, await person(owner_pool, "o-q2"))
    today = datetime.now(UTC)
    await deliver(owner_pool, config, today)
    statuses = sorted([(await row(owner_pool, k))["status"] for k in (first, second)])
    assert statuses == ["PENDING", "SENT"]
    waiting = [await row(owner_pool, k) for k in (first, second)]
    deferred = next(r for r in waiting if r["status"] == "PENDING")
    assert deferred["last_error"] == "wechat: daily quota" and deferred["attempts"] == 0


async def test_quiet_hours_hold_ordinary_messages_but_not_urgent_ones(owner_pool, settings, remote):
    from datetime import time

    fake, base = remote
    fake.respond = answers({"errcode": 0, "msgid": 7})
    # Quiet all day except one minute, whatever the clock says now.
    sleeper = await person(owner_pool, "o-sleep", quiet_start=time(0, 1), quiet_end=time(0, 0))
    ordinary = await message_to(owner_pool, sleeper)
    broadcast = await owner_pool.fetchval(
        """insert into vg.broadcasts (tenant_code, kind, urgent, payload)
           values (330302006001, 'notice.urgent', true, '{"title": "台风"}') returning id"""
    )
    urgent = f"b{broadcast}:{sleeper}"
    await owner_pool.execute(
        """insert into vg.outbox (tenant_code, kind, recipient_account, idempotency_key, broadcast_id)
           values (330302006001, 'notice.urgent', $1, $2, $3)""",
        sleeper,
        urgent,
        broadcast,
    )
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # 20:00 in China
    await deliver(owner_pool, chain_settings(settings, base), now)
    held = await row(owner_pool, ordinary)
    assert (held["status"], held["last_error"], held["attempts"]) == ("PENDING", "quiet hours", 0)
    assert held["next_attempt_at"] == datetime(2026, 12, 5, 16, 0, tzinfo=UTC)  # 00:00 CST
    assert (await row(owner_pool, urgent))["status"] == "SENT"


async def test_receipts_come_back_on_signed_callbacks_only(owner_pool, settings, database, remote):
    fake, base = remote
    fake.respond = answers({"errcode": 0, "msgid": 4242})
    key = await message_to(owner_pool, await person(owner_pool, "o-receipt"))
    await deliver(owner_pool, chain_settings(settings, base))
    config = replace(settings, wechat_callback_token="wx-token", sms_callback_secret="sms-secret")
    app = create_app(config, database)
    event = (
        "<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[o-receipt]]>"
        "</FromUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]>"
        "</Event><MsgID>4242</MsgID><Status><![CDATA[success]]></Status></xml>"
    )
    signed = {"timestamp": "1700000000", "nonce": "n1"}
    signed["signature"] = wechat_signature("wx-token", signed["timestamp"], signed["nonce"])
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vg") as http:
            forged = await http.post(
                "/callbacks/wechat", params={**signed, "signature": "0" * 40}, content=event
            )
            assert forged.status_code == 403
            assert (await row(owner_pool, key))["receipt"] is None
            ok = await http.post("/callbacks/wechat", params=signed, content=event)
            assert (ok.status_code, ok.text) == (200, "success")
            report = json.dumps(
                [{"phone_number": "1", "success": False, "err_code": "MK:0001", "biz_id": "none"}]
            ).encode()
            bad = await http.post("/callbacks/sms", content=report, headers={"X-Signature": "x"})
            assert bad.status_code == 403
            good = await http.post(
                "/callbacks/sms",
                content=report,
                headers={
                    "X-Signature": hmac.new(b"sms-secret", report, hashlib.sha256).hexdigest()
                },
            )
            assert good.json()["code"] == 0
    receipt = await row(owner_pool, key)
    assert receipt["receipt"] == "DELIVERED" and receipt["receipt_at"] is not None


async def test_the_request_role_cannot_record_receipts_or_read_codes(as_request_role, account_id):
    import asyncpg
    import pytest

    await as_request_role.begin_as(await account_id(VILLAGE_CADRE))
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_request_role.fetchval("select vg.record_receipt('sms', 'x', 'DELIVERED')")
