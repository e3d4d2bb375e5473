"""Federation through real gateways: Apollo Gateway and Hive Gateway (npm, pinned by
tests/federation/package-lock.json) each compose villagegraph with a second subgraph that
extends Resident, and one query reads across both with the caller's bearer token; through
Hive Gateway a resident also subscribes (SSE) to villagegraph's notices (graphql-transport-ws)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import urllib.request
from collections.abc import Iterator

import httpx
import pytest

from tests.api_support import NODE_DIR, LiveServer, node_or_skip
from tests.demo import RESIDENT, VILLAGE, VILLAGE_CADRE
from tests.federation.social_assistance import create_app as social_app
from villagegraph.server import create_app

GATEWAYS = {"apollo": "gateway.mjs", "hive": "hive-gateway.mjs"}


@pytest.fixture(scope="module", params=sorted(GATEWAYS))
def gateway(request, database, settings, owner_pool) -> Iterator[str]:
    node = node_or_skip()
    with (
        LiveServer(create_app(settings, database)) as villagegraph,
        LiveServer(social_app()) as social,
    ):
        process = subprocess.Popen(
            [
                node,
                str(NODE_DIR / GATEWAYS[request.param]),
                f"villagegraph={villagegraph.url}",
                f"social={social.url}",
            ],
            cwd=NODE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            if not url:
                raise AssertionError("gateway did not start: " + process.stderr.read())
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def post(url: str, query: str, token: str | None = None) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read())


async def test_one_query_reads_a_resident_from_both_subgraphs(gateway, gql):
    token = await gql.token(RESIDENT)
    result = post(
        gateway, "{ me { resident { id name village { code } benefits { program } } } }", token
    )
    assert "errors" not in result, result
    resident = result["data"]["me"]["resident"]
    assert resident["village"]["code"] == VILLAGE
    expected = [{"program": "低保"}] if int(resident["id"]) % 3 == 0 else []
    assert resident["benefits"] == expected


async def test_the_gateway_keeps_villagegraph_access_rules(gateway, gql):
    anonymous = post(gateway, "{ me { resident { benefits { program } } } benefitPrograms }")
    assert anonymous["data"] == {
        "me": None,
        "benefitPrograms": ["低保", "高龄津贴", "残疾人两项补贴"],
    }


PUBLISH = """mutation($u: ID!) { publishNotice(input: {unit: $u, board: NOTICE,
  title: "网关订阅", body: "b", audience: PUBLIC}) { id } }"""


async def test_a_resident_hears_new_notices_through_hive_gateway(gateway, gql, request):
    if request.node.callspec.params["gateway"] != "hive":
        pytest.skip("Apollo Gateway does not serve subscriptions (only Apollo Router does)")
    token = await gql.token(RESIDENT)
    events: asyncio.Queue[dict] = asyncio.Queue()

    async def listen() -> None:
        async with (
            httpx.AsyncClient(timeout=None) as client,
            client.stream(
                "POST",
                gateway,
                json={"query": "subscription { noticePublished { id title publisher { code } } }"},
                headers={"Accept": "text/event-stream", "Authorization": f"Bearer {token}"},
            ) as response,
        ):
            assert response.status_code == 200, await response.aread()
            async for line in response.aiter_lines():
                if line.startswith("data:") and line[5:].strip():
                    await events.put(json.loads(line[5:]))

    listener = asyncio.create_task(listen())
    try:
        # The gateway opens its socket to villagegraph lazily: publish until one is heard.
        published: list[str] = []
        event = None
        for _ in range(20):
            data = await gql.data(PUBLISH, {"u": VILLAGE}, as_=VILLAGE_CADRE)
            published.append(str(data["publishNotice"]["id"]))
            try:
                event = await asyncio.wait_for(events.get(), 1.0)
                break
            except TimeoutError:
                assert not listener.done(), listener.exception()
        assert event is not None and "errors" not in event, event
        notice = event["data"]["noticePublished"]
        assert notice["id"] in published
        assert notice["title"] == "网关订阅"
        assert notice["publisher"] == {"code": VILLAGE}
    finally:
        listener.cancel()
