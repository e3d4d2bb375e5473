"""Disclosure compliance: villages without a disclosure declaring a board's period by its
deadline get one supervised task from their town per missed period, on a clock the tests
control; rules are per city."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.demo import TOWN_OFFICIAL, WUMA
from villagegraph.resolvers.tasks import raise_disclosure_tasks

CST = timezone(timedelta(hours=8))
# The demo rules (Wenzhou, from 2026-07): finance monthly by the 10th of the next month,
# general affairs quarterly by the 20th of the month after the quarter.
EXPECTED_AFFAIRS = {"disclosure:AFFAIRS:2026-07"}


async def publish(
    owner_pool, village: str, board: str, at: datetime, period: str | None = None
) -> None:
    await owner_pool.execute(
        """insert into vg.notices (publisher_code, board, title, body, audience, published_at,
                                   period)
           values ($1, $2, '公开', '内容', 'MEMBERS', $3, $4)""",
        int(village),
        board,
        at,
        period,
    )


async def scan(owner_pool, now: datetime) -> int:
    async with owner_pool.acquire() as conn, conn.transaction():
        return await raise_disclosure_tasks(conn, now)


async def source_keys(owner_pool, village: str) -> set[str]:
    rows = await owner_pool.fetch(
        "select source_key from vg.tasks where assignee_code = $1 and source_key is not null",
        int(village),
    )
    return {r["source_key"] for r in rows}


async def test_each_missed_period_raises_one_supervised_task_from_the_town(
    gql, make_village, owner_pool
):
    diligent, silent = await make_village(), await make_village()
    await publish(
        owner_pool, diligent["code"], "FINANCE", datetime(2026, 11, 5, 9, tzinfo=CST), "2026-10"
    )

    await scan(owner_pool, datetime(2026, 11, 10, 23, 59, tzinfo=CST))
    finance_before = {f"disclosure:FINANCE:2026-{m:02d}" for m in range(7, 10)}
    assert await source_keys(owner_pool, silent["code"]) == finance_before | EXPECTED_AFFAIRS

    await scan(owner_pool, datetime(2026, 11, 11, 0, 1, tzinfo=CST))
    # The silent village has now missed October's finance too; the diligent one disclosed
    # October by its deadline (Nov 10).
    assert await source_keys(owner_pool, silent["code"]) == (
        finance_before | {"disclosure:FINANCE:2026-10"} | EXPECTED_AFFAIRS
    )
    assert await source_keys(owner_pool, diligent["code"]) == finance_before | EXPECTED_AFFAIRS

    # Running again raises nothing twice.
    counts = (
        await source_keys(owner_pool, silent["code"]),
        await owner_pool.fetchval(
            "select count(*) from vg.outbox where tenant_code = $1", int(silent["code"])
        ),
    )
    assert await scan(owner_pool, datetime(2026, 11, 11, 0, 2, tzinfo=CST)) == 0
    assert counts == (
        await source_keys(owner_pool, silent["code"]),
        await owner_pool.fetchval(
            "select count(*) from vg.outbox where tenant_code = $1", int(silent["code"])
        ),
    )

    page = (
        await gql.data(
            """query($u: ID!) { tasks(unit: $u, first: 100) { edges { node {
                title supervised fromDisclosureCheck issuer { code } } } } }""",
            {"u": silent["code"]},
            as_=silent["cadre"],
        )
    )["tasks"]
    nodes = [edge["node"] for edge in page["edges"]]
    assert len(nodes) == 5
    assert all(n["supervised"] and n["fromDisclosureCheck"] for n in nodes)
    assert {n["issuer"]["code"] for n in nodes} == {WUMA}
    titles = {n["title"] for n in nodes}
    assert "财务公开逾期未公开：2026年10月（应于2026-11-10前公开）" in titles
    assert "事务公开逾期未公开：2026年7–9月（应于2026-10-20前公开）" in titles
    # The village's cadre was told about each.
    told = await owner_pool.fetchval(
        """select count(*) from vg.outbox o join vg.accounts a on a.id = o.recipient_account
            where o.tenant_code = $1 and o.kind = 'task.assigned' and a.phone = $2""",
        int(silent["code"]),
        silent["cadre"],
    )
    assert told == 5


async def test_the_declared_period_counts_not_when_something_was_published(
    make_village, owner_pool
):
    village = await make_village()
    code = village["code"]
    # In September's window, but declaring August (late for it); October disclosed, then
    # withdrawn; an undeclared notice in the window counts for nothing.
    await publish(owner_pool, code, "FINANCE", datetime(2026, 10, 8, tzinfo=CST), "2026-08")
    await publish(owner_pool, code, "FINANCE", datetime(2026, 10, 9, tzinfo=CST))
    await publish(owner_pool, code, "FINANCE", datetime(2026, 11, 3, tzinfo=CST), "2026-10")
    await owner_pool.execute(
        """update vg.notices set withdrawn_at = now(), withdrawal_reason = '金额有误'
            where publisher_code = $1 and period = '2026-10'""",
        int(code),
    )
    await publish(owner_pool, code, "AFFAIRS", datetime(2026, 10, 15, tzinfo=CST), "2026-08")
    await scan(owner_pool, datetime(2026, 11, 11, 0, 1, tzinfo=CST))
    keys = await source_keys(owner_pool, code)
    assert {f"disclosure:FINANCE:2026-{m}" for m in ("08", "09", "10")} <= keys
    assert "disclosure:AFFAIRS:2026-07" not in keys  # August lies in the third quarter


async def test_rules_are_configured_per_city_in_a_table(make_village, owner_pool):
    village = await make_village()
    async with owner_pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute(
            "update vg.disclosure_rules set deadline_day = 15 where board = 'FINANCE'"
        )
        await raise_disclosure_tasks(conn, datetime(2026, 11, 12, 9, tzinfo=CST))
        keys = {
            r["source_key"]
            for r in await conn.fetch(
                "select source_key from vg.tasks where assignee_code = $1", int(village["code"])
            )
        }
        await transaction.rollback()
    assert "disclosure:FINANCE:2026-09" in keys
    assert "disclosure:FINANCE:2026-10" not in keys  # due by the 15th under this rule


async def test_villages_out_of_compliance_until_their_tasks_are_done(gql, make_village, owner_pool):
    village = await make_village()
    await scan(owner_pool, datetime(2026, 11, 11, 0, 1, tzinfo=CST))
    query = """query($u: ID!) { dashboard(unit: $u) { villagesOutOfCompliance
        children { unit { code } villagesOutOfCompliance } } }"""

    async def figures() -> tuple[int, int]:
        town = (await gql.data(query, {"u": WUMA}, as_=TOWN_OFFICIAL))["dashboard"]
        mine = next(c for c in town["children"] if c["unit"]["code"] == village["code"])
        assert town["villagesOutOfCompliance"] == sum(
            c["villagesOutOfCompliance"] for c in town["children"]
        )
        return town["villagesOutOfCompliance"], mine["villagesOutOfCompliance"]

    before_total, before_mine = await figures()
    assert before_mine == 1
    await owner_pool.execute(
        """update vg.tasks set completed_at = now()
            where assignee_code = $1 and source_key like 'disclosure:%'""",
        int(village["code"]),
    )
    assert await figures() == (before_total - 1, 0)
