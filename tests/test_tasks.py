"""Tasks (待办/督办): assigning inside one's subtree, the assignee's and issuer's actions,
status derived at read time, reminders and escalation on a clock the tests control."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.demo import (
    COUNTY_OFFICIAL,
    FAR_VILLAGE,
    LUCHENG,
    NEIGHBOUR_VILLAGE,
    RESIDENT,
    TOWN_OFFICIAL,
    VILLAGE_CADRE,
    WUMA,
)
from villagegraph.resolvers.tasks import escalate_overdue_tasks, remind_due_tasks

TASK_FIELDS = """id title status supervised dueAt attachments issuer { code } assignee { code }
    escalatedTo { code } reminders { kind sentAt } completionNote"""
ASSIGN = f"""mutation($i: AssignTaskInput!) {{ assignTask(input: $i) {{ {TASK_FIELDS} }} }}"""
COMPLETE = (
    f"""mutation($id: ID!, $n: String) {{ completeTask(id: $id, note: $n) {{ {TASK_FIELDS} }} }}"""
)
ACKNOWLEDGE = "mutation($id: ID!) { acknowledgeTask(id: $id) { id acknowledgedAt } }"
REOPEN = f"""mutation($id: ID!, $d: DateTime, $r: String) {{
  reopenTask(id: $id, dueAt: $d, reason: $r) {{ {TASK_FIELDS} }} }}"""
TASKS = f"""query($u: ID!, $s: TaskStatus, $e: Boolean) {{
  tasks(unit: $u, status: $s, escalated: $e, first: 100) {{
    totalCount edges {{ node {{ {TASK_FIELDS} }} }} }} }}"""

ESCALATED_TO = f"""query($u: ID!, $after: String) {{
  tasks(unit: $u, escalated: true, first: 100, after: $after) {{
    pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {TASK_FIELDS} }} }} }} }}"""


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def task_input(assignees: list[str], **extra: object) -> dict[str, object]:
    return {
        "assignees": assignees,
        "title": "上报消防安全检查台账",
        "body": "请于截止日前上报。",
        "dueAt": in_days(2),
        **extra,
    }


async def test_town_official_assigns_one_task_per_unit_and_tells_their_cadres(
    gql, make_village, owner_pool
):
    first, second = await make_village(), await make_village()
    tasks = (
        await gql.data(
            ASSIGN,
            {
                "i": task_input(
                    [first["code"], second["code"]],
                    supervised=True,
                    attachments=["https://example.org/模板.docx"],
                )
            },
            as_=TOWN_OFFICIAL,
        )
    )["assignTask"]
    assert [t["assignee"]["code"] for t in tasks] == [first["code"], second["code"]]
    assert {t["issuer"]["code"] for t in tasks} == {WUMA}
    assert all(t["status"] == "OPEN" and t["supervised"] for t in tasks)
    assert tasks[0]["attachments"] == ["https://example.org/模板.docx"]
    notified = await owner_pool.fetch(
        """select o.tenant_code, a.phone from vg.outbox o join vg.accounts a
             on a.id = o.recipient_account
            where o.kind = 'task.assigned' and (o.payload ->> 'task')::bigint = any($1::bigint[])""",
        [int(t["id"]) for t in tasks],
    )
    assert {(str(r["tenant_code"]), r["phone"]) for r in notified} == {
        (first["code"], first["cadre"]),
        (second["code"], second["cadre"]),
    }


async def test_assigning_outside_ones_subtree_is_forbidden_and_changes_nothing(
    gql, make_village, owner_pool
):
    village = await make_village()
    before = await owner_pool.fetchval("select count(*) from vg.tasks")
    error = await gql.error(
        ASSIGN, {"i": task_input([village["code"], FAR_VILLAGE])}, as_=TOWN_OFFICIAL
    )
    assert error["extensions"]["code"] == "FORBIDDEN"
    # A cadre serves its village; it cannot assign to itself or to a neighbour.
    for target in (village["code"], NEIGHBOUR_VILLAGE):
        error = await gql.error(ASSIGN, {"i": task_input([target])}, as_=village["cadre"])
        assert error["extensions"]["code"] == "FORBIDDEN"
    assert await owner_pool.fetchval("select count(*) from vg.tasks") == before


async def test_bad_task_input_is_rejected(gql, make_village):
    village = await make_village()
    for bad in (
        task_input([village["code"]], dueAt=in_days(-1)),
        task_input([]),
        task_input([village["code"]], attachments=["javascript:alert(1)"]),
        task_input([village["code"]], title="  "),
    ):
        error = await gql.error(ASSIGN, {"i": bad}, as_=TOWN_OFFICIAL)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", bad


async def test_request_role_cannot_issue_tasks_above_its_write_scope(as_request_role, account_id):
    official = await account_id(TOWN_OFFICIAL)
    await as_request_role.begin_as(official)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_request_role.execute(
            """insert into vg.tasks (assignee_code, issuer_code, issued_by, title, body, due_at)
               values ($1, $2, $3, 'x', 'y', now() + interval '1 day')""",
            int(FAR_VILLAGE),
            int(LUCHENG),
            official,
        )


async def test_assignee_cadre_completes_the_issuer_hears_and_may_reopen(
    gql, make_village, owner_pool
):
    village = await make_village()
    task = (await gql.data(ASSIGN, {"i": task_input([village["code"]])}, as_=TOWN_OFFICIAL))[
        "assignTask"
    ][0]
    # Outsiders do not see it; the issuer's side may not complete it for the assignee.
    for phone, code in (
        (VILLAGE_CADRE, "NOT_FOUND"),
        (village["residents"][0]["phone"], "NOT_FOUND"),
        (TOWN_OFFICIAL, "FORBIDDEN"),
    ):
        error = await gql.error(COMPLETE, {"id": task["id"]}, as_=phone)
        assert error["extensions"]["code"] == code, phone
    acknowledged = await gql.data(ACKNOWLEDGE, {"id": task["id"]}, as_=village["cadre"])
    assert acknowledged["acknowledgeTask"]["acknowledgedAt"]
    done = (await gql.data(COMPLETE, {"id": task["id"], "n": "已上报"}, as_=village["cadre"]))[
        "completeTask"
    ]
    assert done["status"] == "DONE" and done["completionNote"] == "已上报"
    told = await owner_pool.fetch(
        """select a.phone, o.payload ->> 'on_time' as on_time from vg.outbox o
             join vg.accounts a on a.id = o.recipient_account
            where o.kind = 'task.completed' and (o.payload ->> 'task')::bigint = $1""",
        int(task["id"]),
    )
    assert [(r["phone"], r["on_time"]) for r in told] == [(TOWN_OFFICIAL, "true")]
    again = await gql.error(COMPLETE, {"id": task["id"]}, as_=village["cadre"])
    assert again["extensions"]["code"] == "CONFLICT"
    error = await gql.error(REOPEN, {"id": task["id"]}, as_=village["cadre"])
    assert error["extensions"]["code"] == "FORBIDDEN"
    reopened = (
        await gql.data(
            REOPEN, {"id": task["id"], "d": in_days(5), "r": "补充材料"}, as_=TOWN_OFFICIAL
        )
    )["reopenTask"]
    assert reopened["status"] == "OPEN"


async def test_overdue_is_derived_when_read_never_stored(gql, make_village, owner_pool):
    village = await make_village()
    task = (await gql.data(ASSIGN, {"i": task_input([village["code"]])}, as_=TOWN_OFFICIAL))[
        "assignTask"
    ][0]
    await owner_pool.execute(
        "update vg.tasks set due_at = now() - interval '1 minute' where id = $1", int(task["id"])
    )
    by_status = {}
    for status in ("OPEN", "OVERDUE", "DONE"):
        page = (await gql.data(TASKS, {"u": village["code"], "s": status}, as_=village["cadre"]))[
            "tasks"
        ]
        by_status[status] = [edge["node"]["id"] for edge in page["edges"]]
    assert by_status == {"OPEN": [], "OVERDUE": [task["id"]], "DONE": []}


async def test_residents_and_other_villages_see_no_tasks(gql, make_village):
    village = await make_village()
    await gql.data(ASSIGN, {"i": task_input([village["code"]])}, as_=TOWN_OFFICIAL)
    for phone in (village["residents"][0]["phone"], VILLAGE_CADRE, RESIDENT):
        page = (await gql.data(TASKS, {"u": village["code"]}, as_=phone))["tasks"]
        assert page["totalCount"] == 0, phone


async def test_reminders_and_escalation_follow_the_clock_and_are_sent_once(
    gql, make_village, owner_pool
):
    village = await make_village()
    task = (await gql.data(ASSIGN, {"i": task_input([village["code"]])}, as_=TOWN_OFFICIAL))[
        "assignTask"
    ][0]
    task_id = int(task["id"])
    due = await owner_pool.fetchval("select due_at from vg.tasks where id = $1", task_id)

    async def scan(at: datetime) -> list[tuple[str, str]]:
        async with owner_pool.acquire() as conn, conn.transaction():
            await remind_due_tasks(conn, at)
            await escalate_overdue_tasks(conn, at)
        rows = await owner_pool.fetch(
            """select o.kind, o.payload ->> 'reminder' as reminder, a.phone from vg.outbox o
                 join vg.accounts a on a.id = o.recipient_account
                where (o.payload ->> 'task')::bigint = $1 and o.kind <> 'task.assigned'
                order by o.id""",
            task_id,
        )
        return [(r["kind"], r["reminder"] or r["phone"]) for r in rows]

    assert await scan(due - timedelta(days=2)) == []
    assert await scan(due - timedelta(hours=12)) == [("task.reminder", "DUE_SOON")]
    assert await scan(due - timedelta(hours=1)) == [("task.reminder", "DUE_SOON")]
    overdue = [("task.reminder", "DUE_SOON"), ("task.reminder", "OVERDUE")]
    assert await scan(due + timedelta(minutes=1)) == overdue
    assert await scan(due + timedelta(days=2, hours=23)) == overdue
    escalated = await scan(due + timedelta(days=3, minutes=1))
    assert escalated[:2] == overdue
    assert [kind for kind, _ in escalated[2:]] and {k for k, _ in escalated[2:]} == {
        "task.escalated"
    }
    # The issuer's superior and, since issue 16, the issuer itself are told.
    told = {
        r["phone"]
        for r in await owner_pool.fetch(
            """select a.phone from vg.grants g join vg.accounts a on a.id = g.account_id
                where g.unit_code = any($1::bigint[]) and g.revoked_at is null""",
            [int(LUCHENG), int(WUMA)],
        )
    }
    assert {phone for _, phone in escalated[2:]} == told
    assert await scan(due + timedelta(days=10)) == escalated

    # The county sees it among the tasks escalated to it, with every reminder.
    mine, after = [], None
    for _ in range(20):
        page = (await gql.data(ESCALATED_TO, {"u": LUCHENG, "after": after}, as_=COUNTY_OFFICIAL))[
            "tasks"
        ]
        mine += [e["node"] for e in page["edges"] if e["node"]["id"] == task["id"]]
        assert all(e["node"]["escalatedTo"] == {"code": LUCHENG} for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert mine and mine[0]["escalatedTo"] == {"code": LUCHENG}
    assert [r["kind"] for r in mine[0]["reminders"]] == ["DUE_SOON", "OVERDUE", "ESCALATED"]


async def test_completed_tasks_are_neither_reminded_nor_escalated(gql, make_village, owner_pool):
    village = await make_village()
    task = (await gql.data(ASSIGN, {"i": task_input([village["code"]])}, as_=TOWN_OFFICIAL))[
        "assignTask"
    ][0]
    await gql.data(COMPLETE, {"id": task["id"]}, as_=village["cadre"])
    async with owner_pool.acquire() as conn, conn.transaction():
        await remind_due_tasks(conn, datetime.now(UTC) + timedelta(days=30))
        await escalate_overdue_tasks(conn, datetime.now(UTC) + timedelta(days=30))
    assert not await owner_pool.fetchval(
        "select count(*) from vg.task_reminders where task_id = $1", int(task["id"])
    )


async def test_task_figures_add_up_from_towns_to_the_county(gql, make_village, owner_pool):
    village = await make_village()
    await gql.data(ASSIGN, {"i": task_input([village["code"]])}, as_=TOWN_OFFICIAL)
    query = """query($u: ID!) { dashboard(unit: $u) {
        openTasks overdueTasks tasksCompleted tasksCompletedOnTime onTimeCompletionRate
        children { unit { code } openTasks overdueTasks tasksCompleted } } }"""
    county = (await gql.data(query, {"u": LUCHENG}, as_=COUNTY_OFFICIAL))["dashboard"]
    own_level = await owner_pool.fetchrow(
        """select count(*) filter (where completed_at is null) as open,
                  count(*) filter (where completed_at is null and due_at <= now()) as overdue
             from vg.tasks where assignee_code = $1""",
        int(LUCHENG),
    )
    for figure, extra in (("openTasks", own_level["open"]), ("overdueTasks", own_level["overdue"])):
        assert county[figure] == sum(c[figure] for c in county["children"]) + extra, figure
    town = next(c for c in county["children"] if c["unit"]["code"] == WUMA)
    assert town["openTasks"] >= 1 and county["overdueTasks"] >= 1
    rate = county["onTimeCompletionRate"]
    assert rate is None or 0 <= rate <= 1


async def test_task_list_costs_a_fixed_number_of_statements(execute, account_id):
    query = f"""query($u: ID!) {{ tasks(unit: $u, first: 50) {{
        totalCount edges {{ node {{ {TASK_FIELDS} }} }} }} }}"""
    result, session = await execute(query, await account_id(TOWN_OFFICIAL), {"u": WUMA})
    assert not result.errors
    assert len(result.data["tasks"]["edges"]) >= 10
    # begin_request, the page, the inspection record, the count, reminders, units
    assert session.statements == 6


async def test_the_demo_shows_open_overdue_and_escalated_tasks(gql):
    # Counted per status: other tests add tasks under 五马街道, so one page proves nothing.
    by_status = "query($u: ID!, $s: TaskStatus) { tasks(unit: $u, status: $s) { totalCount } }"
    for status in ("OPEN", "OVERDUE", "DONE"):
        page = (await gql.data(by_status, {"u": WUMA, "s": status}, as_=TOWN_OFFICIAL))["tasks"]
        assert page["totalCount"] >= 1, status
    escalated = (await gql.data(TASKS, {"u": LUCHENG, "e": True}, as_=COUNTY_OFFICIAL))["tasks"]
    assert escalated["totalCount"] >= 1


async def test_assignee_cannot_move_its_deadline_or_reopen_by_hand(
    gql, make_village, as_request_role, account_id
):
    village = await make_village()
    task = (await gql.data(ASSIGN, {"i": task_input([village["code"]])}, as_=TOWN_OFFICIAL))[
        "assignTask"
    ][0]
    await gql.data(COMPLETE, {"id": task["id"]}, as_=village["cadre"])
    cadre = await account_id(village["cadre"])
    await as_request_role.begin_as(cadre)
    for statement in (
        "update vg.tasks set due_at = due_at + interval '30 days' where id = $1",
        "update vg.tasks set completed_at = null where id = $1",
        "update vg.tasks set completed_by = completed_by + 1 where id = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with as_request_role.transaction():
                await as_request_role.execute(statement, int(task["id"]))
    # The issuing side may.
    await as_request_role.begin_as(await account_id(TOWN_OFFICIAL))
    status = await as_request_role.execute(
        """update vg.tasks set completed_at = null, due_at = due_at + interval '1 day',
                              reopen_reason = '补充材料' where id = $1""",
        int(task["id"]),
    )
    assert status == "UPDATE 1"


async def test_escalation_delay_is_configured_per_city(gql, make_village, owner_pool):
    village = await make_village()
    task = (await gql.data(ASSIGN, {"i": task_input([village["code"]])}, as_=TOWN_OFFICIAL))[
        "assignTask"
    ][0]
    async with owner_pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        due = await conn.fetchval("select due_at from vg.tasks where id = $1", int(task["id"]))
        await conn.execute("update vg.task_rules set escalate_after = interval '1 day'")
        await escalate_overdue_tasks(conn, due + timedelta(hours=23))
        early = await conn.fetchval(
            "select escalated_to from vg.tasks where id = $1", int(task["id"])
        )
        await escalate_overdue_tasks(conn, due + timedelta(days=1, minutes=1))
        late = await conn.fetchval(
            "select escalated_to from vg.tasks where id = $1", int(task["id"])
        )
        await transaction.rollback()
    assert (early, late) == (None, int(LUCHENG))


async def test_only_the_assignees_side_can_announce_a_completion(
    gql, make_village, as_request_role, account_id
):
    village = await make_village()
    task = (await gql.data(ASSIGN, {"i": task_input([village["code"]])}, as_=TOWN_OFFICIAL))[
        "assignTask"
    ][0]
    await gql.data(COMPLETE, {"id": task["id"]}, as_=village["cadre"])
    await as_request_role.begin_as(await account_id(VILLAGE_CADRE))  # another village
    assert await as_request_role.fetchval("select vg.notify_task_done($1)", int(task["id"])) == 0
