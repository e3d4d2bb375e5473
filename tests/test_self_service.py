"""Accounts residents open themselves (issue 14): a one-time code by SMS (hashed, single
use, expiring, rate-limited), signing in or creating the account with it, binding to the
register only by name + ID number (or a cadre's confirmation), never by phone alone, and
binding WeChat through an OAuth code (a local fake of sns/oauth2/access_token)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import asyncpg
import pytest

from tests.demo import VILLAGE_CADRE
from tests.test_delivery import make_town
from villagegraph.schema import build_schema
from villagegraph.schema.context import Context
from villagegraph.tenants.auth import TokenService
from villagegraph.tenants.session import RequestSession

REQUEST = "mutation($p: String!) { requestLoginCode(phone: $p) }"
LOGIN = """mutation($p: String!, $c: String!) {
    loginWithCode(phone: $p, code: $c) { token account { id phone roles resident { id } } } }"""
VERIFY = """mutation($n: String!, $i: String!) { verifyResidentIdentity(name: $n, idNumber: $i) {
    bound attemptsLeft account { roles resident { id name } } } }"""


def new_phone() -> str:
    return f"199{uuid.uuid4().int % 10**8:08d}"


async def code_sent_to(owner_pool: Any, phone: str) -> str:
    """The code as the SMS (or, in development, the log) carries it."""
    return str(
        await owner_pool.fetchval(
            """select payload ->> 'code' from vg.outbox
                where kind = 'account.login_code' and address = $1
                order by id desc limit 1""",
            phone,
        )
    )


async def as_token(gql: Any, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await gql.http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.json()  # type: ignore[no-any-return]


async def test_a_new_phone_signs_in_by_code_once_and_is_bound_only_by_identity(gql, owner_pool):
    town = await make_town(owner_pool, villages=1, residents=2)
    # A resident on the register with no account yet: remove the one make_town gave it.
    person = town["people"][1]
    await owner_pool.execute(
        "update vg.accounts set resident_village = null, resident_id = null where phone = $1",
        person["phone"],
    )
    phone = new_phone()
    assert (await gql.data(REQUEST, {"p": phone}))["requestLoginCode"] is True
    again = await gql.error(REQUEST, {"p": phone})
    assert again["extensions"]["code"] == "RATE_LIMITED"
    code = await code_sent_to(owner_pool, phone)
    stored = await owner_pool.fetchrow(
        "select code_hash from vg.login_codes where phone = $1", phone
    )
    assert code.encode() not in stored["code_hash"] and len(stored["code_hash"]) == 32
    wrong = "000000" if code != "000000" else "111111"
    assert (await gql.error(LOGIN, {"p": phone, "c": wrong}))["extensions"][
        "code"
    ] == "UNAUTHENTICATED"
    signed_in = (await gql.data(LOGIN, {"p": phone, "c": code}))["loginWithCode"]
    assert signed_in["account"]["phone"] == phone and signed_in["account"]["resident"] is None
    reused = await gql.error(LOGIN, {"p": phone, "c": code})
    assert reused["extensions"]["code"] == "UNAUTHENTICATED"  # single use
    token = signed_in["token"]
    # The phone number alone binds nothing, even when it is the register's phone.
    miss = await as_token(
        gql, token, VERIFY, {"n": person_name(town, 1), "i": "330302000000000000"}
    )
    assert miss["data"]["verifyResidentIdentity"]["bound"] is False
    assert miss["data"]["verifyResidentIdentity"]["attemptsLeft"] == 4
    hit = await as_token(gql, token, VERIFY, {"n": person_name(town, 1), "i": id_number(town, 1)})
    verified = hit["data"]["verifyResidentIdentity"]
    assert verified["bound"] is True and verified["account"]["roles"] == ["RESIDENT"]
    assert verified["account"]["resident"]["id"] == str(person["id"])
    audit = await owner_pool.fetch(
        """select action, detail ->> 'matched' as matched from vg.audit_log
            where action = 'account.verify_identity' and entity_id = $1 order by id""",
        signed_in["account"]["id"],
    )
    assert [(a["action"], a["matched"]) for a in audit][-1] == ("account.verify_identity", "true")


def person_name(town: dict[str, Any], i: int) -> str:
    return f"村民1-{i}"


def id_number(town: dict[str, Any], i: int) -> str:
    return f"330302195001011{i:03d}"


async def test_identity_guesses_are_limited_to_five_a_day(gql, owner_pool):
    phone = new_phone()
    await gql.data(REQUEST, {"p": phone})
    token = (await gql.data(LOGIN, {"p": phone, "c": await code_sent_to(owner_pool, phone)}))[
        "loginWithCode"
    ]["token"]
    for _ in range(5):
        await as_token(gql, token, VERIFY, {"n": "无此人", "i": "1"})
    sixth = await as_token(gql, token, VERIFY, {"n": "无此人", "i": "1"})
    assert sixth["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_the_village_cadre_confirms_an_account_and_nobody_else_may(gql, owner_pool):
    town = await make_town(owner_pool, villages=1, residents=1)
    person = town["people"][0]
    await owner_pool.execute(
        "update vg.accounts set resident_village = null, resident_id = null where phone = $1",
        person["phone"],
    )
    confirm = """mutation($p: String!, $r: ID!) { confirmResidentAccount(phone: $p, resident: $r) { id } }"""
    variables = {"p": person["phone"], "r": str(person["id"])}
    outsider = await gql.error(confirm, variables, as_=VILLAGE_CADRE)
    assert outsider["extensions"]["code"] in ("NOT_FOUND", "FORBIDDEN")
    done = await gql.data(confirm, variables, as_=town["villages"][0]["cadre"])
    assert done["confirmResidentAccount"]["id"] == str(person["id"])
    twice = await gql.error(confirm, variables, as_=town["villages"][0]["cadre"])
    assert twice["extensions"]["code"] == "CONFLICT"


async def test_the_login_code_functions_belong_to_the_login_path(as_request_role):
    await as_request_role.begin_as(None)
    for sql in (
        "select vg.issue_login_code('13900000000', '\\x00', '123456', '10 minutes')",
        "select vg.redeem_login_code('13900000000', '\\x00', 'x')",
        "select code_hash from vg.login_codes limit 1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with as_request_role.transaction():
                await as_request_role.fetchval(sql)


async def test_bind_wechat_stores_the_openid_of_an_oauth_code(
    remote, settings, request_pool, login_pool, session_token, account_id, owner_pool
):
    fake, base = remote

    def respond(path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        assert path == "/sns/oauth2/access_token" and query["grant_type"] == "authorization_code"
        if query["code"] != "good-code":
            return 200, {"errcode": 40029, "errmsg": "invalid code"}
        return 200, {
            "access_token": "A",
            "expires_in": 7200,
            "refresh_token": "R",
            "openid": "o-bound-by-oauth",
            "scope": "snsapi_base",
        }

    fake.respond = respond
    config = replace(settings, wechat_api_base=base, wechat_app_id="wx", wechat_app_secret="s")
    account = await owner_pool.fetchval(
        "insert into vg.accounts (phone, password_hash, display_name) values ($1, '!', '新用户')"
        " returning id",
        new_phone(),
    )
    schema = build_schema()
    mutation = "mutation($c: String!) { bindWechat(code: $c) { id } }"

    async def run(code: str) -> Any:
        from villagegraph.tenants.auth import Credential

        session = RequestSession(
            request_pool, Credential(account, await session_token(account)), login_pool
        )
        context = Context(
            request=None,
            response=None,
            db=session,
            settings=config,
            tokens=TokenService(config),
            request_id="t",
        )
        result = await schema.execute(mutation, variable_values={"c": code}, context_value=context)
        await session.close(commit=not result.errors)
        return result

    bad = await run("stolen-code")
    assert bad.errors[0].extensions["code"] == "BAD_USER_INPUT"
    good = await run("good-code")
    assert not good.errors
    assert fake.requests[-1]["query"]["appid"] == "wx"
    stored = await owner_pool.fetchval(
        "select address from vg.channel_addresses where account_id = $1 and channel = 'wechat'",
        account,
    )
    assert stored == "o-bound-by-oauth"
