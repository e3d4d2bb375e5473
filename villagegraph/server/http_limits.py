"""HTTP-level limits that hold before GraphQL parses anything: the request body size, its
shape (a JSON body must be an object) and the time a request may take.

A body over the limit is refused with 413 without being read further; a request that
runs past the timeout is cancelled (the GraphQL view then rolls its transaction back and
returns its connection to the pool) and the client gets 504. Both answers are GraphQL-shaped JSON errors.
This module knows nothing about who is asking; per-principal limits live elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from villagegraph.errors import BadUserInput, QueryTooComplex
from villagegraph.server.auth import caller_of

log = logging.getLogger("villagegraph.http_limits")


class BodyTooLarge(Exception):
    pass


async def error_response(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, ensure_ascii=False
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class HttpLimits:
    def __init__(self, app: ASGIApp, max_body_bytes: int, timeout_seconds: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = (
            f"The request body is larger than {self.max_body_bytes} bytes; "
            "send a smaller query or fewer variables."
        )
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await error_response(send, 413, BadUserInput.code, too_large)
            return
        try:
            body = await self._read_body(receive)
        except BodyTooLarge:
            await error_response(send, 413, BadUserInput.code, too_large)
            return
        if not self._is_graphql_object(scope, body):
            await error_response(
                send, 400, BadUserInput.code, "The request body must be a JSON object."
            )
            return
        replay = self._replay(body, receive)
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, replay, tracking_send), self.timeout_seconds)
        except TimeoutError:
            caller = caller_of(scope)
            log.warning("request %s timed out", caller.request_id if caller else "-")
            if not started:
                await error_response(
                    send,
                    504,
                    QueryTooComplex.code,
                    f"The request took longer than {self.timeout_seconds:g} s and was "
                    "stopped; ask for less (fewer fields, smaller pages).",
                )

    async def _read_body(self, receive: Receive) -> bytes:
        """The whole body, read no further than the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    def _is_graphql_object(scope: Scope, body: bytes) -> bool:
        """A JSON body must be one GraphQL request object (no batches, no bare values)."""
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        if scope["method"] != "POST" or not content_type.startswith(b"application/json"):
            return True
        try:
            return isinstance(json.loads(body), dict)
        except (ValueError, RecursionError):
            return False

    @staticmethod
    def _replay(body: bytes, receive: Receive) -> Receive:
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay
