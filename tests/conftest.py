"""Fixtures: one real PostgreSQL per test session (the embedded one unless
VILLAGEGRAPH_TEST_DATABASE_URL names another), migrated and seeded with the demo once.

Tests that write make their own tenant (`make_village`) or assert only on rows they
created, so they do not depend on one another or on order.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.demo import (
    ROOT,
    WUMA,
)
from tests.fakes import remote  # noqa: F401 - a fixture for every test module
from villagegraph import migrations, roles
from villagegraph.config import Settings
from villagegraph.database import (
    Database,
    create_database,
    create_login_pool,
    create_owner_pool,
    create_request_pool,
    start_embedded,
)
from villagegraph.schema import build_schema
from villagegraph.schema.context import Context
from villagegraph.seed import seed_demo
from villagegraph.server import create_app
from villagegraph.tenants.auth import Credential, TokenService, hash_password
from villagegraph.tenants.session import RequestSession, ScopedSession


@pytest.fixture(scope="session")
def database() -> Any:
    """A fresh database for this test session, dropped at the end."""
    home = Path(os.environ.get("VILLAGEGRAPH_TEST_HOME", ROOT / ".villagegraph-test"))
    passwords = roles.passwords(home)
    server_dsn = os.environ.get("VILLAGEGRAPH_TEST_DATABASE_URL")
    if not server_dsn:
        server_dsn = start_embedded(home, passwords[roles.ADMIN])
    roles.create_roles(server_dsn, passwords)
    name = f"vg_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(server_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    db = asyncio.run(create_database(Database(server_dsn, passwords=passwords), name))
    migrations.upgrade(db)
    yield db
    asyncio.run(admin(f'drop database "{name}" with (force)'))


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("home")
    # Every test request comes from one client address: the suite must not trip the rate
    # limit, and the isolation properties batch many lookups into one document (aliases).
    # The limits themselves are tested on services started with their own settings.
    unlimited = {
        "rate_per_minute": 1_000_000,
        "burst": 1_000_000,
        "aliases": 10_000,
        "cost": 10_000_000,
        "tokens": 1_000_000,
        "list_items": 100_000,
    }
    return Settings(
        home=home,
        database_url=None,
        jwt_secret="test-secret-" + uuid.uuid4().hex,
        limits={tier: dict(unlimited) for tier in ("anonymous", "resident", "official", "analyst")},
        login_attempts_per_minute=1_000_000,
    )


@pytest.fixture(scope="session")
async def owner_pool(database: Database) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_owner_pool(database, max_size=4)
    await seed_demo(pool)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def request_pool(
    database: Database, settings: Settings, owner_pool: asyncpg.Pool
) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_request_pool(database, settings)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def login_pool(database: Database, owner_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_login_pool(database)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def session_token(login_pool: asyncpg.Pool) -> Callable[[int | None], Awaitable[str | None]]:
    """A database session for an account, as the login path opens one (one per account)."""
    opened: dict[int, str] = {}

    async def open_for(account: int | None) -> str | None:
        if account is None:
            return None
        if account not in opened:
            token = await login_pool.fetchval("select vg.open_session($1)", account)
            if token is None:  # no such account: a well-formed session that does not exist
                return "999999999999." + "0" * 64
            opened[account] = token
        return opened[account]

    return open_for


@pytest.fixture(scope="session")
async def issue_token(
    settings: Settings, session_token: Callable[[int | None], Awaitable[str | None]]
) -> Callable[[int], Awaitable[str]]:
    """A bearer JWT for an account, as login returns it."""
    tokens = TokenService(settings)

    async def issue(account: int) -> str:
        session = await session_token(account)
        assert session is not None
        return tokens.issue(account, session)

    return issue


@pytest.fixture(scope="session")
async def app(
    database: Database, settings: Settings, owner_pool: asyncpg.Pool
) -> AsyncIterator[Any]:
    application = create_app(settings, database)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://villagegraph") as http:
        yield http


class GraphQLClient:
    """Posts GraphQL documents as a given demo account (or anonymously)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.tokens: dict[str, str] = {}

    async def token(self, phone: str, password: str = "demo") -> str:
        if phone not in self.tokens:
            result = await self.raw(
                "mutation($p: String!, $w: String!) { login(phone: $p, password: $w) { token } }",
                {"p": phone, "w": password},
            )
            assert "errors" not in result, result
            self.tokens[phone] = result["data"]["login"]["token"]
        return self.tokens[phone]

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, as_: str | None = None
    ) -> dict[str, Any]:
        headers = {}
        if as_ is not None:
            headers["Authorization"] = f"Bearer {await self.token(as_)}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        return response.json()  # type: ignore[no-any-return]

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, as_: str | None = None
    ) -> dict[str, Any]:
        """The data of a request that must succeed."""
        result = await self.raw(query, variables, as_)
        assert not result.get("errors"), result
        return result["data"]  # type: ignore[no-any-return]

    async def error(
        self, query: str, variables: dict[str, Any] | None = None, as_: str | None = None
    ) -> dict[str, Any]:
        """The first error of a request that must fail."""
        result = await self.raw(query, variables, as_)
        assert result.get("errors"), result
        return result["errors"][0]  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
async def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)


@pytest.fixture(scope="session")
def schema() -> Any:
    return build_schema()


@pytest.fixture
def execute(
    schema: Any,
    request_pool: asyncpg.Pool,
    login_pool: asyncpg.Pool,
    settings: Settings,
    session_token: Callable[[int | None], Awaitable[str | None]],
) -> Callable[..., Awaitable[tuple[Any, ScopedSession]]]:
    """Run a document straight through the schema, returning the result and its session,
    so tests can count the SQL statements an operation made."""

    async def run(
        query: str, account_id: int | None, variables: dict[str, Any] | None = None
    ) -> tuple[Any, ScopedSession]:
        token = await session_token(account_id)
        credential = None if account_id is None or token is None else Credential(account_id, token)
        session = RequestSession(request_pool, credential, login_pool)
        context = Context(
            request=None,
            response=None,
            db=session,
            settings=settings,
            tokens=TokenService(settings),
            request_id="test",
        )
        result = await schema.execute(query, variable_values=variables, context_value=context)
        return result, session

    return run


@pytest.fixture
async def account_id(owner_pool: asyncpg.Pool) -> Callable[[str], Awaitable[int]]:
    async def lookup(phone: str) -> int:
        return int(await owner_pool.fetchval("select id from vg.accounts where phone = $1", phone))

    return lookup


@pytest.fixture
async def as_request_role(
    request_pool: asyncpg.Pool, session_token: Callable[[int | None], Awaitable[str | None]]
) -> AsyncIterator[Any]:
    """A raw connection as the request role, inside a transaction that is rolled back.

    `await conn.begin_as(account_id)` sets a principal's context; without it the
    connection has no context at all.
    """
    async with request_pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            yield RequestRoleConnection(conn, session_token)
        finally:
            await transaction.rollback()


class RequestRoleConnection:
    """A request-role connection with `begin_as(account_id)`; other calls pass through."""

    def __init__(self, conn: Any, session_token: Callable[[int | None], Awaitable[Any]]) -> None:
        self._conn = conn
        self._session_token = session_token

    async def begin_as(self, account: int | None) -> Any:
        token = await self._session_token(account)
        return await self._conn.fetchval("select vg.begin_request($1)", token)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


_village_numbers = itertools.count(100)


@pytest.fixture
async def make_village(owner_pool: asyncpg.Pool) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Create a fresh community under 五马街道 with residents and a cadre of its own.

    Returns codes, phones (password `demo`) and resident ids, so a test owns its tenant.
    """

    async def create(residents: int = 3, tags: list[list[str]] | None = None) -> dict[str, Any]:
        number = next(_village_numbers) + (os.getpid() % 50)
        code = int(WUMA) + number
        while await owner_pool.fetchval("select 1 from vg.org_units where code = $1", code):
            code = int(WUMA) + next(_village_numbers)
        password = hash_password("demo")
        async with owner_pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "insert into vg.org_units (code, name, level, parent_code) values ($1, $2, 'VILLAGE', $3)",
                code,
                f"测试社区{code % 1000}",
                int(WUMA),
            )
            cadre_phone = f"1500{code % 10_000_000:07d}"
            cadre = await conn.fetchval(
                "insert into vg.accounts (phone, password_hash, display_name) values ($1, $2, '测试书记')"
                " returning id",
                cadre_phone,
                password,
            )
            await conn.execute(
                "insert into vg.grants (account_id, role, unit_code) values ($1, 'CADRE', $2)",
                cadre,
                code,
            )
            people = []
            for i in range(residents):
                resident_tags = tags[i] if tags and i < len(tags) else []
                resident_id = await conn.fetchval(
                    "insert into vg.residents (village_code, name, tags) values ($1, $2, $3) returning id",
                    code,
                    f"测试村民{i}",
                    resident_tags,
                )
                phone = f"151{code % 1_000_000:06d}{i:02d}"
                await conn.execute(
                    """insert into vg.accounts (phone, password_hash, display_name, resident_village, resident_id)
                       values ($1, $2, $3, $4, $5)""",
                    phone,
                    password,
                    f"测试村民{i}",
                    code,
                    resident_id,
                )
                people.append({"id": resident_id, "phone": phone, "tags": resident_tags})
        return {"code": str(code), "cadre": cadre_phone, "residents": people}

    return create
