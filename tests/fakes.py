"""Local fakes of the far sides the worker talks to (WeChat, an SMS gateway, a webhook):
one HTTP server on 127.0.0.1 per test that records every request and answers as the test
says (`respond(path, query, body)`), in the real APIs' shapes. JSON bodies and Aliyun's
form-encoded RPC bodies are both parsed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

Reply = tuple[int, dict[str, Any]]


class FakeRemote:
    """Records every request; `respond(path, query, body)` decides each answer."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.respond: Callable[[str, dict[str, str], dict[str, Any]], Reply] = lambda *_: (
            200,
            {"errcode": 0, "errmsg": "ok"},
        )
        self.lock = threading.Lock()
        self.delay = 0.0


@pytest.fixture
def remote() -> Iterator[tuple[FakeRemote, str]]:
    fake = FakeRemote()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.headers.get("Content-Type", "").startswith("application/x-www-form"):
                body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}  # Aliyun RPC form
            else:
                body = json.loads(raw) if raw else {}
            with fake.lock:
                fake.requests.append(
                    {
                        "path": parts.path,
                        "query": query,
                        "body": body,
                        "key": self.headers.get("Idempotency-Key"),
                    }
                )
                status, answer = fake.respond(parts.path, query, body)
            time.sleep(fake.delay)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
