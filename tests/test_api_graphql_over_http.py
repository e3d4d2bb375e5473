"""GraphQL over HTTP conformance: graphql-http's server audits against the running service.

Every MUST passes; the SHOULD results are listed in the README.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.api_support import NODE_DIR, LiveServer, node_or_skip
from villagegraph.server import create_app

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def audit(database, settings, owner_pool):
    node = node_or_skip()
    with LiveServer(create_app(settings, database)) as server:
        output = subprocess.run(
            [node, str(NODE_DIR / "audit.mjs"), server.url],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            cwd=NODE_DIR,
        ).stdout
    return json.loads(output)


def test_every_must_of_graphql_over_http_passes(audit):
    musts = [a for a in audit if a["name"].startswith("MUST")]
    assert len(musts) > 10
    assert [a for a in musts if a["status"] != "ok"] == []


def test_the_readme_lists_every_should_with_its_result(audit):
    shoulds = [a for a in audit if a["name"].startswith("SHOULD")]
    assert len(shoulds) > 10
    listed = set(re.findall(r"^  \| (\w{4}) \| (.+?) \| (\w+) \|$", README.read_text(), re.M))
    actual = {
        (a["id"], a["name"].removeprefix("SHOULD "), "pass" if a["status"] == "ok" else a["status"])
        for a in shoulds
    }
    assert listed == actual
    assert {result for _, _, result in actual} == {"pass"}


async def test_request_errors_answer_400_without_data_for_graphql_response_json(client):
    accept = {"Accept": "application/graphql-response+json"}
    invalid = await client.post("/graphql", json={"query": "{ nope }"}, headers=accept)
    assert invalid.status_code == 400
    assert invalid.headers["content-type"].startswith("application/graphql-response+json")
    assert "data" not in invalid.json()
    plain = await client.post("/graphql", json={"query": "{ nope }"})
    assert plain.status_code == 200 and plain.json()["data"] is None
