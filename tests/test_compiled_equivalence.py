"""Proven equal: every document that compiles answers exactly as the general executor does.

Two services over the one demo database, `VILLAGEGRAPH_COMPILED` on and off, are asked the
README's client-guide documents, this module's documents (the compiled shapes with
aliases, fragments, __typename, variables, @skip/@include, pages and bad arguments) and
hypothesis-generated selections over the compiled fields, as every principal kind of the
demo; the responses (data, nulls, error messages, codes and paths, order) must be equal.
Reads with side effects (the inspection log of `notices(unit:)`) are checked to happen
exactly once on either path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api_support import service
from tests.conftest import GraphQLClient
from tests.demo import (
    ANALYST,
    CITY,
    CITY_OFFICIAL,
    COUNTY_OFFICIAL,
    FAR_RESIDENT,
    LUCHENG,
    NEIGHBOUR,
    RESIDENT,
    TOWN_OFFICIAL,
    VILLAGE,
    VILLAGE_CADRE,
    WUMA,
)
from tests.test_api_readme import examples
from villagegraph.compiler import Compiler, NotCompilable
from villagegraph.config import Settings
from villagegraph.schema import build_schema, graphql_core_schema

PRINCIPALS = [
    None,
    RESIDENT,
    NEIGHBOUR,
    FAR_RESIDENT,
    VILLAGE_CADRE,
    TOWN_OFFICIAL,
    COUNTY_OFFICIAL,
    CITY_OFFICIAL,
    ANALYST,
]

NOTICE = "id board title body audience targetTags publishedAt read readCount period correctionReason urgent"
UNIT = "code name level validFrom validTo"

# Documents that must compile, with their variables.
COMPILED: list[tuple[str, dict[str, Any]]] = [
    (
        "query Feed($after: String) { feed(first: 20, after: $after) {"
        " edges { node { id title board publishedAt publisher { name } } }"
        " pageInfo { hasNextPage endCursor } } }",
        {},
    ),
    (
        f"{{ feed(first: 3) {{ totalCount __typename edges {{ cursor __typename node {{ {NOTICE}"
        f" publisher {{ {UNIT} parent {{ code }} }} }} }} pageInfo {{ hasNextPage endCursor }} }} }}",
        {},
    ),
    ("{ feed(board: NOTICE, first: 1) { totalCount edges { node { id board } } } }", {}),
    ("{ feed(first: 0) { totalCount edges { cursor } pageInfo { hasNextPage endCursor } } }", {}),
    (
        "query($b: Board, $n: Int, $s: Boolean!, $i: Boolean = true) {"
        " a: feed(board: $b, first: $n) { n: totalCount edges @skip(if: $s) { node { ...N } } }"
        " b: feed(first: 1) { edges { node { ... on Notice { t: title } id"
        " publisher @include(if: $i) { code } } } } __typename }"
        " fragment N on Notice { id title id publisher { ...U } }"
        " fragment U on OrgUnit { code name }",
        {"b": "NOTICE", "n": 2, "s": False},
    ),
    (
        f'{{ notices(unit: "{WUMA}", first: 5) {{ totalCount edges {{ cursor node {{ {NOTICE} }} }}'
        " pageInfo { hasNextPage endCursor } } }",
        {},
    ),
    (
        f'{{ notices(unit: "{LUCHENG}", board: FINANCE, first: 2) {{ totalCount'
        " edges { node { id title publisher { code level } } } } }",
        {},
    ),
    (
        f'{{ unit(code: "{WUMA}") {{ {UNIT} parent {{ {UNIT} parent {{ code name }} }}'
        f" children {{ {UNIT} children {{ code }} }} }} }}",
        {},
    ),
    (
        f'{{ city: unit(code: "{CITY}") {{ code parent {{ code }} }} none: unit(code: "330302999999") {{ code }} }}',
        {},
    ),
    ("query($id: ID!) { notice(id: $id) { id title publisher { name } } }", {"id": "1"}),
    ('{ notice(id: "999999999") { id } }', {}),
]

# Documents the general executor answers with errors: the compiled path hands them over.
ERRORS: list[tuple[str, dict[str, Any]]] = [
    ("{ feed(first: 101) { totalCount } }", {}),
    ('{ feed(after: "not a cursor") { totalCount } }', {}),
    ('{ unit(code: "12") { code } }', {}),
    ('{ notices(unit: "x") { totalCount } }', {}),
    ('{ notice(id: "abc") { id } }', {}),
    ("{ feed { totalCount } unit(code: 1) { code } }", {}),
]


def normalised(response: dict[str, Any]) -> dict[str, Any]:
    """A response without its request id (one per request by design)."""
    for error in response.get("errors") or ():
        (error.get("extensions") or {}).pop("requestId", None)
    return response


@pytest.fixture(scope="module")
async def both(database, settings, owner_pool) -> AsyncIterator[tuple[Any, ...]]:
    async with (
        service(database, settings, compiled=True) as compiled_http,
        service(database, settings, compiled=False) as general_http,
    ):
        yield GraphQLClient(compiled_http), GraphQLClient(general_http), compiled_http


async def ran_compiled(
    client: GraphQLClient, query: str, variables: dict[str, Any], phone: str | None
) -> bool:
    """Whether the answer was PostgreSQL's JSON (json_build_object writes `"key" : value`;
    the general executor writes compact JSON)."""
    headers = {} if phone is None else {"Authorization": f"Bearer {await client.token(phone)}"}
    response = await client.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    return b'" : ' in response.content


async def differ(both: tuple[Any, ...], query: str, variables: dict[str, Any]) -> list[Any]:
    compiled, general, _ = both
    found = []
    for phone in PRINCIPALS:
        got = normalised(await compiled.raw(query, variables, as_=phone))
        want = normalised(await general.raw(query, variables, as_=phone))
        if got != want:
            found.append((phone, got, want))
    return found


COMPILER = Compiler(graphql_core_schema(build_schema()), Settings.max_depth)


def compiler_of(_: Any) -> Compiler:
    """A compiler over the served schema, to ask whether a document compiles."""
    return COMPILER


@pytest.mark.parametrize("query,variables", COMPILED)
async def test_compiled_documents_answer_as_the_general_executor(both, query, variables):
    compiler = compiler_of(both[2])
    compiler.plan(query, None, variables)  # raises NotCompilable if it would fall back
    assert await differ(both, query, variables) == []
    assert await ran_compiled(both[0], query, variables, RESIDENT)


async def test_feed_pages_walked_to_the_end_are_equal(both):
    compiled, general, _ = both
    query = "query($a: String) { feed(first: 2, after: $a) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"
    for phone in (RESIDENT, TOWN_OFFICIAL, CITY_OFFICIAL):
        after = None
        while True:
            got = await compiled.data(query, {"a": after}, as_=phone)
            assert got == await general.data(query, {"a": after}, as_=phone)
            if not got["feed"]["pageInfo"]["hasNextPage"]:
                break
            after = got["feed"]["pageInfo"]["endCursor"]


@pytest.mark.parametrize("query,variables", ERRORS)
async def test_errors_are_the_general_executors(both, query, variables):
    assert await differ(both, query, variables) == []


@pytest.mark.parametrize("phone,document", examples())
async def test_every_readme_client_document_answers_the_same(both, phone, document):
    compiled, general, _ = both
    assert normalised(await compiled.raw(document, as_=phone)) == normalised(
        await general.raw(document, as_=phone)
    )


def test_the_readme_feed_compiles(both):
    feeds = [document for _, document in examples() if "feed(" in document]
    assert feeds
    for document in feeds:
        compiler_of(both[2]).plan(document, None, {})


@pytest.mark.parametrize(
    "query",
    [
        "{ feed { edges { node { publisher { path { code } } } } } }",
        "{ me { displayName } }",
        '{ feed { totalCount } dashboard(unit: "330302006000") { residents } }',
        'mutation { markNoticeRead(id: "1") { id } }',
        "{ __schema { queryType { name } } }",
    ],
)
def test_fields_without_an_sql_form_fall_back_whole(both, query):
    with pytest.raises(NotCompilable):
        compiler_of(both[2]).plan(query, None, {})


async def test_the_inspection_log_is_written_once_on_either_path(both, owner_pool):
    compiled, general, _ = both
    query = f'{{ notices(unit: "{VILLAGE}", first: 3) {{ totalCount edges {{ node {{ id }} }} }} }}'

    async def logged() -> int:
        return int(await owner_pool.fetchval("select count(*) from vg.inspections"))

    deltas = []
    for client in (compiled, general):
        before = await logged()
        await client.data(query, as_=TOWN_OFFICIAL)
        deltas.append(await logged() - before)
    assert deltas == [1, 1]


# --- generated selections ------------------------------------------------------------------

SCALARS = [
    "id",
    "board",
    "title",
    "body",
    "audience",
    "targetTags",
    "publishedAt",
    "read",
    "readCount",
    "period",
    "urgent",
    "__typename",
]
UNIT_SCALARS = ["code", "name", "level", "validFrom", "validTo", "__typename"]


@st.composite
def unit_selection(draw: Any, depth: int = 0) -> str:
    scalars = draw(st.lists(st.sampled_from(UNIT_SCALARS), min_size=1, max_size=4))
    fields = [_decorate(draw, field, n) for n, field in enumerate(scalars)]
    for nested in ("parent", "children"):
        if depth < 1 and draw(st.booleans()):
            alias = draw(st.sampled_from(["", f"my{nested}: "]))
            fields.append(f"{alias}{nested} {{ {draw(unit_selection(depth + 1))} }}")
    return " ".join(fields)


def _decorate(draw: Any, field: str, n: int) -> str:
    how = draw(st.sampled_from(["plain", "alias", "skip", "include", "inline"]))
    if how == "alias":
        return f"a{n}: {field}"
    if how == "skip":
        return f"{field} @skip(if: {draw(st.sampled_from(['true', 'false']))})"
    if how == "include":
        return f"{field} @include(if: $on)"
    if how == "inline":
        return f"... {{ {field} }}"
    return field


@st.composite
def documents(draw: Any) -> str:
    node = [
        _decorate(draw, f, n)
        for n, f in enumerate(draw(st.lists(st.sampled_from(SCALARS), min_size=1, max_size=6)))
    ]
    if draw(st.booleans()):
        node.append("publisher { " + draw(unit_selection()) + " }")
    parts = [
        "edges { "
        + ("cursor " if draw(st.booleans()) else "")
        + "node { "
        + " ".join(node)
        + " } }"
    ]
    if draw(st.booleans()):
        parts.append("totalCount")
    if draw(st.booleans()):
        parts.append("pageInfo { hasNextPage endCursor }")
    board = draw(st.sampled_from(["", "board: NOTICE, ", "board: FINANCE, "]))
    first = draw(st.integers(min_value=0, max_value=4))
    root = draw(
        st.sampled_from(["feed", f'notices(unit: "{LUCHENG}", ', f'notices(unit: "{VILLAGE}", '])
    )
    call = f"feed({board}first: {first})" if root == "feed" else f"{root}{board}first: {first})"
    extra = ""
    if draw(st.booleans()):
        extra = f' u: unit(code: "{WUMA}") {{ {draw(unit_selection())} }}'
    used = " __typename @include(if: $on)"  # the variable is always used
    return f"query($on: Boolean!) {{ {call} {{ {' '.join(parts)} }}{extra}{used} }}"


@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=documents(), on=st.booleans())
async def test_generated_selections_answer_as_the_general_executor(both, document, on):
    compiler_of(both[2]).plan(document, None, {"on": on})
    assert await differ(both, document, {"on": on}) == []
    assert await ran_compiled(both[0], document, {"on": on}, RESIDENT)


def test_the_plan_command_shows_the_statement_or_why_not(capsys):
    from villagegraph.cli import main

    assert main(["plan", "--query", "{ feed(first: 2) { totalCount } }"]) == 0
    shown = capsys.readouterr().out
    assert "json_build_object('feed'" in shown and "-- $1:" in shown
    assert main(["plan", "--query", "{ me { displayName } }"]) == 0
    assert "general executor: Query.me has no SQL form" in capsys.readouterr().out


async def test_a_compiled_statement_runs_under_the_analyst_timeout(
    database, settings, owner_pool, monkeypatch
):
    from tests.api_support import login
    from villagegraph.resolvers import notices

    slow = (
        "select n.* from vg.notices n where (select pg_sleep(0.3)::text) is not null"
        " and n.publisher_code between $1 and $2 and $3::text is null"
        " and $4::timestamptz is null and $5::bigint is null limit $6"
    )
    monkeypatch.setattr(notices, "SUBTREE_PAGE", slow)
    query = {"query": f'{{ notices(unit: "{CITY}", first: 1) {{ edges {{ cursor }} }} }}'}
    async with service(database, settings, analyst_statement_timeout_ms=50) as http:
        answer = await http.post("/graphql", json=query, headers=await login(http, ANALYST))
    error = answer.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "pg_sleep" not in answer.text
