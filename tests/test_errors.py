"""Errors carry the codes of docs/API.md, internals never reach the client, limits hold."""

from __future__ import annotations

import time

import jwt

from tests.demo import CITY, CITY_OFFICIAL, RESIDENT


async def test_invalid_division_code_is_bad_user_input(gql):
    for code in ("12", "abc", "033030000000", "3303000000001"):
        error = await gql.error("query($c: ID!) { unit(code: $c) { name } }", {"c": code})
        assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_unknown_unit_is_null(gql):
    assert (await gql.data('{ unit(code: "330399999999") { name } }'))["unit"] is None


async def test_page_size_is_capped_at_100(gql):
    error = await gql.error("{ feed(first: 101) { totalCount } }", as_=RESIDENT)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "100" in error["message"]


async def test_garbage_cursor_is_bad_user_input(gql):
    error = await gql.error('{ feed(after: "not-a-cursor") { totalCount } }', as_=RESIDENT)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_deep_queries_are_too_complex(gql):
    deep = '{ unit(code: "330300000000") { ' + "children { " * 14 + "code" + " }" * 14 + " } }"
    error = await gql.error(deep)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_syntax_and_validation_errors_are_bad_user_input(gql):
    for document in ("{ unit(code: ", "{ noSuchField }"):
        error = await gql.error(document)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_wrong_password_and_unknown_phone_look_the_same(gql):
    query = 'mutation($p: String!) { login(phone: $p, password: "wrong") { token } }'
    wrong = await gql.error(query, {"p": CITY_OFFICIAL})
    unknown = await gql.error(query, {"p": "19999999999"})
    assert wrong["message"] == unknown["message"]
    assert wrong["extensions"]["code"] == unknown["extensions"]["code"] == "UNAUTHENTICATED"


async def test_untrusted_tokens_are_rejected_before_anything_runs(client, settings):
    now = int(time.time())
    claims = {"sub": "1", "iss": "villagegraph", "iat": now, "exp": now + 60}
    tokens = {
        "expired": jwt.encode({**claims, "exp": now - 10}, settings.jwt_secret, algorithm="HS256"),
        "tampered": jwt.encode(claims, "another-secret", algorithm="HS256"),
        "none": jwt.encode(claims, None, algorithm="none"),
        "garbage": "abc.def.ghi",
    }
    for name, token in tokens.items():
        response = await client.post(
            "/graphql",
            json={"query": '{ unit(code: "330300000000") { name } }'},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 401, name
        body = response.json()
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert "data" not in body


async def test_token_of_a_deleted_account_reads_nothing(client, settings):
    now = int(time.time())
    token = jwt.encode(
        # Signed by us, naming a session the database does not hold.
        {
            "sub": "99999999",
            "sid": "999999999999." + "0" * 64,
            "iss": "villagegraph",
            "iat": now,
            "exp": now + 60,
        },
        settings.jwt_secret,
        algorithm="HS256",
    )
    response = await client.post(
        "/graphql",
        json={"query": "{ feed { totalCount } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_internal_errors_are_masked_with_a_request_id(execute, monkeypatch):
    from villagegraph.resolvers import notices

    async def broken(*args, **kwargs):
        raise RuntimeError("relation vg.secret_table does not exist at /srv/app.py:42")

    monkeypatch.setattr(notices, "subtree_page", broken)
    result, _ = await execute(f'{{ notices(unit: "{CITY}") {{ totalCount }} }}', None)
    error = result.errors[0]
    assert "secret_table" not in error.message and "app.py" not in error.message
    assert error.extensions["code"] == "INTERNAL_SERVER_ERROR"
    assert error.extensions["requestId"] == "test"


async def test_graphiql_is_served_to_browsers(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_health_answers_when_the_database_does(client):
    response = await client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
