"""`villagegraph serve --workers N`: several processes on one database behave as one service.

Two services on one home (the second joins the embedded PostgreSQL the first started; the
second runs two worker processes behind its port): a persisted query registered through
one is found through the other, a client's rate-limit bucket is one bucket whichever
process answers, and a notice published through one reaches a subscriber on the other's
socket (LISTEN/NOTIFY in villagegraph/subscriptions.py). Finding 3 of issue 17.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys

import psutil
from websockets.asyncio.client import connect

from tests.demo import RESIDENT, VILLAGE, VILLAGE_CADRE
from tests.test_serve import Service, post, postmaster_pid
from villagegraph.persisted import sha256

LIMITS = json.dumps({"anonymous": {"rate_per_minute": 1, "burst": 6}})
UNIT = '{ unit(code: "330302006001") { level } }'
SUBSCRIBE = "subscription { noticePublished { id title } }"
PUBLISH = (
    f'mutation {{ publishNotice(input: {{unit: "{VILLAGE}", board: NOTICE, title: "跨进程",'
    ' body: "b", audience: PUBLIC}) { id } }'
)


def apq(digest: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def serving_children(service: Service) -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process(service.process.pid).children()
        if "spawn_main" in " ".join(child.cmdline())
    ]


def test_two_services_on_one_database_share_apq_rate_limits_and_events(tmp_path):
    home = tmp_path / "home"
    one = Service(home, ("--workers", "1"), VILLAGEGRAPH_LIMITS=LIMITS)
    two = Service(home, ("--workers", "2"), VILLAGEGRAPH_LIMITS=LIMITS)
    try:
        assert len(serving_children(one)) == 0
        assert len(serving_children(two)) == 2
        # Logged in: an account's own bucket (the official's limits are not lowered).
        token = one.login(VILLAGE_CADRE)
        subscriber = two.login(RESIDENT)

        # APQ: registered through one process, run by hash alone through the others.
        digest = sha256(UNIT)
        unknown = post(two.port, None, extensions=apq(digest))
        assert unknown["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        assert post(one.port, UNIT, extensions=apq(digest))["data"]["unit"]
        for _ in range(2):  # whichever of two's workers answers
            assert post(two.port, None, extensions=apq(digest))["data"]["unit"]

        # Subscriptions: a socket on `two`, the notice published through `one`.
        title = asyncio.run(receive_while_publishing(two.port, one.port, subscriber, token))
        assert title == "跨进程"

        # One anonymous bucket (burst 6, 1 a minute) across processes. Spent so far:
        # 2 logins + 1 register + 2 hash-only = 5 (an unknown hash is answered before
        # admission), so one request is left.
        answers = [post(port, UNIT) for port in (one.port, two.port, two.port)]
        codes = [(a.get("errors") or [{}])[0].get("extensions", {}).get("code") for a in answers]
        assert codes == [None, "RATE_LIMITED", "RATE_LIMITED"], answers
    finally:
        two.stop(signal.SIGTERM)
        one.stop(signal.SIGTERM)
    assert postmaster_pid(home) is None


async def receive_while_publishing(
    socket_port: int, publish_port: int, subscriber: str, token: str
) -> str:
    async with connect(
        f"ws://127.0.0.1:{socket_port}/graphql", subprotocols=["graphql-transport-ws"]
    ) as socket:
        await socket.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {subscriber}"}}
            )
        )
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
        )
        # The subscription starts listening asynchronously: publish until it hears one.
        for _ in range(20):
            await asyncio.to_thread(post, publish_port, PUBLISH, token)
            try:
                message = json.loads(await asyncio.wait_for(socket.recv(), 1.0))
            except TimeoutError:
                continue
            assert message["type"] == "next", message
            assert message["payload"].get("data"), message
            return str(message["payload"]["data"]["noticePublished"]["title"])
    raise AssertionError("no event reached the other process's socket")


def test_a_taken_port_is_refused_before_anything_claims_to_serve(tmp_path):
    home = tmp_path / "home"
    first = Service(home, ("--workers", "1"))
    try:
        taken = subprocess.run(
            [sys.executable, "-m", "villagegraph.cli", "serve", "--port", str(first.port)],
            env={**first.env, "VILLAGEGRAPH_HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        first.stop(signal.SIGTERM)
    assert taken.returncode == 1
    assert "Address already in use" in taken.stderr
    assert "serving GraphQL" not in taken.stderr
