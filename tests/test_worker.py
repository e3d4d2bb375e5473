"""The worker: outbox delivery through channel adapters against a local HTTP server the
tests start on 127.0.0.1 (webhook, SMS gateway, a WeChat look-alike with its token and
error codes), retries with backoff, dead letters, concurrent workers, scans and the CLI."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.demo import WUMA
from tests.fakes import FakeRemote
from villagegraph.cli import main
from villagegraph.config import Settings
from villagegraph.worker import run_pass
from villagegraph.worker.channels import (
    SEND_TIMEOUT_SECONDS,
    DeliveryFailed,
    Message,
    WeChatChannel,
    build_channels,
)
from villagegraph.worker.outbox import claim, deliver_outbox
from villagegraph.worker.scans import SCANS

Reply = tuple[int, dict[str, Any]]


def worker_settings(settings: Settings, base: str, **extra: Any) -> Settings:
    return replace(
        settings,
        webhook_url=f"{base}/hook",
        sms_gateway_url=f"{base}/sms",
        wechat_api_base=base,
        wechat_app_id="wx-app",
        wechat_app_secret="wx-secret",
        wechat_template_id="TPL-1",
        outbox_backoff_seconds=30,
        outbox_max_attempts=3,
        **extra,
    )


async def enqueue(owner_pool: Any, channel: str, count: int = 1, account: int | None = None) -> str:
    """`count` rows of a kind unique to the test; returns the kind."""
    kind = f"test.{uuid.uuid4().hex[:10]}"
    await owner_pool.executemany(
        """insert into vg.outbox (tenant_code, kind, recipient_account, payload,
                                  idempotency_key, channel)
           values (330302006001, $1, $2, $3, $4, $5)""",
        [
            (kind, account, json.dumps({"title": f"通知{i}"}), f"{kind}:{i}", channel)
            for i in range(count)
        ],
    )
    return kind


async def drain(owner_pool: Any, config: Settings, http: httpx.AsyncClient) -> None:
    """Deliver what other tests left due, so a test's workers claim only its own rows."""
    await deliver_outbox(
        owner_pool, config, build_channels(config, http), datetime.now(UTC), "drain"
    )


async def rows_of(owner_pool: Any, kind: str) -> list[Any]:
    return await owner_pool.fetch(
        "select * from vg.outbox where kind = $1 order by idempotency_key", kind
    )


async def test_two_concurrent_workers_lose_nothing_and_send_nothing_twice(
    owner_pool, settings, remote
):
    fake, base = remote
    config = worker_settings(settings, base)
    async with httpx.AsyncClient() as http:
        await drain(owner_pool, config, http)
        kind = await enqueue(owner_pool, "webhook", count=120)
        now = datetime.now(UTC)
        channels = build_channels(config, http)
        reports = await asyncio.gather(
            deliver_outbox(owner_pool, config, channels, now, "worker-a"),
            deliver_outbox(owner_pool, config, channels, now, "worker-b"),
        )
    rows = await rows_of(owner_pool, kind)
    assert {r["status"] for r in rows} == {"SENT"}, [
        dict(r) for r in rows if r["status"] != "SENT"
    ][:2]
    keys = [r["key"] for r in fake.requests if r["path"] == "/hook" and r["key"].startswith(kind)]
    assert sorted(keys) == sorted(r["idempotency_key"] for r in rows)  # each exactly once
    mine = {r["id"] for r in rows}
    sent = [i for report in reports for i in report.sent_ids if i in mine]
    assert sorted(sent) == sorted(mine)
    assert {r["attempts"] for r in rows} == {1}
    # Both took part: each claimed batches the other skipped.
    assert {r["delivered_by"] for r in rows} == {"worker-a", "worker-b"}


async def test_a_slow_channel_never_lets_a_lease_lapse_mid_batch(owner_pool, settings, remote):
    fake, base = remote
    # A lease that leaves 0.2 s to start sends once a send's worst case is kept: the first
    # SEND_CONCURRENCY rows start at once, the others would start too late. One worker, and
    # nothing else due, so all 12 rows are in its one batch (two workers splitting them
    # would each start theirs at once, and nothing would need handing back).
    config = worker_settings(settings, base, outbox_lease_seconds=SEND_TIMEOUT_SECONDS + 0.2)
    async with httpx.AsyncClient() as http:
        await drain(owner_pool, worker_settings(settings, base), http)
        fake.delay = 0.3
        kind = await enqueue(owner_pool, "webhook", count=12)
        now = datetime.now(UTC)
        channels = build_channels(config, http)
        reports = [await deliver_outbox(owner_pool, config, channels, now, "worker-a")]
    rows = await rows_of(owner_pool, kind)
    assert {r["status"] for r in rows} == {"SENT"}
    assert {r["attempts"] for r in rows} == {1}  # handing rows back costs no attempt
    keys = [r["key"] for r in fake.requests if (r["key"] or "").startswith(kind)]
    assert sorted(keys) == sorted(r["idempotency_key"] for r in rows)
    assert sum(report.released for report in reports) > 0


async def test_rows_of_a_worker_that_died_mid_batch_are_sent_once_its_lease_expires(
    owner_pool, settings, remote
):
    fake, base = remote
    kind = await enqueue(owner_pool, "webhook", count=3)
    config = worker_settings(settings, base)
    now = datetime.now(UTC)
    async with owner_pool.acquire() as conn, conn.transaction():
        claimed = await claim(conn, config, now, limit=1000)  # then the worker "dies"
    assert {r["idempotency_key"] for r in claimed} >= {f"{kind}:{i}" for i in range(3)}
    async with httpx.AsyncClient() as http:
        channels = build_channels(config, http)
        await deliver_outbox(owner_pool, config, channels, now + timedelta(seconds=1), "w")
        assert {r["status"] for r in await rows_of(owner_pool, kind)} == {"PENDING"}
        later = now + timedelta(seconds=config.outbox_lease_seconds + 1)
        await deliver_outbox(owner_pool, config, channels, later, "w")
    rows = await rows_of(owner_pool, kind)
    assert [(r["status"], r["attempts"]) for r in rows] == [("SENT", 2)] * 3


async def test_failed_delivery_is_retried_after_backoff_with_the_same_key(
    owner_pool, settings, remote
):
    fake, base = remote
    answers = iter([(503, {}), (200, {})])
    fake.respond = lambda path, query, body: next(answers)
    kind = await enqueue(owner_pool, "webhook")
    config = worker_settings(settings, base)
    now = datetime.now(UTC)
    async with httpx.AsyncClient() as http:
        channels = build_channels(config, http)
        first = await deliver_outbox(owner_pool, config, channels, now, "w")
        [row] = await rows_of(owner_pool, kind)
        assert (row["status"], row["attempts"]) == ("PENDING", 1)
        assert row["next_attempt_at"] == now + timedelta(seconds=30)
        assert "503" in row["last_error"]
        await deliver_outbox(owner_pool, config, channels, now + timedelta(seconds=10), "w")
        assert len([r for r in fake.requests if r["key"] == f"{kind}:0"]) == 1
        await deliver_outbox(owner_pool, config, channels, now + timedelta(seconds=31), "w")
    [row] = await rows_of(owner_pool, kind)
    assert (row["status"], row["attempts"], row["delivered_by"]) == ("SENT", 2, "w")
    assert first.retried >= 1
    assert [r["key"] for r in fake.requests if r["key"] == f"{kind}:0"] == [f"{kind}:0"] * 2


async def test_dead_letter_after_max_attempts_and_at_once_when_hopeless(
    owner_pool, settings, remote
):
    fake, base = remote
    failing = await enqueue(owner_pool, "webhook")
    hopeless = await enqueue(owner_pool, "webhook")
    # The first keeps failing as a server error; the second is refused (400): no retry helps.
    fake.respond = lambda path, query, body: (500, {}) if body["kind"] == failing else (400, {})
    config = worker_settings(settings, base)
    now = datetime.now(UTC)
    async with httpx.AsyncClient() as http:
        channels = build_channels(config, http)
        for wait in (0, 30, 90):  # backoff doubles: 30 s, then 60 s
            await deliver_outbox(owner_pool, config, channels, now + timedelta(seconds=wait), "w")
    [dead] = await rows_of(owner_pool, failing)
    assert (dead["status"], dead["attempts"]) == ("DEAD", 3)
    assert "500" in dead["last_error"]
    [refused] = await rows_of(owner_pool, hopeless)
    assert (refused["status"], refused["attempts"]) == ("DEAD", 1)


async def test_sms_goes_to_the_accounts_phone_through_the_gateway(
    owner_pool, settings, remote, account_id
):
    fake, base = remote
    fake.respond = lambda path, query, body: (
        200,
        {"Code": "OK", "Message": "OK", "BizId": "biz-1"},
    )
    cadre = await account_id("13800000003")
    kind = await enqueue(owner_pool, "sms", account=cadre)
    config = worker_settings(settings, base)
    async with httpx.AsyncClient() as http:
        await deliver_outbox(
            owner_pool, config, build_channels(config, http), datetime.now(UTC), "w"
        )
    [request] = [r for r in fake.requests if r["path"] == "/sms" and r["key"] == f"{kind}:0"]
    assert request["body"]["PhoneNumbers"] == "13800000003"
    assert json.loads(request["body"]["TemplateParam"])["title"] == "通知0"
    assert request["body"]["OutId"] == f"{kind}:0"
    [row] = await rows_of(owner_pool, kind)
    assert (row["status"], row["provider_msgid"]) == ("SENT", "biz-1")


def wechat_remote(fake: FakeRemote, stale_after: int) -> None:
    """WeChat look-alike: tokens T1, T2…; a token is rejected (40001) after
    `stale_after` uses; openid `gone` has unsubscribed (43004)."""
    state = {"issued": 0, "uses": 0}

    def respond(path: str, query: dict[str, str], body: dict[str, Any]) -> Reply:
        if path == "/cgi-bin/token":
            assert query == {
                "grant_type": "client_credential",
                "appid": "wx-app",
                "secret": "wx-secret",
            }
            state["issued"] += 1
            state["uses"] = 0
            return 200, {"access_token": f"T{state['issued']}", "expires_in": 7200}
        assert path == "/cgi-bin/message/template/send"
        if query["access_token"] != f"T{state['issued']}" or state["uses"] >= stale_after:
            return 200, {"errcode": 40001, "errmsg": "invalid credential"}
        state["uses"] += 1
        if body["touser"] == "gone":
            return 200, {"errcode": 43004, "errmsg": "require subscribe"}
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": 200228332}

    fake.respond = respond


def message(key: str, openid: str = "openid-1") -> Message:
    return Message(
        id=1,
        kind="task.reminder",
        tenant=330302006001,
        recipient_account=1,
        address=openid,
        payload={"title": "上报消防台账", "due_at": "2026-12-01T18:00:00+08:00"},
        idempotency_key=key,
    )


async def test_wechat_caches_the_token_and_refreshes_it_when_rejected(remote):
    fake, base = remote
    wechat_remote(fake, stale_after=2)
    async with httpx.AsyncClient() as http:
        channel = WeChatChannel(
            http, base_url=base, app_id="wx-app", app_secret="wx-secret", template_id="TPL-1"
        )
        for i in range(3):
            await channel.send(message(f"k{i}"))
        with pytest.raises(DeliveryFailed) as failure:
            await channel.send(message("k3", openid="gone"))
    assert not failure.value.retryable and "43004" in failure.value.reason
    paths = [r["path"] for r in fake.requests]
    # One token for the first two messages; the third is refused (40001) and resent with a
    # fresh token.
    assert paths.count("/cgi-bin/token") == 2
    sends = [r for r in fake.requests if r["path"] == "/cgi-bin/message/template/send"]
    assert [s["body"]["client_msg_id"] for s in sends] == ["k0", "k1", "k2", "k2", "k3"]
    assert sends[0]["body"]["touser"] == "openid-1"
    assert sends[0]["body"]["template_id"] == "TPL-1"
    assert sends[0]["body"]["data"]["first"] == {"value": "上报消防台账"}


async def test_concurrent_wechat_sends_fetch_one_token_and_refresh_it_once(remote):
    fake, base = remote
    wechat_remote(fake, stale_after=5)
    async with httpx.AsyncClient() as http:
        channel = WeChatChannel(
            http, base_url=base, app_id="wx-app", app_secret="wx-secret", template_id="TPL-1"
        )
        await asyncio.gather(*(channel.send(message(f"c{i}")) for i in range(8)))
    # Five sends on the first token; the rest are refused, and all of them share one
    # fresh token instead of each fetching its own.
    assert [r["path"] for r in fake.requests].count("/cgi-bin/token") == 2


async def test_wechat_token_is_refreshed_once_it_expires(remote):
    fake, base = remote
    wechat_remote(fake, stale_after=100)
    clock = [0.0]
    async with httpx.AsyncClient() as http:
        channel = WeChatChannel(
            http,
            base_url=base,
            app_id="wx-app",
            app_secret="wx-secret",
            template_id="TPL-1",
            clock=lambda: clock[0],
        )
        await channel.send(message("a"))
        clock[0] = 7200 - 301
        await channel.send(message("b"))
        clock[0] = 7200 - 299
        await channel.send(message("c"))
    assert [r["path"] for r in fake.requests].count("/cgi-bin/token") == 2


async def test_wechat_delivery_uses_the_accounts_openid(owner_pool, settings, remote, account_id):
    fake, base = remote
    wechat_remote(fake, stale_after=100)
    cadre = await account_id("13800000003")
    await owner_pool.execute(
        """insert into vg.channel_addresses (account_id, channel, address)
           values ($1, 'wechat', 'o-cadre') on conflict do nothing""",
        cadre,
    )
    kind = await enqueue(owner_pool, "wechat", account=cadre)
    no_openid = await enqueue(owner_pool, "wechat", account=await account_id("13800000002"))
    config = worker_settings(settings, base)
    async with httpx.AsyncClient() as http:
        await deliver_outbox(
            owner_pool, config, build_channels(config, http), datetime.now(UTC), "w"
        )
    assert (await rows_of(owner_pool, kind))[0]["status"] == "SENT"
    [missing] = await rows_of(owner_pool, no_openid)
    assert missing["status"] == "DEAD" and "openid" in missing["last_error"]
    sent = [r for r in fake.requests if r["body"].get("client_msg_id") == f"{kind}:0"]
    assert sent[0]["body"]["touser"] == "o-cadre"


async def test_a_worker_pass_delivers_what_its_scans_raised_and_a_second_pass_nothing(
    owner_pool, settings, make_village
):
    village = await make_village()
    task = await owner_pool.fetchval(
        """insert into vg.tasks (assignee_code, issuer_code, title, body, due_at)
           values ($1, $2, '明日截止', '请按时完成。', now() + interval '2 hours') returning id""",
        int(village["code"]),
        int(WUMA),
    )
    kind = await enqueue(owner_pool, "log")
    async with httpx.AsyncClient() as http:
        channels = build_channels(settings, http)
        report = await run_pass(owner_pool, settings, channels)
        again = await run_pass(owner_pool, settings, channels)
    assert set(report.scans) == {scan.__name__ for scan in SCANS}
    assert report.scans["remind_due_tasks"] >= 1
    assert (await rows_of(owner_pool, kind))[0]["status"] == "SENT"
    reminders = await owner_pool.fetch(
        "select status from vg.outbox where kind = 'task.reminder' and (payload ->> 'task')::bigint = $1",
        task,
    )
    assert [r["status"] for r in reminders] == ["SENT"]  # the village's one cadre
    assert set(again.scans.values()) == {0}


def test_worker_command_runs_one_pass(database, settings, monkeypatch):
    monkeypatch.setenv("VILLAGEGRAPH_DATABASE_URL", database.admin_dsn)
    monkeypatch.setenv("VILLAGEGRAPH_HOME", str(settings.home))
    for role, password in database.passwords.items():  # it logs in as vg_worker
        monkeypatch.setenv(f"VILLAGEGRAPH_{role.upper()}_PASSWORD", password)
    assert main(["worker", "--once"]) == 0
