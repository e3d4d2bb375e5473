"""Supervision as township officials work it (issue 16): reopening with a new due date and a
reason, 催办 counted, 督办 that reaches the issuer's superior, escalation the issuer hears
of, relayed tasks rolled up, rules each city edits, inspections with verdicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.demo import CITY, CITY_OFFICIAL, COUNTY_OFFICIAL, LUCHENG, TOWN_OFFICIAL, WUMA
from tests.test_tasks import ASSIGN, COMPLETE, in_days, task_input
from villagegraph.resolvers.tasks import escalate_overdue_tasks, remind_due_tasks

FIELDS = """id status dueAt urgeCount lastUrgedAt issuer { code } assignee { code }
    escalatedTo { code } relayedFrom { id } relay { parts done late }
    reopenings { reason previousDueAt previousCompletedAt newDueAt completedLate }"""
REOPEN = f"""mutation($id: ID!, $d: DateTime, $r: String) {{
  reopenTask(id: $id, dueAt: $d, reason: $r) {{ {FIELDS} }} }}"""
URGE = f"mutation($id: ID!, $n: String) {{ urgeTask(id: $id, note: $n) {{ {FIELDS} }} }}"
RELAY = f"""mutation($id: ID!, $a: [ID!]!) {{ relayTask(id: $id, assignees: $a) {{ {FIELDS} }} }}"""
TASK = f"query($id: ID!) {{ task(id: $id) {{ {FIELDS} }} }}"


async def assign(gql, assignees: list[str], as_: str = TOWN_OFFICIAL, **extra) -> list[dict]:
    return (await gql.data(ASSIGN, {"i": task_input(assignees, **extra)}, as_=as_))["assignTask"]


async def scan(owner_pool, at: datetime) -> None:
    async with owner_pool.acquire() as conn, conn.transaction():
        await remind_due_tasks(conn, at)
        await escalate_overdue_tasks(conn, at)


async def told(owner_pool, task_id: str, kind: str) -> set[str]:
    rows = await owner_pool.fetch(
        """select a.phone from vg.outbox o join vg.accounts a on a.id = o.recipient_account
            where o.kind = $1 and (o.payload ->> 'task')::bigint = $2""",
        kind,
        int(task_id),
    )
    return {r["phone"] for r in rows}


async def staff_of(owner_pool, unit: str) -> set[str]:
    rows = await owner_pool.fetch(
        """select a.phone from vg.grants g join vg.accounts a on a.id = g.account_id
            where g.unit_code = $1 and g.revoked_at is null and g.role in ('OFFICIAL', 'CADRE')""",
        int(unit),
    )
    return {r["phone"] for r in rows}


# --- finding 1: reopening -------------------------------------------------------------


async def test_a_task_done_on_time_and_reopened_without_a_new_date_is_refused_not_overdue(
    gql, make_village, owner_pool
):
    village = await make_village()
    task = (await assign(gql, [village["code"]]))[0]
    await gql.data(COMPLETE, {"id": task["id"]}, as_=village["cadre"])
    # Days pass: the due date is behind us, the completion was on time.
    await owner_pool.execute(
        "update vg.tasks set due_at = now() - interval '5 days', completed_at = now() - interval '6 days' where id = $1",
        int(task["id"]),
    )
    for variables in ({"r": "材料不全"}, {"d": in_days(3)}, {"d": in_days(-1), "r": "材料不全"}):
        error = await gql.error(REOPEN, {"id": task["id"], **variables}, as_=TOWN_OFFICIAL)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", variables
    assert (await gql.data(TASK, {"id": task["id"]}, as_=TOWN_OFFICIAL))["task"]["status"] == "DONE"

    reopened = (
        await gql.data(
            REOPEN, {"id": task["id"], "d": in_days(3), "r": "材料不全，请补充"}, as_=TOWN_OFFICIAL
        )
    )["reopenTask"]
    assert reopened["status"] == "OPEN"
    [trace] = reopened["reopenings"]
    assert trace["reason"] == "材料不全，请补充" and trace["completedLate"] is False
    # Escalation counts from the new due date, not the old one.
    await scan(owner_pool, datetime.now(UTC) + timedelta(days=1))
    after = (await gql.data(TASK, {"id": task["id"]}, as_=TOWN_OFFICIAL))["task"]
    assert after["status"] == "OPEN" and after["escalatedTo"] is None
    due = datetime.fromisoformat(after["dueAt"])
    await scan(owner_pool, due + timedelta(days=3, minutes=1))
    escalated = (await gql.data(TASK, {"id": task["id"]}, as_=TOWN_OFFICIAL))["task"]
    assert escalated["escalatedTo"] == {"code": LUCHENG}


async def test_the_database_refuses_a_reopening_without_reason_or_future_date(
    gql, make_village, as_request_role, account_id
):
    import asyncpg

    village = await make_village()
    task = (await assign(gql, [village["code"]]))[0]
    await gql.data(COMPLETE, {"id": task["id"]}, as_=village["cadre"])
    await as_request_role.begin_as(await account_id(TOWN_OFFICIAL))
    for statement in (
        "update vg.tasks set completed_at = null where id = $1",
        "update vg.tasks set completed_at = null, reopen_reason = 'x', due_at = now() - interval '1 day' where id = $1",
    ):
        with pytest.raises(asyncpg.CheckViolationError):
            async with as_request_role.transaction():
                await as_request_role.execute(statement, int(task["id"]))


# --- finding 2: 催办, 督办, escalation, relay ---------------------------------------------


async def test_urging_tells_the_assignee_and_is_counted(gql, make_village, owner_pool):
    village = await make_village()
    task = (await assign(gql, [village["code"]]))[0]
    for n in (1, 2):
        urged = (await gql.data(URGE, {"id": task["id"], "n": "请抓紧"}, as_=TOWN_OFFICIAL))[
            "urgeTask"
        ]
        assert urged["urgeCount"] == n and urged["lastUrgedAt"]
    rows = await owner_pool.fetch(
        """select a.phone, o.payload ->> 'note' as note from vg.outbox o
             join vg.accounts a on a.id = o.recipient_account
            where o.kind = 'task.urged' and (o.payload ->> 'task')::bigint = $1""",
        int(task["id"]),
    )
    assert [(r["phone"], r["note"]) for r in rows] == [(village["cadre"], "请抓紧")] * 2
    audited = await owner_pool.fetchval(
        "select count(*) from vg.audit_log where action = 'task.urge' and entity_id = $1",
        task["id"],
    )
    assert audited == 2
    error = await gql.error(URGE, {"id": task["id"]}, as_=village["cadre"])
    assert error["extensions"]["code"] == "FORBIDDEN"
    await gql.data(COMPLETE, {"id": task["id"]}, as_=village["cadre"])
    error = await gql.error(URGE, {"id": task["id"]}, as_=TOWN_OFFICIAL)
    assert error["extensions"]["code"] == "CONFLICT"


async def test_supervised_tasks_reach_the_issuers_superior_as_soon_as_overdue(
    gql, make_village, owner_pool
):
    village = await make_village()
    supervised = (await assign(gql, [village["code"]], supervised=True))[0]
    routine = (await assign(gql, [village["code"]]))[0]
    due = await owner_pool.fetchval("select due_at from vg.tasks where id = $1", int(routine["id"]))
    await scan(owner_pool, due + timedelta(minutes=1))
    county = await staff_of(owner_pool, LUCHENG)
    assert await told(owner_pool, supervised["id"], "task.supervised_overdue") == county
    assert await told(owner_pool, routine["id"], "task.supervised_overdue") == set()
    # Escalation tells the superior and, now, the issuer too.
    await scan(owner_pool, due + timedelta(days=3, minutes=1))
    assert await told(owner_pool, routine["id"], "task.escalated") == county | await staff_of(
        owner_pool, WUMA
    )


async def test_the_superiors_dashboard_counts_supervised_overdue_tasks(
    gql, make_village, owner_pool
):
    village = await make_village()
    task = (await assign(gql, [village["code"]], supervised=True))[0]
    query = "query($u: ID!) { dashboard(unit: $u) { supervisedOverdueTasks } }"
    before = (await gql.data(query, {"u": LUCHENG}, as_=COUNTY_OFFICIAL))["dashboard"]
    await owner_pool.execute(
        "update vg.tasks set due_at = now() - interval '1 minute' where id = $1", int(task["id"])
    )
    after = (await gql.data(query, {"u": LUCHENG}, as_=COUNTY_OFFICIAL))["dashboard"]
    assert after["supervisedOverdueTasks"] == before["supervisedOverdueTasks"] + 1


async def test_a_town_relays_a_county_task_to_its_villages_and_progress_rolls_up(
    gql, make_village, owner_pool
):
    first, second = await make_village(), await make_village()
    original = (await assign(gql, [WUMA], as_=COUNTY_OFFICIAL, supervised=True))[0]
    assert original["issuer"] == {"code": LUCHENG}
    # Only the assignee's side relays, only to units below it.
    error = await gql.error(
        RELAY, {"id": original["id"], "a": [first["code"]]}, as_=COUNTY_OFFICIAL
    )
    assert error["extensions"]["code"] == "FORBIDDEN"
    error = await gql.error(RELAY, {"id": original["id"], "a": ["330381001001"]}, as_=TOWN_OFFICIAL)
    assert error["extensions"]["code"] == "FORBIDDEN"
    parts = (
        await gql.data(
            RELAY, {"id": original["id"], "a": [first["code"], second["code"]]}, as_=TOWN_OFFICIAL
        )
    )["relayTask"]
    assert {p["assignee"]["code"] for p in parts} == {first["code"], second["code"]}
    assert all(
        p["issuer"] == {"code": WUMA} and p["relayedFrom"] == {"id": original["id"]} for p in parts
    )
    assert all(p["dueAt"] == original["dueAt"] for p in parts)
    # The town no longer completes it by hand: its villages' parts do.
    error = await gql.error(COMPLETE, {"id": original["id"]}, as_=TOWN_OFFICIAL)
    assert error["extensions"]["code"] == "CONFLICT"

    by_village = {p["assignee"]["code"]: p["id"] for p in parts}
    await gql.data(COMPLETE, {"id": by_village[first["code"]]}, as_=first["cadre"])
    halfway = (await gql.data(TASK, {"id": original["id"]}, as_=COUNTY_OFFICIAL))["task"]
    assert halfway["status"] == "OPEN" and halfway["relay"] == {"parts": 2, "done": 1, "late": 0}
    await gql.data(COMPLETE, {"id": by_village[second["code"]]}, as_=second["cadre"])
    done = (await gql.data(TASK, {"id": original["id"]}, as_=COUNTY_OFFICIAL))["task"]
    assert done["status"] == "DONE" and done["relay"] == {"parts": 2, "done": 2, "late": 0}
    assert await told(owner_pool, original["id"], "task.completed") == await staff_of(
        owner_pool, LUCHENG
    )
    audited = await owner_pool.fetchval(
        "select count(*) from vg.audit_log where action = 'task.relay_complete' and entity_id = $1",
        original["id"],
    )
    assert audited == 1


async def test_a_relayed_task_is_late_when_any_part_is(gql, make_village, owner_pool):
    first, second = await make_village(), await make_village()
    original = (await assign(gql, [WUMA], as_=COUNTY_OFFICIAL))[0]
    parts = (
        await gql.data(
            RELAY, {"id": original["id"], "a": [first["code"], second["code"]]}, as_=TOWN_OFFICIAL
        )
    )["relayTask"]
    await owner_pool.execute(
        "update vg.tasks set due_at = now() - interval '1 hour' where id = $1", int(parts[0]["id"])
    )
    relay = (await gql.data(TASK, {"id": original["id"]}, as_=COUNTY_OFFICIAL))["task"]["relay"]
    assert relay == {"parts": 2, "done": 0, "late": 1}


# --- rules ----------------------------------------------------------------------------

SET_TASK_RULES = """mutation($i: TaskRulesInput!) { setTaskRules(input: $i) {
    city { code } remindBeforeHours escalateAfterHours } }"""
SET_DISCLOSURE_RULES = """mutation($i: DisclosureRuleInput!) { setDisclosureRules(input: $i) {
    board periodMonths deadlineOffsetMonths deadlineDay effectiveFrom remedyDays } }"""


async def test_the_city_edits_its_reminder_and_escalation_rules_and_the_change_is_audited(
    gql, owner_pool
):
    before = await owner_pool.fetchrow(
        "select * from vg.task_rules where city_code = $1", int(CITY)
    )
    try:
        rules = {"city": CITY, "remindBeforeHours": 48, "escalateAfterHours": 120}
        for phone in (COUNTY_OFFICIAL, TOWN_OFFICIAL):
            error = await gql.error(SET_TASK_RULES, {"i": rules}, as_=phone)
            assert error["extensions"]["code"] == "FORBIDDEN", phone
        for bad in ({**rules, "escalateAfterHours": 0}, {**rules, "remindBeforeHours": 10_000}):
            error = await gql.error(SET_TASK_RULES, {"i": bad}, as_=CITY_OFFICIAL)
            assert error["extensions"]["code"] == "BAD_USER_INPUT", bad
        result = (await gql.data(SET_TASK_RULES, {"i": rules}, as_=CITY_OFFICIAL))["setTaskRules"]
        assert result == {
            "city": {"code": CITY},
            "remindBeforeHours": 48,
            "escalateAfterHours": 120,
        }
        read = await gql.data(
            "query($c: ID!) { taskRules(city: $c) { remindBeforeHours escalateAfterHours } }",
            {"c": CITY},
            as_=TOWN_OFFICIAL,
        )
        assert read["taskRules"] == {"remindBeforeHours": 48, "escalateAfterHours": 120}
        detail = await owner_pool.fetchval(
            """select detail from vg.audit_log where action = 'task_rules.set'
                order by id desc limit 1"""
        )
        assert '"escalate_after_hours": 120' in detail
    finally:
        if before is not None:
            await owner_pool.execute(
                "update vg.task_rules set remind_before = $2, escalate_after = $3 where city_code = $1",
                int(CITY),
                before["remind_before"],
                before["escalate_after"],
            )


async def test_the_city_edits_its_disclosure_rules(gql, owner_pool):
    before = await owner_pool.fetchrow(
        "select * from vg.disclosure_rules where city_code = $1 and board = 'HONORS'", int(CITY)
    )
    rule = {
        "city": CITY,
        "board": "HONORS",
        "periodMonths": 12,
        "deadlineOffsetMonths": 1,
        "deadlineDay": 15,
        "effectiveFrom": "2026-01-01",
        "remedyDays": 10,
    }
    try:
        error = await gql.error(SET_DISCLOSURE_RULES, {"i": rule}, as_=COUNTY_OFFICIAL)
        assert error["extensions"]["code"] == "FORBIDDEN"
        error = await gql.error(
            SET_DISCLOSURE_RULES, {"i": {**rule, "periodMonths": 5}}, as_=CITY_OFFICIAL
        )
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        saved = (await gql.data(SET_DISCLOSURE_RULES, {"i": rule}, as_=CITY_OFFICIAL))[
            "setDisclosureRules"
        ]
        assert saved["periodMonths"] == 12 and saved["deadlineDay"] == 15
        assert await owner_pool.fetchval(
            "select count(*) from vg.audit_log where action = 'disclosure_rules.set'"
        )
    finally:
        if before is None:
            await owner_pool.execute(
                "delete from vg.disclosure_rules where city_code = $1 and board = 'HONORS'",
                int(CITY),
            )


async def test_the_demo_shows_a_relayed_task_an_urged_task_and_a_rectification(gql, owner_pool):
    # Found by the seed's own marks: other tests add tasks under 五马街道 with sooner dates.
    relayed = await owner_pool.fetchval(
        """select relayed_from from vg.tasks where relayed_from_unit = $1
            and completion_note = '已报送。' order by id limit 1""",
        int(WUMA),
    )
    original = (
        await gql.data(
            """query($id: ID!) { task(id: $id) { relay { parts done }
                 relayedParts { assignee { code } status } } }""",
            {"id": str(relayed)},
            as_=COUNTY_OFFICIAL,
        )
    )["task"]
    assert original["relay"] == {"parts": 3, "done": 1}
    urged = await owner_pool.fetchval(
        "select id from vg.tasks where urge_count = 2 and issued_by is not null order by id limit 1"
    )
    task = (await gql.data(TASK, {"id": str(urged)}, as_=TOWN_OFFICIAL))["task"]
    assert task["urgeCount"] == 2
    # The demo's reports are on its first two communities, which no test inspects.
    verdicts = {}
    for village in ("330302006001", "330302006002"):
        reports = await gql.data(
            """query($u: ID!) { inspectionReports(unit: $u) { edges { node {
                 verdict rectification rectificationTask { supervised } } } } }""",
            {"u": village},
            as_=TOWN_OFFICIAL,
        )
        verdicts |= {e["node"]["verdict"]: e["node"] for e in reports["inspectionReports"]["edges"]}
    assert verdicts["RECTIFY"]["rectificationTask"] == {"supervised": True}
    assert verdicts["RECTIFY"]["rectification"] == "RECTIFYING"
    assert "PASS" in verdicts
