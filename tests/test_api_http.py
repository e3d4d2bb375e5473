"""Mobile clients over HTTP: automatic persisted queries, trusted documents, GET queries
with ETag/Cache-Control, and /metrics."""

from __future__ import annotations

import json

import pytest

from tests.api_support import login, service
from tests.demo import RESIDENT, VILLAGE
from villagegraph.persisted import PersistedDocuments, sha256

UNIT = 'query Unit { unit(code: "' + VILLAGE + '") { code name } }'


def _apq(digest: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def test_apq_hash_alone_is_unknown_until_sent_with_its_document(client):
    digest = sha256(UNIT)
    first = (await client.post("/graphql", json={"extensions": _apq(digest)})).json()
    assert first["errors"][0]["message"] == "PersistedQueryNotFound"
    assert first["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    registered = await client.post("/graphql", json={"query": UNIT, "extensions": _apq(digest)})
    assert registered.json()["data"]["unit"]["code"] == VILLAGE
    # Now the hash alone is enough, over GET as well.
    again = await client.get("/graphql", params={"extensions": json.dumps(_apq(digest))})
    assert again.json()["data"]["unit"]["code"] == VILLAGE


async def test_apq_refuses_a_hash_that_does_not_match_the_document(client):
    wrong = await client.post(
        "/graphql", json={"query": UNIT, "extensions": _apq(sha256("{ __typename }"))}
    )
    assert wrong.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_trusted_documents_mode_refuses_any_other_document(
    database, settings, owner_pool, tmp_path
):
    manifest = tmp_path / "trusted.json"
    manifest.write_text(json.dumps({sha256(UNIT): UNIT}))
    async with service(database, settings, trusted_documents=manifest) as http:
        by_hash = await http.post("/graphql", json={"extensions": _apq(sha256(UNIT))})
        assert by_hash.json()["data"]["unit"]["code"] == VILLAGE
        same_text = await http.post("/graphql", json={"query": UNIT})
        assert same_text.json()["data"]["unit"]["code"] == VILLAGE
        other = (await http.post("/graphql", json={"query": "{ __typename }"})).json()
        assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert "data" not in other or other["data"] is None
        unknown = (await http.post("/graphql", json={"extensions": _apq("ab" * 32)})).json()
        assert unknown["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_get_queries_carry_an_etag_and_answer_304_when_unchanged(client, gql):
    first = await client.get("/graphql", params={"query": UNIT})
    assert first.status_code == 200
    assert first.headers["cache-control"] == "public, max-age=30"
    etag = first.headers["etag"]
    second = await client.get("/graphql", params={"query": UNIT}, headers={"If-None-Match": etag})
    assert second.status_code == 304
    assert second.content == b""
    assert second.headers["etag"] == etag and second.headers["x-request-id"]
    # A signed-in caller's feed is private to it and revalidated every time.
    headers = {"Authorization": f"Bearer {await gql.token(RESIDENT)}"}
    feed = await client.get(
        "/graphql", params={"query": "{ feed(first: 3) { edges { cursor } } }"}, headers=headers
    )
    assert feed.headers["cache-control"] == "private, no-cache"
    assert "Authorization" in feed.headers["vary"]
    headers["If-None-Match"] = feed.headers["etag"]
    revalidated = await client.get(
        "/graphql", params={"query": "{ feed(first: 3) { edges { cursor } } }"}, headers=headers
    )
    assert revalidated.status_code == 304


async def test_get_never_runs_a_mutation(client, owner_pool):
    before = await owner_pool.fetchval("select count(*) from vg.audit_log")
    response = await client.get(
        "/graphql",
        params={"query": 'mutation { login(phone: "13800000010", password: "demo") { token } }'},
    )
    assert response.status_code == 405
    assert await owner_pool.fetchval("select count(*) from vg.audit_log") == before


async def test_errors_are_not_cached(client):
    response = await client.get("/graphql", params={"query": "{ nope }"})
    assert "etag" not in response.headers


async def test_metrics_count_operations_by_name_and_outcome(database, settings, owner_pool):
    async with service(database, settings) as http:
        headers = await login(http, RESIDENT)
        await http.post("/graphql", json={"query": UNIT}, headers=headers)
        await http.post(
            "/graphql",
            json={"query": "query Broken { feed(first: -1) { edges { cursor } } }"},
            headers=headers,
        )
        text = (await http.get("/metrics")).text
    assert 'villagegraph_graphql_operations_total{operation="Unit",outcome="ok"} 1' in text
    assert (
        'villagegraph_graphql_operations_total{operation="Broken",outcome="BAD_USER_INPUT"} 1'
        in text
    )
    assert 'villagegraph_graphql_operation_seconds_count{operation="Unit"} 1' in text
    assert 'villagegraph_db_pool_connections{state="open"}' in text
    pending = await owner_pool.fetchval("select count(*) from vg.outbox where status = 'PENDING'")
    assert f'villagegraph_outbox_messages{{status="PENDING"}} {pending}' in text


async def test_trusted_manifests_may_use_apollos_format(tmp_path):
    manifest = tmp_path / "persisted-query-manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [{"id": sha256(UNIT), "name": "Unit", "type": "query", "body": UNIT}],
            }
        )
    )
    documents = PersistedDocuments(trusted_manifest=manifest)
    assert await documents.resolve(None, _apq(sha256(UNIT))) == UNIT
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps({sha256(UNIT): UNIT + " "}))
    with pytest.raises(ValueError):
        PersistedDocuments(trusted_manifest=tampered)
