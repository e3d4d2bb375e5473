"""Issue 13, findings 3 and 4: logins that resist guessing (per-phone failure counting in
the database, a per-address bucket keyed on the real peer, proxy headers off by default,
every attempt audited) and sessions with a lifecycle (short tokens, rotating refresh
tokens, logout, password change, revocation, reuse ending the family)."""

from __future__ import annotations

import random
from datetime import datetime

import asyncpg
import pytest

from tests.api_support import service
from tests.demo import RESIDENT

LOGIN = """mutation($p: String!, $w: String!) {
  login(phone: $p, password: $w) { token refreshToken expiresAt account { phone } } }"""
REFRESH = """mutation($r: String!) {
  refreshToken(refreshToken: $r) { token refreshToken expiresAt } }"""
ME = "{ me { phone } }"


async def post(http, query, variables=None, token=None, headers=None):
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    answer = await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    return answer


async def log_in(http, phone, password="demo"):
    answer = await post(http, LOGIN, {"p": phone, "w": password})
    body = answer.json()
    assert "errors" not in body, body
    return body["data"]["login"]


async def me(http, token):
    answer = await post(http, ME, token=token)
    if answer.status_code == 401:
        return None
    return (answer.json().get("data") or {}).get("me")


# ---------------------------------------------------------------- finding 3: guessing


async def test_finding_3_wrong_passwords_lock_the_phone_even_for_the_right_one(
    client, make_village, owner_pool
):
    phone = (await make_village(residents=1))["residents"][0]["phone"]
    waits = []
    for attempt in range(18):
        errors = (await post(client, LOGIN, {"p": phone, "w": "wrong"})).json()["errors"]
        code = errors[0]["extensions"]["code"]
        waits.append((code, errors[0]["extensions"].get("retryAfterSeconds")))
        if code == "RATE_LIMITED" and attempt < 17:
            # The wait is real: let the database forget it, as time would.
            await owner_pool.execute(
                "update vg.login_failures set locked_until = now() where phone = $1", phone
            )
    assert waits[0] == ("UNAUTHENTICATED", None)
    assert all(code == "UNAUTHENTICATED" for code, _ in waits[::2])
    seconds = [w for code, w in waits if code == "UNAUTHENTICATED" and w]
    assert seconds == sorted(seconds) and seconds[-1] == 900, waits
    # Locked now: the right password does not work either, and is not checked.
    error = (await post(client, LOGIN, {"p": phone, "w": "demo"})).json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 0 < error["extensions"]["retryAfterSeconds"] <= 900
    # Every failure is audited, without the password.
    rows = await owner_pool.fetch(
        "select detail from vg.audit_log where action = 'login.failed' and detail->>'phone' = $1",
        phone,
    )
    assert len(rows) >= 6
    assert all("wrong" not in str(r["detail"]) and "demo" not in str(r["detail"]) for r in rows)
    # Once the lock has passed, the right password works and the count starts again.
    await owner_pool.execute(
        "update vg.login_failures set locked_until = now() where phone = $1", phone
    )
    await log_in(client, phone)
    assert not await owner_pool.fetchval(
        "select count(*) from vg.login_failures where phone = $1", phone
    )
    audited = await owner_pool.fetchval(
        "select count(*) from vg.audit_log a join vg.accounts c on c.id = a.account_id"
        " where a.action = 'login' and c.phone = $1",
        phone,
    )
    assert audited == 1


async def test_finding_3_failure_counters_live_in_the_database_for_every_process(
    database, make_village
):
    """A second process (a second login-role connection) sees the same lock."""
    phone = (await make_village(residents=1))["residents"][0]["phone"]
    first = await asyncpg.connect(database.url("login"))
    second = await asyncpg.connect(database.url("login"))
    try:
        for _ in range(10):
            await first.fetchval("select vg.login_failed($1, '192.0.2.1')", phone)
        assert await second.fetchval("select vg.login_wait($1)", phone) > 600
        # The table itself is out of the login role's reach.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await second.execute("delete from vg.login_failures")
    finally:
        await first.close()
        await second.close()


async def test_finding_3_random_forwarded_for_headers_do_not_make_new_addresses(
    database, settings, owner_pool, make_village
):
    village = await make_village(residents=12)
    async with service(database, settings, login_attempts_per_minute=10) as http:
        answers = []
        for i in range(30):
            forged = {"X-Forwarded-For": f"203.0.113.{random.randrange(256)}"}
            phone = village["residents"][i % 12]["phone"]
            answer = await post(http, LOGIN, {"p": phone, "w": f"guess{i}"}, headers=forged)
            answers.append(answer.json()["errors"][0]["extensions"]["code"])
        assert "RATE_LIMITED" in answers
        assert answers.index("RATE_LIMITED") <= 10


def test_finding_3_the_server_trusts_proxy_headers_only_when_configured(settings):
    from villagegraph.cli import uvicorn_options

    default = uvicorn_options(settings)
    assert default["forwarded_allow_ips"] == ""
    assert default["proxy_headers"] is False
    import dataclasses

    behind = uvicorn_options(dataclasses.replace(settings, forwarded_allow_ips="10.0.0.5"))
    assert behind["forwarded_allow_ips"] == "10.0.0.5"
    assert behind["proxy_headers"] is True


# ---------------------------------------------------------------- finding 4: sessions


async def test_finding_4_login_returns_a_short_token_and_a_rotating_refresh_token(
    client, make_village
):
    phone = (await make_village(residents=1))["residents"][0]["phone"]
    first = await log_in(client, phone)
    expires = datetime.fromisoformat(first["expiresAt"])
    assert (expires - datetime.now(expires.tzinfo)).total_seconds() <= 15 * 60 + 5
    assert (await me(client, first["token"]))["phone"] == phone
    renewed = (await post(client, REFRESH, {"r": first["refreshToken"]})).json()["data"]
    renewed = renewed["refreshToken"]
    assert renewed["refreshToken"] != first["refreshToken"]
    assert (await me(client, renewed["token"]))["phone"] == phone
    # The old pair is used up: the old access token stops with it.
    assert await me(client, first["token"]) is None
    # Reusing the rotated refresh token ends the whole family, the new pair included.
    reuse = (await post(client, REFRESH, {"r": first["refreshToken"]})).json()
    assert reuse["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await me(client, renewed["token"]) is None
    again = (await post(client, REFRESH, {"r": renewed["refreshToken"]})).json()
    assert again["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_finding_4_logout_ends_the_session_and_its_refresh_token(client, make_village):
    phone = (await make_village(residents=1))["residents"][0]["phone"]
    session = await log_in(client, phone)
    other = await log_in(client, phone)
    answer = (await post(client, "mutation { logout }", token=session["token"])).json()
    assert answer == {"data": {"logout": True}}
    assert await me(client, session["token"]) is None
    refused = (await post(client, REFRESH, {"r": session["refreshToken"]})).json()
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await me(client, other["token"]))["phone"] == phone  # another device stays


async def test_finding_4_a_password_change_ends_every_other_session(
    client, make_village, owner_pool
):
    phone = (await make_village(residents=1))["residents"][0]["phone"]
    mine, stolen = await log_in(client, phone), await log_in(client, phone)
    change = "mutation($o: String!, $n: String!) { changePassword(old: $o, new: $n) }"
    for weak in ("short", "aaaaaaaaaaaa", f"x{phone}y", "1234567890"):
        error = (await post(client, change, {"o": "demo", "n": weak}, mine["token"])).json()
        assert error["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", weak
    wrong = await post(client, change, {"o": "nope", "n": "a-new-long-pass"}, mine["token"])
    assert wrong.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    ok = await post(client, change, {"o": "demo", "n": "a-new-long-pass"}, mine["token"])
    assert ok.json() == {"data": {"changePassword": True}}
    assert (await me(client, mine["token"]))["phone"] == phone
    assert await me(client, stolen["token"]) is None
    refused = (await post(client, REFRESH, {"r": stolen["refreshToken"]})).json()
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    old = (await post(client, LOGIN, {"p": phone, "w": "demo"})).json()
    assert old["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await log_in(client, phone, "a-new-long-pass")
    actions = await owner_pool.fetch(
        "select a.action from vg.audit_log a join vg.accounts c on c.id = a.account_id"
        " where c.phone = $1 order by a.id",
        phone,
    )
    assert "password.change" in [r["action"] for r in actions]
    assert "a-new-long-pass" not in str(
        await owner_pool.fetch("select detail from vg.audit_log order by id desc limit 20")
    )


async def test_finding_4_a_disabled_account_or_revoked_grant_stops_every_session(
    client, make_village, owner_pool
):
    village = await make_village(residents=1)
    resident, cadre = village["residents"][0]["phone"], village["cadre"]
    session = await log_in(client, resident)
    await owner_pool.execute(
        "update vg.accounts set disabled_at = now() where phone = $1", resident
    )
    assert await me(client, session["token"]) is None
    refused = (await post(client, REFRESH, {"r": session["refreshToken"]})).json()
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    login = (await post(client, LOGIN, {"p": resident, "w": "demo"})).json()
    assert login["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # A revoked grant: the cadre's very next request has no staff powers.
    staff = await log_in(client, cadre)
    roles = "{ me { roles } }"
    before = (await post(client, roles, token=staff["token"])).json()["data"]["me"]["roles"]
    assert "CADRE" in before
    await owner_pool.execute(
        "update vg.grants set revoked_at = now() from vg.accounts a"
        " where a.id = grants.account_id and a.phone = $1",
        cadre,
    )
    after = (await post(client, roles, token=staff["token"])).json()["data"]["me"]["roles"]
    assert "CADRE" not in after


async def test_the_demo_resident_still_logs_in(client):
    assert (await log_in(client, RESIDENT))["account"]["phone"] == RESIDENT
