"""Bad input gets a clear GraphQL error (a code of docs/API.md) or a 4xx, never a trace or a
500, and the service keeps serving: malformed bodies, wrong content types, huge bodies,
nested and aliased documents, wrong variable types, invalid values, oversized strings,
control characters and SQL metacharacters, and a bounded fuzz over the endpoint."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.demo import CITY, RESIDENT, VILLAGE_CADRE, WUMA

API_CODES = {
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "CONFLICT",
    "RATE_LIMITED",
    "QUERY_TOO_COMPLEX",
}
PUBLISH = (
    """mutation($input: PublishNoticeInput!) { publishNotice(input: $input) { id title body } }"""
)


def assert_clear_rejection(response: httpx.Response) -> dict[str, Any]:
    """A 4xx, or a GraphQL error whose code is one of docs/API.md's; never a 5xx or a trace."""
    assert response.status_code < 500, response.text
    body = response.text
    for leak in ("Traceback", 'File "', "asyncpg", "psycopg", "SELECT ", "select "):
        assert leak not in body, body
    if response.headers.get("content-type", "").startswith("application/json"):
        payload = response.json()
        for error in payload.get("errors") or []:
            assert error["extensions"]["code"] in API_CODES, error
        return payload  # type: ignore[no-any-return]
    assert response.status_code >= 400, body
    return {}


async def still_serving(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": f'{{ unit(code: "{CITY}") {{ name }} }}'}
    )
    assert response.json() == {"data": {"unit": {"name": "温州市"}}}


async def test_malformed_json_is_a_4xx(client):
    for body in (
        b"{",
        b'{"query": ',
        b"\xff\xfe",
        b"[1, 2]",
        b'"just a string"',
        b"null",
        b"[" * 200_000 + b"]" * 200_000,
        b'{"query": ' + b"[" * 100_000,
    ):
        response = await client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
        assert 400 <= response.status_code < 500, (body, response.status_code)
        assert_clear_rejection(response)
    await still_serving(client)


async def test_wrong_content_types_are_refused(client):
    query = '{ unit(code: "330300000000") { name } }'
    for content_type in ("text/plain", "application/xml", "image/png"):
        response = await client.post(
            "/graphql", content=query.encode(), headers={"content-type": content_type}
        )
        assert 400 <= response.status_code < 500, (content_type, response.status_code)
    await still_serving(client)


async def test_a_body_over_the_limit_is_413_with_a_graphql_error(client, settings):
    padding = "#" * (settings.max_body_bytes + 10)
    response = await client.post(
        "/graphql", json={"query": f'{{ unit(code: "{CITY}") {{ name }} }}\n{padding}'}
    )
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert str(settings.max_body_bytes) in error["message"]
    await still_serving(client)


async def test_a_streamed_body_over_the_limit_is_413_without_a_content_length(client, settings):
    chunk = b"x" * 65536

    async def stream():
        for _ in range(settings.max_body_bytes // len(chunk) + 2):
            yield chunk

    response = await client.post(
        "/graphql", content=stream(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    await still_serving(client)


async def test_deeply_nested_documents_are_too_complex(client):
    deep = f'{{ unit(code: "{CITY}") {{ ' + "parent { " * 40 + "code" + " }" * 40 + " } }"
    payload = assert_clear_rejection(await client.post("/graphql", json={"query": deep}))
    assert payload["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    brackets = "{" * 5000 + "}" * 5000
    assert_clear_rejection(await client.post("/graphql", json={"query": brackets}))
    await still_serving(client)


async def test_heavily_aliased_documents_do_not_break_the_service(client):
    aliases = " ".join(f'a{i}: unit(code: "{CITY}") {{ name }}' for i in range(2000))
    payload = assert_clear_rejection(
        await client.post("/graphql", json={"query": f"{{ {aliases} }}"})
    )
    if payload.get("data"):
        assert len(payload["data"]) == 2000
    await still_serving(client)


async def test_wrong_variable_types_are_bad_user_input(gql):
    cases = [
        ("query($c: ID!) { unit(code: $c) { name } }", {"c": {"nested": 1}}),
        ("query($c: ID!) { unit(code: $c) { name } }", {}),
        ("query($n: Int) { feed(first: $n) { totalCount } }", {"n": "ten"}),
        ("query($n: Int) { feed(first: $n) { totalCount } }", {"n": 2**40}),
        ("query($b: Board) { feed(board: $b) { totalCount } }", {"b": "GOSSIP"}),
        ("query($u: ID!) { notices(unit: $u) { totalCount } }", {"u": 330300000000.5}),
    ]
    for query, variables in cases:
        error = await gql.error(query, variables, as_=VILLAGE_CADRE)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (query, variables, error)


async def test_invalid_codes_ids_dates_and_cursors_are_bad_user_input(gql):
    cases = [
        '{ notices(unit: "33030200600") { totalCount } }',
        '{ notices(unit: "３３０３０００００００００") { totalCount } }',
        '{ notices(unit: "-30300000000") { totalCount } }',
        '{ notice(id: "1; drop table vg.notices") { id } }',
        '{ notice(id: "99999999999999999999999") { id } }',
        f'{{ dashboard(unit: "{CITY}", from: "2024-13") {{ residents }} }}',
        f'{{ dashboard(unit: "{CITY}", to: "2024-02-30") {{ residents }} }}',
        f'{{ dashboard(unit: "{CITY}", from: "yesterday") {{ residents }} }}',
        "{ feed(first: -1) { totalCount } }",
        '{ feed(after: "eyJ4IjogMX0=") { totalCount } }',
    ]
    for query in cases:
        error = await gql.error(query, as_=VILLAGE_CADRE)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (query, error)


async def test_a_bad_id_error_names_the_argument_that_carried_it(gql):
    """Issue 17: castBallot's refusal named `id` where its argument is `consultation`."""
    cases = {
        'mutation { castBallot(consultation: "x1", option: 0) { id } }': "consultation",
        'mutation { commentOnConsultation(consultation: "x1", body: "b") { id } }': (
            "consultation"
        ),
        'mutation { closeConsultation(id: "x1") { id } }': "id",
    }
    for query, argument in cases.items():
        error = await gql.error(query, as_=RESIDENT)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (query, error)
        assert error["extensions"]["argument"] == argument, (query, error)


def notice_input(**overrides: Any) -> dict[str, Any]:
    return {
        "input": {
            "unit": WUMA,
            "board": "NOTICE",
            "title": "标题",
            "body": "正文",
            "audience": "PUBLIC",
            **overrides,
        }
    }


async def test_oversized_strings_and_control_characters_are_refused_and_write_nothing(
    gql, owner_pool, make_village
):
    village = await make_village(residents=0)
    before = await owner_pool.fetchval(
        "select count(*) from vg.notices where publisher_code = $1", int(village["code"])
    )
    bad = [
        {"title": "长" * 201},
        {"body": "长" * 20001},
        {"title": "   "},
        {"title": "bell\x07"},
        {"body": "nul\x00byte"},
        {"targetTags": ["t" * 21]},
        {"targetTags": [f"tag{i}" for i in range(21)]},
        {"unit": "330302006abc"},
    ]
    for overrides in bad:
        variables = notice_input(**{"unit": village["code"], **overrides})
        error = await gql.error(PUBLISH, variables, as_=village["cadre"])
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (overrides, error)
    after = await owner_pool.fetchval(
        "select count(*) from vg.notices where publisher_code = $1", int(village["code"])
    )
    assert after == before


async def test_sql_metacharacters_are_stored_and_returned_verbatim(gql, make_village):
    village = await make_village(residents=0)
    title = "'; drop table vg.notices; -- \" \\ % _ $1 ${x} ）"
    body = "line1\nline2\t' or 1=1 -- /* */ \u202e 𠀀"
    data = await gql.data(
        PUBLISH, notice_input(unit=village["code"], title=title, body=body), as_=village["cadre"]
    )
    assert data["publishNotice"]["title"] == title
    assert data["publishNotice"]["body"] == body
    found = await gql.data(
        "query($u: ID!) { notices(unit: $u) { edges { node { title body } } } }",
        {"u": village["code"]},
        as_=village["cadre"],
    )
    assert found["notices"]["edges"][0]["node"] == {"title": title, "body": body}


# --- fuzz ---------------------------------------------------------------------------

FUZZ_EXAMPLES = int(os.environ.get("VILLAGEGRAPH_FUZZ_EXAMPLES", "60"))
FIELDS = [
    "unit(code: $s) { code name children { code } }",
    "notices(unit: $s, first: $n, after: $t) { totalCount edges { node { id } } }",
    "notice(id: $s) { id title }",
    "dashboard(unit: $s, from: $t, to: $t) { residents }",
    "feed(first: $n, after: $t) { totalCount }",
    "me { id }",
    '_entities(representations: [{__typename: "Notice", id: $s}]) { __typename }',
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
documents = st.one_of(
    st.text(max_size=200),
    # Several operations, with and without a name choosing one (issue 13, finding 1).
    st.builds(
        lambda a, b: f"query A {{ {a} }} query B {{ {b} }}",
        st.sampled_from(["__typename", "me { id }", "__schema { queryType { name } }"]),
        st.sampled_from(["__typename", "_service { sdl }", "me { id }"]),
    ),
    st.builds(
        lambda field, junk: f"query($s: ID!, $n: Int, $t: String) {{ {field} }}{junk}",
        st.sampled_from(FIELDS),
        st.sampled_from(["", "}", " {", "#", " query x { me { id } }"]),
    ),
)
variables = st.fixed_dictionaries(
    {"s": st.text(max_size=30) | st.from_regex(r"\A[0-9]{10,14}\Z")},
    optional={"n": json_values, "t": json_values},
)
# Representation lists of any length, far past every role's cap (issue 13, finding 2).
representations = st.builds(
    lambda n, typename: {
        "query": "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }",
        "variables": {"r": [{"__typename": typename, "code": "330302006001"}] * n},
    },
    st.integers(min_value=0, max_value=5_000),
    st.sampled_from(["OrgUnit", "Notice", "Nope", ""]),
)
bodies = st.one_of(
    st.builds(
        lambda q, v, name: {"query": q, "variables": v, "operationName": name},
        documents,
        variables,
        st.sampled_from([None, "A", "B", "C"]),
    ),
    representations,
    st.builds(lambda q, v: {"query": q, "variables": v}, documents, json_values),
    json_values.map(lambda v: {"query": v}),
    json_values,
)


@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    body=bodies,
    authorised=st.booleans(),
    forwarded=st.none() | st.text(max_size=40) | st.ip_addresses().map(str),
)
async def test_fuzzed_requests_get_clear_answers(client, gql, body, authorised, forwarded):
    headers = {"content-type": "application/json"}
    if forwarded is not None and forwarded.isprintable() and forwarded.isascii():
        headers["x-forwarded-for"] = forwarded  # random proxy headers change nothing
    if authorised:
        headers["authorization"] = f"Bearer {await gql.token(VILLAGE_CADRE)}"
    response = await client.post("/graphql", content=json.dumps(body).encode(), headers=headers)
    assert_clear_rejection(response)


async def test_the_service_still_serves_after_the_fuzz(client):
    await still_serving(client)


async def test_unpaired_surrogates_in_text_are_bad_user_input(client, gql, make_village):
    village = await make_village(residents=0)
    token = await gql.token(village["cadre"])
    variables = {"input": {**notice_input()["input"], "unit": village["code"], "title": "LONE"}}
    raw = json.dumps({"query": PUBLISH, "variables": variables}).replace("LONE", "a\\ud800b")
    response = await client.post(
        "/graphql",
        content=raw.encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Unicode" in error["message"]
    login = (
        '{"query": "mutation($p: String!, $w: String!) { login(phone: $p, password: $w)'
        ' { token } }", "variables": {"p": "13800000000", "w": "\\udfff"}}'
    )
    response = await client.post(
        "/graphql", content=login.encode(), headers={"content-type": "application/json"}
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.fixture(scope="module")
async def fuzz_village(owner_pool, settings, issue_token) -> dict[str, Any]:
    """A village of the fuzz's own (module scope, so hypothesis can share it)."""
    code = int(WUMA) + 999
    async with owner_pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """insert into vg.org_units (code, name, level, parent_code)
               values ($1, '模糊测试社区', 'VILLAGE', $2) on conflict do nothing""",
            code,
            int(WUMA),
        )
        cadre = await conn.fetchval(
            """insert into vg.accounts (phone, password_hash, display_name)
               values ('15999999999', 'x', '模糊测试') returning id"""
        )
        await conn.execute(
            "insert into vg.grants (account_id, role, unit_code) values ($1, 'CADRE', $2)",
            cadre,
            code,
        )
    return {"code": str(code), "token": await issue_token(cadre)}


any_text = st.text(st.characters(codec=None), max_size=250)


@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(title=any_text, body=any_text, tags=st.lists(st.text(max_size=25), max_size=22))
async def test_fuzzed_notice_text_is_stored_verbatim_or_refused(
    client, fuzz_village, owner_pool, title, body, tags
):
    variables = {
        "input": {
            **notice_input()["input"],
            "unit": fuzz_village["code"],
            "title": title,
            "body": body,
            "targetTags": tags,
        }
    }
    response = await client.post(
        "/graphql",
        content=json.dumps({"query": PUBLISH, "variables": variables}).encode(),
        headers={
            "content-type": "application/json",
            "authorization": f"Bearer {fuzz_village['token']}",
        },
    )
    payload = assert_clear_rejection(response)
    if payload.get("errors"):
        assert payload["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", payload
        return
    notice = payload["data"]["publishNotice"]
    assert (notice["title"], notice["body"]) == (title.strip(), body.strip())
    stored = await owner_pool.fetchrow(
        "select title, body from vg.notices where id = $1", int(notice["id"])
    )
    assert (stored["title"], stored["body"]) == (title.strip(), body.strip())


async def test_get_requests_cannot_mutate_and_bad_query_strings_are_refused(
    client, gql, owner_pool
):
    token = await gql.token(VILLAGE_CADRE)
    mutation = (
        'mutation { publishNotice(input: {unit: "330302006001", board: NOTICE, title: "GET",'
        ' body: "b", audience: PUBLIC}) { id } }'
    )
    headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
    for params in (
        {"query": mutation},
        {"query": "{ unit(code: "},
        {"query": "{ me { id } }", "variables": "{not json"},
        {"query": "{ me { id } }", "variables": "[1]"},
    ):
        response = await client.get("/graphql", params=params, headers=headers)
        assert 400 <= response.status_code < 500 or response.json().get("errors"), params
        assert_clear_rejection(response)
    assert await owner_pool.fetchval("select count(*) from vg.notices where title = 'GET'") == 0
    await still_serving(client)
