"""Subscriptions over graphql-transport-ws: new notices in the caller's feed, delivered by
PostgreSQL LISTEN/NOTIFY and filtered under each subscriber's own RLS context."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.api_support import LiveServer
from tests.demo import RESIDENT, VILLAGE, VILLAGE_CADRE
from villagegraph.server import create_app

PUBLISH = """mutation($u: ID!, $a: Audience!, $t: [String!]) {
  publishNotice(input: {unit: $u, board: NOTICE, title: "订阅测试", body: "b", audience: $a,
                        targetTags: $t}) { id } }"""
SUBSCRIBE = "subscription { noticePublished { id title audience publisher { code } } }"


@pytest.fixture(scope="module")
def live(database, settings, owner_pool):
    with LiveServer(create_app(settings, database)) as server:
        yield server


async def open_socket(live: LiveServer, token: str | None) -> Any:
    socket = await connect(
        f"ws://127.0.0.1:{live.port}/graphql", subprotocols=["graphql-transport-ws"]
    )
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    return socket


async def next_message(socket: Any, wait: float = 1.0) -> dict | None:
    try:
        return json.loads(await asyncio.wait_for(socket.recv(), wait))
    except TimeoutError:
        return None


async def publish(gql, phone: str, unit: str, audience: str = "PUBLIC", tags=None) -> str:
    data = await gql.data(PUBLISH, {"u": unit, "a": audience, "t": tags}, as_=phone)
    return str(data["publishNotice"]["id"])


async def test_subscribers_get_only_new_notices_their_feed_may_show(live, gql, make_village):
    village = await make_village(residents=1)
    subscriber = await gql.token(village["residents"][0]["phone"])
    socket = await open_socket(live, subscriber)
    try:
        # Two subscriptions on one socket: each reads its events in a transaction of its own.
        for operation in ("1", "2"):
            await socket.send(
                json.dumps({"id": operation, "type": "subscribe", "payload": {"query": SUBSCRIBE}})
            )
        # They start listening asynchronously: publish until both have heard one.
        heard: set[str] = set()
        for _ in range(10):
            await publish(gql, village["cadre"], village["code"])
            while (message := await next_message(socket, wait=0.5)) is not None:
                assert message["type"] == "next", message
                heard.add(message["id"])
            if heard == {"1", "2"}:
                break
        assert heard == {"1", "2"}
        # Now certainly listening: a neighbour's notice and one targeted at a tag the
        # subscriber lacks are published first, and must not be delivered.
        await publish(gql, VILLAGE_CADRE, VILLAGE, "MEMBERS")
        await publish(gql, village["cadre"], village["code"], "PUBLIC", ["残疾"])
        visible = await publish(gql, village["cadre"], village["code"], "MEMBERS")
        received = {}
        for _ in range(2):
            message = await next_message(socket, wait=5)
            assert message is not None and message["type"] == "next", message
            received[message["id"]] = message["payload"]["data"]["noticePublished"]
        expected = {
            "id": visible,
            "title": "订阅测试",
            "audience": "MEMBERS",
            "publisher": {"code": village["code"]},
        }
        assert received == {"1": expected, "2": expected}
        assert await next_message(socket, wait=0.3) is None
        await socket.send(json.dumps({"id": "1", "type": "complete"}))
    finally:
        await socket.close()


async def test_anonymous_subscribers_are_told_to_log_in(live):
    socket = await open_socket(live, None)
    try:
        await socket.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
        )
        message = await next_message(socket, wait=5)
        assert message is not None and message["type"] in ("error", "next")
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    finally:
        await socket.close()


async def test_a_bad_token_closes_the_socket(live):
    socket = await connect(
        f"ws://127.0.0.1:{live.port}/graphql", subprotocols=["graphql-transport-ws"]
    )
    await socket.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
    )
    with pytest.raises(Exception) as closed:
        await asyncio.wait_for(socket.recv(), 5)
    assert getattr(closed.value, "rcvd", None) is not None and closed.value.rcvd.code == 4403


async def test_subscriptions_obey_the_document_limits(live, gql):
    socket = await open_socket(live, await gql.token(RESIDENT))
    try:
        nesting = "parent { " * 10
        closing = "} " * 10
        deep = f"subscription {{ noticePublished {{ publisher {{ {nesting} code {closing} }} }} }}"
        await socket.send(json.dumps({"id": "9", "type": "subscribe", "payload": {"query": deep}}))
        message = await next_message(socket, wait=5)
        assert message is not None and message["type"] == "error" and message["id"] == "9"
        assert message["payload"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    finally:
        await socket.close()


async def test_subscribers_keep_hearing_after_the_listener_connection_dies(
    live, gql, make_village, database
):
    import asyncpg

    village = await make_village(residents=1)
    socket = await open_socket(live, await gql.token(village["residents"][0]["phone"]))
    try:
        await socket.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
        )
        for _ in range(10):
            await publish(gql, village["cadre"], village["code"])
            if await next_message(socket, wait=0.5) is not None:
                break
        admin = await asyncpg.connect(database.admin_dsn)
        try:
            killed = await admin.fetchval(
                """select count(pg_terminate_backend(pid)) from pg_stat_activity
                    where datname = current_database() and query like 'LISTEN%'"""
            )
        finally:
            await admin.close()
        assert killed >= 1
        published: list[str] = []
        message = None
        for _ in range(20):
            published.append(await publish(gql, village["cadre"], village["code"]))
            message = await next_message(socket, wait=0.5)
            if message is not None:
                break
        assert message is not None
        assert message["payload"]["data"]["noticePublished"]["id"] in published
    finally:
        await socket.close()


async def test_subscribe_messages_take_from_the_principals_rate_limit(database, settings):
    strict = dataclasses.replace(settings, limits={"anonymous": {"rate_per_minute": 1, "burst": 2}})
    with LiveServer(create_app(strict, database)) as server:
        socket = await open_socket(server, None)
        try:
            answers = []
            for operation in ("1", "2", "3"):
                subscribe = {"query": "subscription { noticePublished { id } }"}
                await socket.send(
                    json.dumps({"id": operation, "type": "subscribe", "payload": subscribe})
                )
            while (message := await next_message(socket, wait=1.0)) is not None:
                answers.append(message)
        finally:
            await socket.close()
    errors = [m for m in answers if m["type"] == "error"]
    refused = [e for e in errors if e["payload"][0]["extensions"]["code"] == "RATE_LIMITED"]
    assert [e["id"] for e in refused] == ["3"], answers
    assert refused[0]["payload"][0]["extensions"]["retryAfterSeconds"] >= 1
