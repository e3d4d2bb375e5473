"""Village democracy as the law runs it (issue 15), one test per finding and flow, through the
API for the roles involved and at the database where the database is the guarantee:

binding resolutions only from the statutory rules, advisory polls worded so; no early
close; sealed and turnout-only counts; ballot audit rows dated to the day; ballot secrecy
as a property; villagers' proposals and the committee's duty to convene; paper and proxy
ballots; the supervisory committee (reading, signing off, witnessing, objecting);
representatives appointed within the law's range; resolutions carried out and reviewed.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.demo import CITY_OFFICIAL, NEIGHBOUR, TOWN_OFFICIAL
from tests.test_consultations import CAST, CLOSE, create, end_window, vote
from villagegraph.audit import verify_chain
from villagegraph.resolvers.consultations import close_due_consultations
from villagegraph.resolvers.democracy import raise_democracy_tasks
from villagegraph.resolvers.tasks import raise_disclosure_tasks

FIELDS = """id status binding countsPublished ballotsCast eligibleCount passed quorumMet
  options { votes } result { index } ballotsByChannel { app paper proxy }
  resolution { title body }"""
READ = f"query($id: ID!) {{ consultation(id: $id) {{ {FIELDS} }} }}"
APPOINT = """mutation($i: AppointCadreInput!) { appointCadre(input: $i) { id body } }"""
PAPER = """mutation($c: ID!, $e: ID!, $o: Int!, $w: ID!) {
  recordPaperBallot(consultation: $c, elector: $e, option: $o, witness: $w) {
    ballotsCast ballotsByChannel { app paper proxy } } }"""
PROXY = """mutation($c: ID!, $p: ID!, $e: ID) {
  authorizeProxy(consultation: $c, proxy: $p, elector: $e) { principalId proxyId } }"""
PROXY_CAST = """mutation($c: ID!, $o: Int!, $b: ID) {
  castBallot(consultation: $c, option: $o, onBehalfOf: $b) {
    myBallot ballotsByChannel { app paper proxy } } }"""
PROPOSE = """mutation($i: ProposeConsultationInput!) { proposeConsultation(input: $i) {
  id supportersNeeded supporterCount thresholdReachedAt convenyBy: conveneBy } }"""
SUPPORT = """mutation($p: ID!) { supportProposal(proposal: $p) {
  supporterCount thresholdReachedAt supporters { name } } }"""
PROPOSAL = """query($id: ID!) { proposal(id: $id) { supporterCount convenyingTask: conveningTaskId
  supporters { name } consultation { id title binding } } }"""


def now() -> datetime:
    return datetime.now(UTC)


async def adults(owner_pool, village: dict[str, Any], households: list[str]) -> None:
    for person, household in zip(village["residents"], households, strict=True):
        await owner_pool.execute(
            "update vg.residents set birth_date = date '1970-03-01', household_no = $2 where id = $1",
            person["id"],
            household,
        )


async def appoint(gql, village, person, body="SUPERVISORY_COMMITTEE") -> str:
    variables = {
        "i": {
            "village": village["code"],
            "name": "监委会主任",
            "body": body,
            "position": "主任" if body == "SUPERVISORY_COMMITTEE" else "村民代表",
            "termStart": "2024-01-01",
            "resident": str(person["id"]),
        }
    }
    return (await gql.data(APPOINT, variables, as_=village["cadre"]))["appointCadre"]["id"]


async def scan(owner_pool, scanner, at: datetime) -> int:
    async with owner_pool.acquire() as conn:
        return int(await scanner(conn, at))


# --- binding versus advisory; closing ----------------------------------------------------


async def test_finding_1_a_poll_one_of_36_answered_is_advice_with_turnout_only(
    gql, make_village, owner_pool
):
    village = await make_village(residents=36)
    await adults(owner_pool, village, [f"h{i}" for i in range(36)])
    poll = await create(gql, village, rule="SIMPLE_MAJORITY")
    assert poll["rule"] == "SIMPLE_MAJORITY"
    await vote(gql, village, poll, [(village["residents"][0], 1)])
    await end_window(owner_pool, poll)
    await gql.data(CLOSE, {"id": poll["id"]}, as_=village["cadre"])
    seen = (await gql.data(READ, {"id": poll["id"]}, as_=village["residents"][5]["phone"]))[
        "consultation"
    ]
    assert (seen["binding"], seen["countsPublished"], seen["passed"]) == (False, False, False)
    assert [o["votes"] for o in seen["options"]] == [None, None] and seen["result"] is None
    body = seen["resolution"]["body"]
    assert "意见征集" in body and "决议通过" not in body and "形成决议" not in body
    assert "只公布参与情况" in body and "实际参与 1 人" in body
    assert seen["resolution"]["title"].startswith("意见征集结果")


async def test_only_the_statutory_rules_bind_and_are_worded_as_resolutions(
    gql, make_village, owner_pool
):
    village = await make_village(residents=6)
    await adults(owner_pool, village, [f"h{i}" for i in range(6)])
    assembly = await create(gql, village)
    await vote(gql, village, assembly, [(p, 0) for p in village["residents"]])
    # Everyone voted: closing before closesAt is allowed.
    await gql.data(CLOSE, {"id": assembly["id"]}, as_=village["cadre"])
    seen = (await gql.data(READ, {"id": assembly["id"]}, as_=village["cadre"]))["consultation"]
    assert (seen["binding"], seen["passed"], seen["countsPublished"]) == (True, True, True)
    assert [o["votes"] for o in seen["options"]] == [6, 0]
    assert "【决议】" in seen["resolution"]["body"] and "形成决议" in seen["resolution"]["body"]


async def test_finding_2_no_close_before_closes_at_unless_every_elector_voted(
    gql, make_village, owner_pool
):
    village = await make_village(residents=6)
    await adults(owner_pool, village, [f"h{i}" for i in range(6)])
    consultation = await create(gql, village)
    await vote(gql, village, consultation, [(village["residents"][0], 0)])
    for phone in (village["cadre"], TOWN_OFFICIAL):
        early = await gql.error(CLOSE, {"id": consultation["id"]}, as_=phone)
        assert early["extensions"] == {"code": "CONFLICT", "reason": "VOTING_CONTINUES"}
    sealed = (await gql.data(READ, {"id": consultation["id"]}, as_=village["cadre"]))[
        "consultation"
    ]
    assert sealed["status"] == "OPEN" and [o["votes"] for o in sealed["options"]] == [None, None]


async def test_the_database_refuses_an_early_close_by_hand(
    gql, make_village, owner_pool, as_request_role, account_id
):
    village = await make_village(residents=2)
    await adults(owner_pool, village, ["a", "b"])
    consultation = await create(gql, village)
    await as_request_role.begin_as(await account_id(village["cadre"]))
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await as_request_role.execute(
            "update vg.consultations set closed_at = now() where id = $1", int(consultation["id"])
        )


async def test_ballot_audit_rows_carry_the_day_only_and_no_choice_and_the_chain_holds(
    gql, make_village, owner_pool
):
    village = await make_village(residents=2)
    await adults(owner_pool, village, ["a", "b"])
    consultation = await create(gql, village)
    await vote(gql, village, consultation, [(village["residents"][1], 1)])
    rows = await owner_pool.fetch(
        """select at, detail from vg.audit_log
            where tenant_code = $1 and action like 'consultation.ballot%'""",
        int(village["code"]),
    )
    assert len(rows) == 1
    local = rows[0]["at"].astimezone(ZoneInfo("Asia/Shanghai"))
    assert (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)
    assert json.loads(rows[0]["detail"]) == {}
    async with owner_pool.acquire() as conn:
        assert (await verify_chain(conn)).intact


async def test_decision_rules_are_set_per_city_by_its_officials(as_request_role, account_id):
    await as_request_role.begin_as(await account_id(CITY_OFFICIAL))
    await as_request_role.execute(
        """insert into vg.decision_rules (city_code, rule, quorum_num, quorum_den, quorum_strict,
               majority_num, majority_den, min_published_ballots, convene_within_days,
               wording_passed, wording_no_majority, wording_invalid, wording_turnout_only, set_by)
           values (330300000000, 'SIMPLE_MAJORITY', 0, 1, false, 1, 2, 10, 20,
                   '「%s」领先', '无多数', '无效', '少于 %s 人', $1)""",
        await account_id(CITY_OFFICIAL),
    )
    rule = await as_request_role.fetchrow(
        "select * from vg.decision_rule(330302006001, 'SIMPLE_MAJORITY')"
    )
    assert (rule["min_published_ballots"], rule["convene_within_days"]) == (10, 20)
    statute = await as_request_role.fetchrow(
        "select * from vg.decision_rule(330302006001, 'VILLAGERS_ASSEMBLY')"
    )
    assert (statute["quorum_num"], statute["quorum_den"], statute["quorum_strict"]) == (1, 2, True)


async def test_a_town_official_cannot_set_the_citys_decision_rules(as_request_role, account_id):
    await as_request_role.begin_as(await account_id(TOWN_OFFICIAL))
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_request_role.execute(
            """insert into vg.decision_rules (city_code, rule, quorum_num, quorum_den,
                   quorum_strict, majority_num, majority_den, min_published_ballots,
                   convene_within_days, wording_passed, wording_no_majority, wording_invalid,
                   wording_turnout_only, set_by)
               values (330300000000, 'SIMPLE_MAJORITY', 0, 1, false, 1, 2, 1, 20, 'a', 'b',
                       'c', 'd', $1)""",
            await account_id(TOWN_OFFICIAL),
        )


# --- ballot secrecy as a property ----------------------------------------------------------


async def observe(gql, owner_pool, as_request_role_factory, village, consultation) -> list[Any]:
    """Everything the village's cadre, the town and a villager who did not vote read now:
    the consultation through the API, and the audit rows the cadre reads at the database,
    with ids replaced by positions so that two villages compare."""
    people = {p["id"]: i for i, p in enumerate(village["residents"])}
    accounts = {
        r["id"]: people.get(r["resident_id"], "staff")
        for r in await owner_pool.fetch(
            "select id, resident_id from vg.accounts where resident_village = $1 or phone = $2",
            int(village["code"]),
            village["cadre"],
        )
    }
    seen: list[Any] = []
    for phone in (village["cadre"], TOWN_OFFICIAL, village["residents"][-1]["phone"]):
        data = (await gql.data(READ, {"id": consultation["id"]}, as_=phone))["consultation"]
        data.pop("id")
        seen.append(data)
    rows = await as_request_role_factory(
        village["cadre"],
        """select action, account_id, at, detail from vg.audit_log
            where tenant_code = $1 order by id""",
        int(village["code"]),
    )
    for row in rows:
        ballot = row["action"].startswith("consultation.ballot")
        seen.append(
            (
                row["action"],
                accounts.get(row["account_id"], row["account_id"] and "other"),
                row["at"].date() if ballot else None,
                {k: v for k, v in json.loads(row["detail"]).items() if k != "notice"},
            )
        )
    return seen


@pytest.fixture
def read_as(request_pool, session_token, account_id):
    async def run(phone: str, sql: str, *args: Any) -> list[Any]:
        async with request_pool.acquire() as conn, conn.transaction():
            await conn.fetchval(
                "select vg.begin_request($1)", await session_token(await account_id(phone))
            )
            return await conn.fetch(sql, *args)

    return run


async def world(gql, make_village, owner_pool, read_as, choices: list[int]) -> list[Any]:
    """A village whose first voters cast `choices` in order (the last resident abstains);
    what everyone reads after each ballot and after the close."""
    village = await make_village(residents=len(choices) + 1)
    await adults(owner_pool, village, [f"h{i}" for i in range(len(choices) + 1)])
    consultation = await create(gql, village)
    views = [await observe(gql, owner_pool, read_as, village, consultation)]
    for person, option in zip(village["residents"], choices, strict=False):
        await vote(gql, village, consultation, [(person, option)])
        views.append(await observe(gql, owner_pool, read_as, village, consultation))
    await end_window(owner_pool, consultation)
    await gql.data(CLOSE, {"id": consultation["id"]}, as_=village["cadre"])
    views.append(await observe(gql, owner_pool, read_as, village, consultation))
    return views


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    choices=st.lists(st.integers(0, 1), min_size=2, max_size=7),
    swap=st.tuples(st.integers(0, 6), st.integers(0, 6)),
)
async def test_no_principal_can_tell_two_voters_choices_apart(
    gql, make_village, owner_pool, read_as, choices, swap
):
    """Swapping two voters' choices changes nothing any principal other than the two voters
    can read, at any time: not the counts while open or after the close, not the
    resolution, not the audit trail. So nothing read reveals who chose what beyond what
    the published totals themselves say."""
    i, j = swap[0] % len(choices), swap[1] % len(choices)
    swapped = list(choices)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    first = await world(gql, make_village, owner_pool, read_as, choices)
    second = await world(gql, make_village, owner_pool, read_as, swapped)
    assert first == second


# --- proposals (art. 21) -----------------------------------------------------------------


async def test_a_tenth_of_the_villagers_make_the_committee_convene_and_schedule(
    gql, make_village, owner_pool
):
    village = await make_village(residents=20)
    await adults(owner_pool, village, [f"h{i}" for i in range(20)])
    people = village["residents"]
    proposed = (
        await gql.data(
            PROPOSE,
            {
                "i": {
                    "title": "修缮村祠堂",
                    "description": "请村委会召集村民会议表决。",
                    "options": ["同意", "不同意"],
                }
            },
            as_=people[0]["phone"],
        )
    )["proposeConsultation"]
    assert (proposed["supportersNeeded"], proposed["supporterCount"]) == (2, 1)
    assert proposed["thresholdReachedAt"] is None
    again = await gql.error(SUPPORT, {"p": proposed["id"]}, as_=people[0]["phone"])
    assert again["extensions"]["code"] == "CONFLICT"
    stranger = await gql.error(SUPPORT, {"p": proposed["id"]}, as_=NEIGHBOUR)
    assert stranger["extensions"]["code"] == "NOT_FOUND"
    reached = (await gql.data(SUPPORT, {"p": proposed["id"]}, as_=people[1]["phone"]))[
        "supportProposal"
    ]
    assert reached["supporterCount"] == 2 and reached["thresholdReachedAt"] is not None
    assert [s["name"] for s in reached["supporters"]] == ["测试村民0", "测试村民1"]
    # The worker gives the village a supervised task from its town, once.
    assert await scan(owner_pool, raise_democracy_tasks, now()) >= 1
    assert await scan(owner_pool, raise_democracy_tasks, now()) == 0
    seen = (await gql.data(PROPOSAL, {"id": proposed["id"]}, as_=people[7]["phone"]))["proposal"]
    task_id = seen["convenyingTask"]
    task = await owner_pool.fetchrow(
        "select supervised, issuer_code, completed_at, due_at from vg.tasks where id = $1",
        int(task_id),
    )
    assert task["supervised"] and task["issuer_code"] == int(village["code"]) // 1000 * 1000
    assert task["due_at"] > now() + timedelta(days=29)
    scheduled = await gql.data(
        """mutation($p: ID!, $o: DateTime!, $c: DateTime!) {
             scheduleProposal(proposal: $p, opensAt: $o, closesAt: $c) { id title binding } }""",
        {
            "p": proposed["id"],
            "o": now().isoformat(),
            "c": (now() + timedelta(days=7)).isoformat(),
        },
        as_=village["cadre"],
    )
    assert scheduled["scheduleProposal"]["title"] == "修缮村祠堂"
    seen = (await gql.data(PROPOSAL, {"id": proposed["id"]}, as_=people[7]["phone"]))["proposal"]
    assert seen["consultation"]["id"] == scheduled["scheduleProposal"]["id"]
    done = await owner_pool.fetchval(
        "select completed_at from vg.tasks where id = $1", int(task_id)
    )
    assert done is not None
    late = await gql.error(SUPPORT, {"p": proposed["id"]}, as_=people[2]["phone"])
    assert late["extensions"]["code"] == "CONFLICT"


async def test_a_representatives_meeting_proposal_needs_a_third_of_the_representatives(
    gql, make_village, owner_pool
):
    village = await make_village(residents=30)
    await adults(owner_pool, village, [f"h{i}" for i in range(30)])
    people = village["residents"]
    for person in people[:6]:
        await appoint(gql, village, person, "REPRESENTATIVES")
    variables = {
        "i": {
            "title": "t",
            "description": "d",
            "options": ["a", "b"],
            "rule": "REPRESENTATIVES_MEETING",
        }
    }
    proposed = (await gql.data(PROPOSE, variables, as_=people[0]["phone"]))["proposeConsultation"]
    assert proposed["supportersNeeded"] == 2
    outsider = await gql.error(SUPPORT, {"p": proposed["id"]}, as_=people[10]["phone"])
    assert outsider["extensions"]["code"] == "FORBIDDEN"
    not_a_rep = await gql.error(PROPOSE, variables, as_=people[10]["phone"])
    assert not_a_rep["extensions"]["code"] == "FORBIDDEN"


async def test_representatives_are_appointed_at_most_one_per_five_households(
    gql, make_village, owner_pool
):
    village = await make_village(residents=10)
    await adults(owner_pool, village, ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e"])
    await appoint(gql, village, village["residents"][0], "REPRESENTATIVES")
    refused = await gql.raw(
        APPOINT,
        {
            "i": {
                "village": village["code"],
                "name": "x",
                "body": "REPRESENTATIVES",
                "position": "村民代表",
                "termStart": "2024-01-01",
                "resident": str(village["residents"][2]["id"]),
            }
        },
        as_=village["cadre"],
    )
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# --- paper and proxy ballots ---------------------------------------------------------------


async def paper_village(gql, make_village, owner_pool, households: list[str]) -> dict[str, Any]:
    village = await make_village(residents=len(households))
    await adults(owner_pool, village, households)
    village["witness"] = await appoint(gql, village, village["residents"][-1])
    return village


async def test_a_paper_ballot_is_witnessed_and_excludes_an_app_ballot_and_vice_versa(
    gql, make_village, owner_pool
):
    village = await paper_village(gql, make_village, owner_pool, ["a", "b", "c", "d"])
    elderly, app_voter = village["residents"][0], village["residents"][1]
    consultation = await create(gql, village)
    args = {"c": consultation["id"], "e": str(elderly["id"]), "o": 0, "w": village["witness"]}
    recorded = (await gql.data(PAPER, args, as_=village["cadre"]))["recordPaperBallot"]
    assert recorded["ballotsByChannel"] == {"app": 0, "paper": 1, "proxy": 0}
    in_app = await gql.error(CAST, {"c": consultation["id"], "o": 1}, as_=elderly["phone"])
    assert in_app["extensions"]["code"] == "CONFLICT"
    await vote(gql, village, consultation, [(app_voter, 1)])
    on_paper = await gql.error(PAPER, {**args, "e": str(app_voter["id"])}, as_=village["cadre"])
    assert on_paper["extensions"]["code"] == "CONFLICT"
    by_villager = await gql.error(
        PAPER, {**args, "e": str(village["residents"][2]["id"])}, as_=app_voter["phone"]
    )
    assert by_villager["extensions"]["code"] == "FORBIDDEN"


async def test_a_paper_ballot_needs_a_supervisory_witness_who_is_not_the_recorder(
    gql, make_village, owner_pool, as_request_role, account_id
):
    village = await paper_village(gql, make_village, owner_pool, ["a", "b", "c"])
    consultation = await create(gql, village)
    committee = await owner_pool.fetchval(
        """insert into vg.cadres (village_code, name, body, position, term_start)
           values ($1, '主任', 'COMMITTEE', '主任', date '2024-01-01') returning id""",
        int(village["code"]),
    )
    args = {
        "c": consultation["id"],
        "e": str(village["residents"][0]["id"]),
        "o": 0,
        "w": str(committee),
    }
    wrong = await gql.error(PAPER, args, as_=village["cadre"])
    assert wrong["extensions"]["code"] == "BAD_USER_INPUT"
    # The supervisor cannot witness its own recording: the database refuses it (before RLS
    # would refuse the supervisor's recording anyway: it reads, it does not write).
    supervisor = village["residents"][-1]
    await as_request_role.begin_as(await account_id(supervisor["phone"]))
    with pytest.raises((asyncpg.CheckViolationError, asyncpg.InsufficientPrivilegeError)):
        await as_request_role.execute(
            """insert into vg.ballots (village_code, consultation_id, resident_village, resident_id,
                   option_index, channel, recorded_by, witness_cadre)
               values ($1, $2, $1, $3, 0, 'PAPER', $4, $5)""",
            int(village["code"]),
            int(consultation["id"]),
            village["residents"][0]["id"],
            await account_id(supervisor["phone"]),
            int(village["witness"]),
        )


async def test_a_proxy_votes_for_at_most_three_relatives_and_is_marked(
    gql, make_village, owner_pool
):
    village = await make_village(residents=7)
    await adults(owner_pool, village, ["h"] * 5 + ["x", "y"])
    people = village["residents"]
    consultation = await create(gql, village)
    proxy = people[0]
    for principal in people[1:4]:
        await gql.data(
            PROXY, {"c": consultation["id"], "p": str(proxy["id"])}, as_=principal["phone"]
        )
    fourth = await gql.error(
        PROXY, {"c": consultation["id"], "p": str(proxy["id"])}, as_=people[4]["phone"]
    )
    assert fourth["extensions"]["code"] == "CONFLICT"
    stranger = await gql.error(
        PROXY, {"c": consultation["id"], "p": str(proxy["id"])}, as_=people[5]["phone"]
    )
    assert stranger["extensions"]["code"] == "BAD_USER_INPUT"
    cast = (
        await gql.data(
            PROXY_CAST,
            {"c": consultation["id"], "o": 1, "b": str(people[1]["id"])},
            as_=proxy["phone"],
        )
    )["castBallot"]
    assert cast["ballotsByChannel"] == {"app": 0, "paper": 0, "proxy": 1}
    assert cast["myBallot"] is None  # the proxy's own vote is still its own
    not_mine = await gql.error(
        PROXY_CAST, {"c": consultation["id"], "o": 1, "b": str(people[5]["id"])}, as_=proxy["phone"]
    )
    assert not_mine["extensions"]["code"] == "FORBIDDEN"
    principal_again = await gql.error(
        CAST, {"c": consultation["id"], "o": 0}, as_=people[1]["phone"]
    )
    assert principal_again["extensions"]["code"] == "CONFLICT"
    own = await gql.data(
        READ.replace("id status", "id myBallot status"),
        {"id": consultation["id"]},
        as_=people[1]["phone"],
    )
    assert own["consultation"]["status"] == "OPEN"


async def test_staff_record_a_written_proxy_for_an_elector_without_a_phone(
    gql, make_village, owner_pool
):
    village = await make_village(residents=3)
    await adults(owner_pool, village, ["h", "h", "z"])
    consultation = await create(gql, village)
    made = await gql.data(
        PROXY,
        {
            "c": consultation["id"],
            "p": str(village["residents"][1]["id"]),
            "e": str(village["residents"][0]["id"]),
        },
        as_=village["cadre"],
    )
    assert made["authorizeProxy"]["principalId"] == str(village["residents"][0]["id"])


# --- the supervisory committee ---------------------------------------------------------------


async def test_a_supervisor_reads_what_the_committee_reads_but_writes_nothing(
    gql, make_village, owner_pool
):
    village = await paper_village(gql, make_village, owner_pool, ["a", "b", "c"])
    supervisor = village["residents"][-1]
    me = await gql.data("{ me { roles grants { role unit { code } } } }", as_=supervisor["phone"])
    assert {"role": "SUPERVISOR", "unit": {"code": village["code"]}} in me["me"]["grants"]
    await gql.data(
        """mutation($u: ID!) { assignTask(input: { assignees: [$u], title: "t", body: "b",
             dueAt: "2030-01-01T00:00:00+08:00" }) { id } }""",
        {"u": village["code"]},
        as_=TOWN_OFFICIAL,
    )
    query = """query($u: ID!) { tasks(unit: $u) { totalCount }
                 finance(village: $u) { totals { balance } }
                 consultations(unit: $u) { totalCount } ledger(unit: $u) { totalCount } }"""
    as_cadre = await gql.data(query, {"u": village["code"]}, as_=village["cadre"])
    as_supervisor = await gql.data(query, {"u": village["code"]}, as_=supervisor["phone"])
    assert as_supervisor == as_cadre and as_cadre["tasks"]["totalCount"] == 1
    publish = await gql.error(
        """mutation($u: ID!) { publishNotice(input: { unit: $u, board: AFFAIRS, title: "t",
             body: "b", audience: MEMBERS }) { id } }""",
        {"u": village["code"]},
        as_=supervisor["phone"],
    )
    assert publish["extensions"]["code"] == "FORBIDDEN"
    not_yet = await gql.error(
        """mutation($v: ID!) { signOffFinancePeriod(village: $v, period: "2026-10") { id } }""",
        {"v": village["code"]},
        as_=village["cadre"],
    )
    assert not_yet["extensions"]["code"] == "FORBIDDEN"


async def test_a_member_of_the_committee_or_its_household_cannot_supervise(
    gql, make_village, owner_pool
):
    village = await make_village(residents=3)
    await adults(owner_pool, village, ["a", "a", "b"])
    await owner_pool.execute(
        """insert into vg.cadres (village_code, name, body, position, resident_village,
               resident_id, term_start)
           values ($1, '主任', 'COMMITTEE', '主任', $1, $2, date '2024-01-01')""",
        int(village["code"]),
        village["residents"][0]["id"],
    )
    refused = await gql.raw(
        APPOINT,
        {
            "i": {
                "village": village["code"],
                "name": "x",
                "body": "SUPERVISORY_COMMITTEE",
                "position": "委员",
                "termStart": "2024-06-01",
                "resident": str(village["residents"][1]["id"]),
            }
        },
        as_=village["cadre"],
    )
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await appoint(gql, village, village["residents"][2])


async def test_a_disclosure_counts_in_the_compliance_scan_only_when_signed_off(
    gql, make_village, owner_pool
):
    cst = datetime(2026, 11, 5, 9, tzinfo=UTC) + timedelta(hours=-8)
    signed, unsigned = [
        await paper_village(gql, make_village, owner_pool, ["a", "b"]) for _ in range(2)
    ]
    notices = {}
    for village in (signed, unsigned):
        notices[village["code"]] = await owner_pool.fetchval(
            """insert into vg.notices (publisher_code, board, title, body, audience,
                                      published_at, period)
               values ($1, 'FINANCE', '财务公开', '十月收支', 'MEMBERS', $2, '2026-10')
               returning id""",
            int(village["code"]),
            cst,
        )
    sign = """mutation($n: ID!) { signOffDisclosure(notice: $n, note: "核对无误") {
                subject notice { id } } }"""
    done = await gql.data(
        sign, {"n": str(notices[signed["code"]])}, as_=signed["residents"][-1]["phone"]
    )
    assert done["signOffDisclosure"]["subject"] == "DISCLOSURE"
    again = await gql.error(
        sign, {"n": str(notices[signed["code"]])}, as_=signed["residents"][-1]["phone"]
    )
    assert again["extensions"]["code"] == "CONFLICT"
    period = await gql.data(
        """mutation($v: ID!) { signOffFinancePeriod(village: $v, period: "2026-10") { period } }""",
        {"v": signed["code"]},
        as_=signed["residents"][-1]["phone"],
    )
    assert period["signOffFinancePeriod"]["period"] == "2026-10"
    async with owner_pool.acquire() as conn, conn.transaction():
        await raise_disclosure_tasks(
            conn, datetime(2026, 11, 11, 0, 1, tzinfo=UTC) - timedelta(hours=8)
        )
    keys = {
        code: {
            r["source_key"]
            for r in await owner_pool.fetch(
                "select source_key from vg.tasks where assignee_code = $1", int(code)
            )
        }
        for code in (signed["code"], unsigned["code"])
    }
    assert "disclosure:FINANCE:2026-10" not in keys[signed["code"]]
    assert "disclosure:FINANCE:2026-10" in keys[unsigned["code"]]
    seen = await gql.data(
        "query($v: ID!) { supervisorySignOffs(village: $v) { subject period } }",
        {"v": signed["code"]},
        as_=signed["residents"][0]["phone"],
    )
    assert {s["subject"] for s in seen["supervisorySignOffs"]} == {"DISCLOSURE", "FINANCE_PERIOD"}


async def test_an_objection_becomes_a_supervised_task_for_the_town(gql, make_village, owner_pool):
    village = await paper_village(gql, make_village, owner_pool, ["a", "b"])
    raised = await gql.data(
        """mutation($v: ID!) { raiseObjection(village: $v, subject: "工程款支付",
             body: "十月支出缺少验收单据。") { id taskId } }""",
        {"v": village["code"]},
        as_=village["residents"][-1]["phone"],
    )
    assert raised["raiseObjection"]["taskId"] is None
    assert await scan(owner_pool, raise_democracy_tasks, now()) >= 1
    town = int(village["code"]) // 1000 * 1000
    listed = await gql.data(
        "query($u: ID!) { supervisoryObjections(unit: $u) { subject taskId } }",
        {"u": village["code"]},
        as_=TOWN_OFFICIAL,
    )
    task_id = listed["supervisoryObjections"][0]["taskId"]
    task = await owner_pool.fetchrow(
        "select assignee_code, supervised from vg.tasks where id = $1", int(task_id)
    )
    assert (task["assignee_code"], task["supervised"]) == (town, True)
    cadre = await gql.error(
        """mutation($v: ID!) { raiseObjection(village: $v, subject: "s", body: "b") { id } }""",
        {"v": village["code"]},
        as_=village["cadre"],
    )
    assert cadre["extensions"]["code"] == "FORBIDDEN"


# --- resolutions carried out ----------------------------------------------------------------


async def year_end_review(gql: Any, owner_pool: Any, village: Any, people: Any) -> None:
    """民主评议: members rate the year's execution once each; the tally shows after the close."""
    year = date.today().year - 1
    review = """mutation($v: ID!, $y: Int!, $c: DateTime!) {
                  openExecutionReview(village: $v, year: $y, closesAt: $c) { year closed } }"""
    await gql.data(
        review,
        {"v": village["code"], "y": year, "c": (now() + timedelta(days=30)).isoformat()},
        as_=village["cadre"],
    )
    rate = """mutation($v: ID!, $y: Int!, $r: ExecutionRating!) {
                rateExecution(village: $v, year: $y, rating: $r) { ratings satisfied ratedByMe } }"""
    rated = await gql.data(
        rate, {"v": village["code"], "y": year, "r": "SATISFIED"}, as_=people[0]["phone"]
    )
    assert rated["rateExecution"] == {"ratings": 1, "satisfied": None, "ratedByMe": True}
    twice = await gql.error(
        rate, {"v": village["code"], "y": year, "r": "DISSATISFIED"}, as_=people[0]["phone"]
    )
    assert twice["extensions"]["code"] == "CONFLICT"
    await owner_pool.execute(
        "update vg.execution_reviews set closes_at = now() where village_code = $1",
        int(village["code"]),
    )
    tally = await gql.data(
        "query($v: ID!, $y: Int!) { executionReview(village: $v, year: $y) { closed satisfied dissatisfied } }",
        {"v": village["code"], "y": year},
        as_=people[4]["phone"],
    )
    assert tally["executionReview"] == {"closed": True, "satisfied": 1, "dissatisfied": 0}


async def test_a_resolution_is_carried_out_with_milestones_links_and_a_year_end_review(
    gql, make_village, owner_pool
):
    village = await make_village(residents=6)
    await adults(owner_pool, village, [f"h{i}" for i in range(6)])
    people = village["residents"]
    consultation = await create(gql, village)
    await vote(gql, village, consultation, [(p, 0) for p in people])
    await gql.data(CLOSE, {"id": consultation["id"]}, as_=village["cadre"])
    chief = await owner_pool.fetchval(
        """insert into vg.cadres (village_code, name, body, position, term_start)
           values ($1, '王主任', 'COMMITTEE', '主任', date '2024-01-01') returning id""",
        int(village["code"]),
    )
    start = """mutation($c: ID!, $r: ID!) { startExecution(consultation: $c, responsible: $r) {
                 responsible { name } progress } }"""
    member = await gql.error(
        start, {"c": consultation["id"], "r": str(chief)}, as_=people[0]["phone"]
    )
    assert member["extensions"]["code"] == "FORBIDDEN"
    started = await gql.data(
        start, {"c": consultation["id"], "r": str(chief)}, as_=village["cadre"]
    )
    assert started["startExecution"] == {"responsible": {"name": "王主任"}, "progress": 0.0}
    milestone = """mutation($c: ID!, $t: String!, $d: Date!) {
                     addExecutionMilestone(consultation: $c, title: $t, dueOn: $d) { id overdue } }"""
    past = await gql.data(
        milestone,
        {"c": consultation["id"], "t": "完成招标", "d": str(date.today() - timedelta(days=3))},
        as_=village["cadre"],
    )
    future = await gql.data(
        milestone,
        {"c": consultation["id"], "t": "竣工验收", "d": str(date.today() + timedelta(days=60))},
        as_=village["cadre"],
    )
    assert (
        past["addExecutionMilestone"]["overdue"] and not future["addExecutionMilestone"]["overdue"]
    )
    await gql.data(
        'mutation($id: ID!) { completeExecutionMilestone(id: $id, note: "已开工") { completedAt } }',
        {"id": future["addExecutionMilestone"]["id"]},
        as_=village["cadre"],
    )
    assert await scan(owner_pool, raise_democracy_tasks, now()) >= 1
    entry = await owner_pool.fetchval(
        """insert into vg.finance_entries (village_code, period, direction, category,
                                           subject_code, amount)
           values ($1, '2026-11', 'EXPENSE', '基础设施维护支出', '552001', 1000) returning id""",
        int(village["code"]),
    )
    linked = await gql.data(
        """mutation($c: ID!, $t: ID!) { linkExecution(consultation: $c, kind: FINANCE_ENTRY, target: $t) {
             kind targetId } }""",
        {"c": consultation["id"], "t": str(entry)},
        as_=village["cadre"],
    )
    assert linked["linkExecution"] == [{"kind": "FINANCE_ENTRY", "targetId": str(entry)}]
    progress = await gql.data(
        """query($id: ID!) { consultation(id: $id) { execution { progress
             milestones { title overdue overdueTaskId } links { kind } } } }""",
        {"id": consultation["id"]},
        as_=people[3]["phone"],
    )
    execution = progress["consultation"]["execution"]
    assert execution["progress"] == 0.5
    overdue = next(m for m in execution["milestones"] if m["title"] == "完成招标")
    assert overdue["overdue"] and overdue["overdueTaskId"] is not None
    hidden = await gql.data(
        "query($id: ID!) { consultation(id: $id) { id } }",
        {"id": consultation["id"]},
        as_=NEIGHBOUR,
    )
    assert hidden["consultation"] is None

    await year_end_review(gql, owner_pool, village, people)


async def test_an_advisory_poll_is_not_carried_out_as_a_resolution(gql, make_village, owner_pool):
    village = await make_village(residents=6)
    await adults(owner_pool, village, [f"h{i}" for i in range(6)])
    poll = await create(gql, village, rule="SIMPLE_MAJORITY")
    await vote(gql, village, poll, [(p, 0) for p in village["residents"]])
    await gql.data(CLOSE, {"id": poll["id"]}, as_=village["cadre"])
    refused = await gql.error(
        """mutation($c: ID!) { startExecution(consultation: $c, responsible: "1") { progress } }""",
        {"c": poll["id"]},
        as_=village["cadre"],
    )
    assert refused["extensions"]["code"] == "CONFLICT"


async def test_the_worker_closes_and_counts_paper_and_proxy_ballots(gql, make_village, owner_pool):
    village = await paper_village(gql, make_village, owner_pool, ["h", "h", "h", "a", "b", "c"])
    people = village["residents"]
    consultation = await create(gql, village, closes=now() + timedelta(minutes=5))
    await gql.data(
        PAPER,
        {"c": consultation["id"], "e": str(people[0]["id"]), "o": 0, "w": village["witness"]},
        as_=village["cadre"],
    )
    await gql.data(
        PROXY, {"c": consultation["id"], "p": str(people[1]["id"])}, as_=people[2]["phone"]
    )
    await gql.data(
        PROXY_CAST,
        {"c": consultation["id"], "o": 0, "b": str(people[2]["id"])},
        as_=people[1]["phone"],
    )
    await vote(gql, village, consultation, [(people[1], 0), (people[3], 0), (people[4], 1)])
    await end_window(owner_pool, consultation)
    async with owner_pool.acquire() as conn:
        assert int(consultation["id"]) in await close_due_consultations(conn, now())
    seen = (await gql.data(READ, {"id": consultation["id"]}, as_=people[5]["phone"]))[
        "consultation"
    ]
    assert seen["ballotsByChannel"] == {"app": 3, "paper": 1, "proxy": 1}
    assert [o["votes"] for o in seen["options"]] == [4, 1] and seen["passed"]


async def test_the_demo_shows_every_democracy_flow(gql):
    """A villager-initiated vote with paper and proxy ballots, a supervisory sign-off, and a
    resolution with execution progress, as the demo resident and supervisor see them."""
    from tests.demo import RESIDENT, SUPERVISOR, VILLAGE

    seen = await gql.data(
        """query($v: ID!) {
             proposals(unit: $v) { edges { node { title supporterCount supportersNeeded
               consultation { id ballotsByChannel { paper proxy } } } } }
             consultations(unit: $v, status: CLOSED, first: 20) { edges { node { title binding
               execution { progress responsible { name } milestones { title } links { kind } } } } }
             supervisorySignOffs(village: $v) { subject } }""",
        {"v": VILLAGE},
        as_=RESIDENT,
    )
    (proposal,) = [e["node"] for e in seen["proposals"]["edges"]]
    assert proposal["supporterCount"] >= proposal["supportersNeeded"]
    assert proposal["consultation"]["ballotsByChannel"] == {"paper": 1, "proxy": 1}
    executed = [
        e["node"] for e in seen["consultations"]["edges"] if e["node"]["execution"] is not None
    ]
    assert executed and executed[0]["binding"] and 0 < executed[0]["execution"]["progress"] < 1
    assert {"DISCLOSURE", "FINANCE_PERIOD"} <= {s["subject"] for s in seen["supervisorySignOffs"]}
    me = await gql.data("{ me { grants { role } } }", as_=SUPERVISOR)
    assert me["me"]["grants"] == [{"role": "SUPERVISOR"}]
