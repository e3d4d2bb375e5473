"""Bearer tokens: anything untrusted is refused with UNAUTHENTICATED before a single field
runs; a revoked grant stops applying on the very next request."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.demo import CITY, WUMA
from villagegraph.server import create_app

PROBE = (
    f'{{ me {{ id }} unit(code: "{CITY}") {{ name }} notices(unit: "{CITY}") {{ totalCount }} }}'
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade_hs256(claims: dict[str, Any], key: bytes) -> str:
    """An HS256 token built by hand: PyJWT refuses to use a PEM key as an HMAC secret,
    which is exactly what an attacker holding the public key would do."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def claims(sub: Any = "1", **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": str(sub), "iss": "villagegraph", "iat": now, "exp": now + 300, **overrides}


async def refused(client: httpx.AsyncClient, token: str) -> None:
    response = await client.post(
        "/graphql", json={"query": PROBE}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401, response.text
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_expired_tampered_and_unsigned_tokens_are_refused(
    client, settings, account_id, issue_token
):
    me = await account_id("13800000000")
    good = await issue_token(me)
    header, payload, signature = good.split(".")
    forged_payload = b64(json.dumps(claims(me + 1)).encode())
    secret = settings.jwt_secret
    unsigned_header = b64(json.dumps({"alg": "none"}).encode())
    for token in (
        jwt.encode(claims(me, exp=int(time.time()) - 5), secret, algorithm="HS256"),
        jwt.encode(claims(me), "not-the-secret-but-long-enough-0123456789", algorithm="HS256"),
        f"{header}.{forged_payload}.{signature}",
        f"{header}.{payload}.{signature[:-4]}AAAA",
        jwt.encode(claims(me), None, algorithm="none"),
        unsigned_header + f".{payload}.",
        jwt.encode(claims(me), secret, algorithm="HS512"),
        jwt.encode(claims(me, iss="someone-else"), secret, algorithm="HS256"),
        jwt.encode({k: v for k, v in claims(me).items() if k != "exp"}, secret, algorithm="HS256"),
        jwt.encode(claims("not-a-number"), secret, algorithm="HS256"),
        "",
        "a.b",
        "a.b.c.d",
    ):
        if token:
            await refused(client, token)
    response = await client.post(
        "/graphql", json={"query": PROBE}, headers={"Authorization": f"Basic {good}"}
    )
    assert response.status_code == 401


async def test_a_token_for_an_unknown_account_reads_nothing(
    client, settings, as_request_role, issue_token
):
    token = await issue_token(987_654_321)
    response = await client.post(
        "/graphql", json={"query": PROBE}, headers={"Authorization": f"Bearer {token}"}
    )
    body = response.json()
    assert not any((body["data"] or {}).values()), body
    assert {e["extensions"]["code"] for e in body["errors"]} == {"UNAUTHENTICATED"}
    assert await as_request_role.begin_as(987_654_321) is None
    assert await as_request_role.fetchval("select count(*) from vg.notices") == 0


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


@pytest.fixture
async def rs256_client(database, settings, owner_pool, rsa_keys) -> AsyncIterator[Any]:
    """The service configured for an external identity provider signing with RS256."""
    rs_settings = dataclasses.replace(
        settings, jwt_algorithm="RS256", jwt_public_key=rsa_keys[1], pool_min_size=1
    )
    app = create_app(rs_settings, database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vg") as http:
            yield http


async def test_rs256_accepts_the_providers_tokens_only(rs256_client, rsa_keys, account_id):
    private, public = rsa_keys
    me = await account_id("13800000000")
    valid = jwt.encode(claims(me), private, algorithm="RS256")
    response = await rs256_client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": f"Bearer {valid}"}
    )
    assert response.json() == {"data": {"me": {"id": str(me)}}}

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for token in (
        handmade_hs256(claims(me), public.encode()),  # HS/RS confusion with the public key
        jwt.encode(claims(me), "any-shared-secret-long-enough-for-hs256!", algorithm="HS256"),
        jwt.encode(claims(me), other, algorithm="RS256"),
        jwt.encode(claims(me), None, algorithm="none"),
    ):
        await refused(rs256_client, token)


async def test_a_revoked_grant_stops_applying_on_the_next_request(
    client, settings, owner_pool, make_village, issue_token
):
    village = await make_village(residents=1)
    official = await owner_pool.fetchval(
        """insert into vg.accounts (phone, password_hash, display_name)
           values ('1590' || (random() * 1e7)::bigint::text, 'x', '撤销测试') returning id"""
    )
    grant = await owner_pool.fetchval(
        "insert into vg.grants (account_id, role, unit_code) values ($1, 'OFFICIAL', $2) returning id",
        official,
        int(WUMA),
    )
    token = await issue_token(official)
    query = f"""{{ me {{ grants {{ role }} }}
        dashboard(unit: "{village["code"]}") {{ residents }}
        notices(unit: "{village["code"]}") {{ totalCount }} }}"""
    headers = {"Authorization": f"Bearer {token}"}
    publish = f"""mutation {{ publishNotice(input: {{unit: "{village["code"]}", board: NOTICE,
        title: "撤销前", body: "b", audience: MEMBERS}}) {{ id }} }}"""

    before = (await client.post("/graphql", json={"query": publish}, headers=headers)).json()
    assert before["data"]["publishNotice"]["id"]
    seen = (await client.post("/graphql", json={"query": query}, headers=headers)).json()["data"]
    assert seen["me"]["grants"] == [{"role": "OFFICIAL"}]
    assert seen["dashboard"]["residents"] == 1
    assert seen["notices"]["totalCount"] == 1

    await owner_pool.execute("update vg.grants set revoked_at = now() where id = $1", grant)
    after = (await client.post("/graphql", json={"query": query}, headers=headers)).json()["data"]
    assert after == {"me": {"grants": []}, "dashboard": None, "notices": {"totalCount": 0}}
    refused_publish = (
        await client.post("/graphql", json={"query": publish}, headers=headers)
    ).json()
    assert refused_publish["errors"][0]["extensions"]["code"] == "FORBIDDEN"
