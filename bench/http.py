"""A minimal HTTP/1.1 keep-alive client for POSTing GraphQL.

The load generator shares the machine's two cores with the service, so it must cost far
less per request than the service does; httpx costs about as much as a cached feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any


class GraphQLConnection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def post(self, query: str, variables: dict[str, Any], token: str | None) -> Any:
        """POST one operation; returns `data`, raising on errors or a non-200 status."""
        body = json.dumps({"query": query, "variables": variables}).encode()
        head = (
            f"POST /graphql HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            + (f"Authorization: Bearer {token}\r\n" if token else "")
            + "\r\n"
        )
        reader, writer = await self._open()
        writer.write(head.encode() + body)
        status_line = await reader.readline()
        if not status_line:  # the server closed the idle connection (keep-alive timeout)
            await self.close()
            reader, writer = await self._open()
            writer.write(head.encode() + body)
            status_line = await reader.readline()
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = json.loads(await reader.readexactly(length))
        if b" 200 " not in status_line or payload.get("errors"):
            raise RuntimeError(f"{status_line!r}: {payload}")
        return payload["data"]

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._reader = self._writer = None
