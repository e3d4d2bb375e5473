"""Limits per role: depth, tokens, aliases, page size, cost, rate limit, introspection,
and the analysts' statement timeout. Over-limit documents never execute."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.api_support import login, service
from tests.conftest import GraphQLClient
from tests.demo import ANALYST, CITY, RESIDENT, TOWN_OFFICIAL, VILLAGE
from villagegraph.limits import DEFAULT_LIMITS, RateLimiter, limits_for, measure_document
from villagegraph.resolvers import notices
from villagegraph.schema import graphql_core_schema
from villagegraph.server import create_app


@pytest.fixture(scope="module")
async def gql(database, settings, owner_pool) -> AsyncIterator[GraphQLClient]:
    """A service with the production document limits (the suite's shared service lifts
    them); only the rate limit is lifted, since every request here comes from one address."""
    unlimited_rate = {"rate_per_minute": 1_000_000, "burst": 1_000_000}
    strict = dataclasses.replace(
        settings, limits={tier: dict(unlimited_rate) for tier in DEFAULT_LIMITS}
    )
    app = create_app(strict, database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://villagegraph") as http:
            yield GraphQLClient(http)


async def test_a_too_deep_document_is_refused_as_too_complex(gql):
    nested = f'{{ unit(code: "{VILLAGE}") {{ {"parent { " * 8} code {"} " * 8} }} }}'
    error = await gql.error(nested)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["limit"] == "depth"
    # An official may nest deeper than an anonymous caller.
    data = await gql.data(
        f'{{ unit(code: "{CITY}") {{ children {{ children {{ children {{ code }} }} }} }} }}',
        as_=TOWN_OFFICIAL,
    )
    assert data["unit"]["children"]


async def test_aliases_beyond_the_limit_are_refused(gql):
    many = " ".join(f'a{i}: unit(code: "{CITY}") {{ code }}' for i in range(11))
    error = await gql.error(f"{{ {many} }}")
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "aliases",
        "max": DEFAULT_LIMITS["anonymous"].aliases,
        "requestId": error["extensions"]["requestId"],
    }
    assert "data" not in error


async def test_too_many_tokens_are_refused_before_parsing_the_rest(gql):
    fields = " ".join(["__typename"] * 1200)
    error = await gql.error(f"{{ {fields} }}")
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["limit"] == "tokens"


async def test_cost_budget_counts_nested_pages(gql):
    # 100 notices x their publisher's 10 children x 10 grandchildren x 10: over 5000.
    query = """query { feed(first: 100) { edges { node { publisher {
        children { children { children { code } } } } } } } }"""
    error = await gql.error(query, as_=RESIDENT)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["limit"] == "cost"
    cheap = "query { feed(first: 5) { edges { node { publisher { code } } } } }"
    assert (await gql.data(cheap, as_=RESIDENT))["feed"]


async def test_page_size_is_capped_per_role_and_by_variables(database, settings, owner_pool):
    limits = {"resident": {"page_size": 10}}
    async with service(database, settings, limits=limits) as http:
        headers = await login(http, RESIDENT)
        query = "query($n: Int) { feed(first: $n) { edges { cursor } } }"
        over = await http.post(
            "/graphql", json={"query": query, "variables": {"n": 11}}, headers=headers
        )
        assert over.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        fine = await http.post(
            "/graphql", json={"query": query, "variables": {"n": 10}}, headers=headers
        )
        assert "errors" not in fine.json()


async def test_rate_limit_answers_rate_limited_with_a_retry_hint(database, settings, owner_pool):
    limits = {"anonymous": {"rate_per_minute": 6, "burst": 3}}
    async with service(database, settings, limits=limits) as http:
        headers = await login(http, RESIDENT)  # the login is the first anonymous request
        answers = [await http.post("/graphql", json={"query": "{ __typename }"}) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        error = answers[2].json()["errors"][0]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["retryAfterSeconds"] == 10
        assert answers[2].headers["retry-after"] == "10"
        # The signed-in resident has a bucket of its own.
        signed_in = await http.post("/graphql", json={"query": "{ me { phone } }"}, headers=headers)
        assert signed_in.json()["data"]["me"]["phone"] == RESIDENT


def test_token_bucket_refills_at_the_configured_rate():
    limits = limits_for({"resident": {"rate_per_minute": 60, "burst": 1}}, "resident")
    bucket = RateLimiter()
    assert bucket.take("a", limits, now=100.0) == 0
    assert bucket.take("a", limits, now=100.5) == 0.5
    assert bucket.take("a", limits, now=101.6) == 0


async def test_introspection_is_configurable_for_anonymous_callers(database, settings, owner_pool):
    query = "{ __schema { queryType { name } } }"
    async with service(database, settings, anonymous_introspection=False) as http:
        refused = (await http.post("/graphql", json={"query": query})).json()
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        for phone in (TOWN_OFFICIAL, ANALYST):
            allowed = await http.post(
                "/graphql", json={"query": query}, headers=await login(http, phone)
            )
            assert allowed.json()["data"]["__schema"]["queryType"]["name"] == "Query"


def test_measure_follows_fragments_and_counts_aliases(schema):
    document = """
      query Q { a: unit(code: "1") { ...F } b: unit(code: "2") { ...F } }
      fragment F on OrgUnit { children { children { code } } }
    """
    measure = measure_document(
        document, graphql_core_schema(schema), None, None, limits_for({}, "official")
    )
    assert measure is not None
    assert (measure.aliases, measure.depth, measure.operation) == (2, 4, "Q")
    assert measure.cost == 2 * (1 + 1 + 10)  # unit, its children, their children


async def test_analysts_run_under_a_statement_timeout(database, settings, owner_pool, monkeypatch):
    async def slow(db, *args, **kwargs):
        await db.fetch("select pg_sleep(0.3)")
        return []

    monkeypatch.setattr(notices, "subtree_page", slow)
    query = {"query": f'{{ notices(unit: "{CITY}") {{ edges {{ cursor }} }} }}'}
    # The fault is injected into the general executor's resolver: run there.
    async with service(database, settings, analyst_statement_timeout_ms=50, compiled=False) as http:
        analyst = await http.post("/graphql", json=query, headers=await login(http, ANALYST))
        error = analyst.json()["errors"][0]
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        assert "pg_sleep" not in analyst.text
        official = await http.post("/graphql", json=query, headers=await login(http, TOWN_OFFICIAL))
        assert official.json()["data"]["notices"]["edges"] == []


async def test_a_deleted_accounts_token_runs_nothing(client, settings, issue_token):
    token = await issue_token(99_999_999)
    response = await client.post(
        "/graphql",
        json={"query": "{ me { phone } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_fragments_spread_into_each_other_exponentially_are_refused(gql):
    # 2^25 spreads of __typename: cheap to write, costly to expand; refused before validation.
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(25))
    document = f"query {{ ...F0 }} {fragments} fragment F25 on Query {{ __typename }}"
    error = await gql.error(document, as_=TOWN_OFFICIAL)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"


def test_misspelt_limits_in_the_configuration_are_refused(database, settings):
    for limits in ({"anonymus": {"cost": 1}}, {"anonymous": {"costs": 1}}):
        with pytest.raises(ValueError, match="VILLAGEGRAPH_LIMITS"):
            create_app(dataclasses.replace(settings, limits=limits), database)
