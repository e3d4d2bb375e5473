"""Helpers for the tests of the API layer: a service with settings of the test's own."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx

from villagegraph.app import create_app
from villagegraph.config import Settings
from villagegraph.database import Database


@contextlib.asynccontextmanager
async def service(
    database: Database, settings: Settings, **changes: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A running app (pool and all) with `changes` applied to the settings."""
    application = create_app(dataclasses.replace(settings, **changes), database)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://villagegraph") as http:
            yield http


async def login(http: httpx.AsyncClient, phone: str) -> dict[str, str]:
    response = await http.post(
        "/graphql",
        json={
            "query": 'mutation($p: String!) { login(phone: $p, password: "demo") { token } }',
            "variables": {"p": phone},
        },
    )
    return {"Authorization": "Bearer " + response.json()["data"]["login"]["token"]}
