"""Federation through real gateways: Apollo Gateway and Hive Gateway (npm, pinned by
tests/federation/package-lock.json) each compose villagegraph with a second subgraph that
extends Resident, and one query reads across both with the caller's bearer token."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator

import pytest

from tests.api_support import NODE_DIR, LiveServer, node_or_skip
from tests.demo import RESIDENT, VILLAGE
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
