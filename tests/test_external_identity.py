"""Tokens from an external identity provider: RS256 verified against its JWKS endpoint."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from villagegraph.config import Settings
from villagegraph.tenants.auth import InvalidToken, TokenService


@pytest.fixture(scope="module")
def identity_provider():
    """A local JWKS endpoint publishing one RSA key (kid 'k1')."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class JWKS(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), JWKS)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield key, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()


def claims(**extra):
    now = int(time.time())
    return {"sub": "42", "iss": "idp.example", "iat": now, "exp": now + 60, **extra}


def service(tmp_path, url: str) -> TokenService:
    return TokenService(
        Settings(
            home=tmp_path,
            database_url=None,
            jwt_algorithm="RS256",
            jwt_jwks_url=url,
            jwt_issuer="idp.example",
        )
    )


def test_jwks_token_names_the_account(identity_provider, tmp_path):
    key, url = identity_provider
    token = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k1"})
    assert service(tmp_path, url).account_id(token) == 42


def test_jwks_rejects_foreign_keys_hs_confusion_and_wrong_issuer(identity_provider, tmp_path):
    key, url = identity_provider
    tokens = service(tmp_path, url)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = [
        jwt.encode(claims(), stranger, algorithm="RS256", headers={"kid": "k1"}),
        _hs_with_public_key(public_pem),
        jwt.encode(claims(iss="evil"), key, algorithm="RS256", headers={"kid": "k1"}),
        jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "unknown"}),
    ]
    for token in forged:
        with pytest.raises(InvalidToken):
            tokens.account_id(token)


def _hs_with_public_key(public_pem: bytes) -> str:
    """An HS256 token whose HMAC key is the provider's public key (algorithm confusion)."""
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    payload = b64(json.dumps(claims()).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"
