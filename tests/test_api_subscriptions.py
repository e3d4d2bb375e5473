"""Subscriptions over graphql-transport-ws: new notices in the caller's feed, delivered by
PostgreSQL LISTEN/NOTIFY and filtered under each subscriber's own RLS context."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.api_support import LiveServer
from tests.conftest import VILLAGE, VILLAGE_CADRE

PUBLISH = """mutation($u: ID!, $a: Audience!, $t: [String!]) {
  publishNotice(input: {unit: $u, board: NOTICE, title: "订阅测试", body: "b", audience: $a,
                        targetTags: $t}) { id } }"""
SUBSCRIBE = "subscription { noticePublished { id title audience publisher { code } } }"


@pytest.fixture(scope="module")
def live(database, settings, owner_pool):
    with LiveServer(database, settings) as server:
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
        await socket.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
        )
        # The subscription starts listening asynchronously: publish until one arrives.
        message = None
        for _ in range(5):
            await publish(gql, village["cadre"], village["code"])
            message = await next_message(socket)
            if message is not None:
                break
        assert message is not None and message["type"] == "next"
        # Now certainly listening: a neighbour's notice and one targeted at a tag the
        # subscriber lacks are published first, and must not be delivered.
        await publish(gql, VILLAGE_CADRE, VILLAGE, "MEMBERS")
        await publish(gql, village["cadre"], village["code"], "PUBLIC", ["残疾"])
        visible = await publish(gql, village["cadre"], village["code"], "MEMBERS")
        message = await next_message(socket, wait=5)
        assert message is not None
        notice = message["payload"]["data"]["noticePublished"]
        assert notice == {
            "id": visible,
            "title": "订阅测试",
            "audience": "MEMBERS",
            "publisher": {"code": village["code"]},
        }
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
