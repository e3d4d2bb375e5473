"""Consultations (码上协商): the roll, one secret ballot per elector under concurrency, the
voting window, the statutory rules, the published resolution, closing by the worker.
(Issue 15's rules — no early close, turnout-only small counts, binding or advisory, paper
and proxy ballots — are pinned in tests/test_democracy.py.)"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from tests.demo import (
    ANALYST,
    CITY_OFFICIAL,
    NEIGHBOUR,
    RESIDENT,
    TOWN_OFFICIAL,
    VILLAGE,
    VILLAGE_CADRE,
    WUMA,
)
from villagegraph.resolvers.consultations import close_due_consultations
from villagegraph.seed.demo import demo_villages

CONSULTATION = """
  id status votingOpen rule eligibility eligibleCount eligibleHouseholds ballotsCast
  householdsVoted quorumMet passed myBallot eligible
  options { index label votes } result { index label } resolution { id board audience title }
"""
CREATE = f"""
mutation($input: CreateConsultationInput!) {{ createConsultation(input: $input) {{ {CONSULTATION} }} }}"""
CAST = f"""
mutation($c: ID!, $o: Int!) {{ castBallot(consultation: $c, option: $o) {{ {CONSULTATION} }} }}"""
CLOSE = f"""mutation($id: ID!) {{ closeConsultation(id: $id) {{ {CONSULTATION} }} }}"""
READ = f"""query($id: ID!) {{ consultation(id: $id) {{ {CONSULTATION} }} }}"""
LIST = """query($u: ID!, $s: ConsultationStatus) {
  consultations(unit: $u, status: $s, first: 100) { totalCount edges { node { id status } } }
}"""


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
async def electorate(make_village, owner_pool):
    """A fresh village whose residents are adults in the given households (None: a minor)."""

    async def build(households: list[str | None], representatives: int = 0) -> dict[str, Any]:
        village = await make_village(residents=len(households))
        for person, household in zip(village["residents"], households, strict=True):
            await owner_pool.execute(
                "update vg.residents set birth_date = $2, household_no = $3 where id = $1",
                person["id"],
                datetime(2015 if household is None else 1980, 5, 1).date(),
                household,
            )
        # Representatives are appointed (art. 25), the first ones of the list.
        for person in village["residents"][:representatives]:
            await owner_pool.execute(
                """insert into vg.cadres (village_code, name, body, position, resident_village,
                                          resident_id, term_start)
                   values ($1, '代表', 'REPRESENTATIVES', '村民代表', $1, $2, date '2024-01-01')""",
                int(village["code"]),
                person["id"],
            )
        return village

    return build


async def create(gql, village, *, opens=None, closes=None, options=("同意", "不同意"), **extra):
    opens = opens or now() - timedelta(minutes=1)
    closes = closes or now() + timedelta(hours=1)
    variables = {
        "input": {
            "unit": village["code"],
            "title": "是否修建村文化礼堂",
            "description": "请表决。",
            "options": list(options),
            "opensAt": opens.isoformat(),
            "closesAt": closes.isoformat(),
            **extra,
        }
    }
    return (await gql.data(CREATE, variables, as_=village["cadre"]))["createConsultation"]


async def end_window(owner_pool, consultation) -> None:
    """Let the voting window run out (no close before `closesAt` unless all voted)."""
    await owner_pool.execute(
        "update vg.consultations set closes_at = now() - interval '1 second' where id = $1",
        int(consultation["id"]),
    )


async def vote(gql, village, consultation, voters_and_options):
    for person, option in voters_and_options:
        await gql.data(CAST, {"c": consultation["id"], "o": option}, as_=person["phone"])


async def test_the_roll_holds_household_registered_adults_by_default(gql, electorate):
    village = await electorate(["h1", "h1", "h2", None])
    consultation = await create(gql, village)
    assert consultation["status"] == "OPEN" and consultation["votingOpen"]
    assert consultation["rule"] == "VILLAGERS_ASSEMBLY"
    assert consultation["eligibility"] == "VILLAGERS"
    assert (consultation["eligibleCount"], consultation["eligibleHouseholds"]) == (3, 2)
    assert [o["index"] for o in consultation["options"]] == [0, 1]


async def test_admitted_residents_join_the_roll_when_asked(gql, electorate, owner_pool):
    village = await electorate(["h1", "h2"])
    elsewhere = await electorate(["x"])
    await owner_pool.execute(
        "update vg.residents set residence_code = $2, residence_member = true where id = $1",
        elsewhere["residents"][0]["id"],
        int(village["code"]),
    )
    plain = await create(gql, village)
    wider = await create(gql, village, eligibility="VILLAGERS_AND_RESIDENTS")
    assert (plain["eligibleCount"], wider["eligibleCount"]) == (2, 3)
    assert wider["eligibleHouseholds"] == 3
    voted = await gql.data(CAST, {"c": wider["id"], "o": 0}, as_=elsewhere["residents"][0]["phone"])
    assert voted["castBallot"]["myBallot"] == 0


async def test_a_villager_votes_once_and_sees_only_its_own_ballot(gql, electorate):
    village = await electorate(["h1", "h2"])
    first, second = village["residents"]
    consultation = await create(gql, village)
    voted = (await gql.data(CAST, {"c": consultation["id"], "o": 1}, as_=first["phone"]))[
        "castBallot"
    ]
    assert voted["myBallot"] == 1 and voted["ballotsCast"] == 1
    assert [o["votes"] for o in voted["options"]] == [None, None]  # sealed until closed
    again = await gql.error(CAST, {"c": consultation["id"], "o": 0}, as_=first["phone"])
    assert again["extensions"]["code"] == "CONFLICT"
    other = await gql.data(READ, {"id": consultation["id"]}, as_=second["phone"])
    assert other["consultation"]["myBallot"] is None
    staff = await gql.data(READ, {"id": consultation["id"]}, as_=village["cadre"])
    assert staff["consultation"]["myBallot"] is None
    assert staff["consultation"]["ballotsCast"] == 1


async def test_not_on_the_roll_is_forbidden_and_a_bad_option_is_bad_user_input(gql, electorate):
    village = await electorate(["h1", None])
    adult, minor = village["residents"]
    consultation = await create(gql, village)
    forbidden = await gql.error(CAST, {"c": consultation["id"], "o": 0}, as_=minor["phone"])
    assert forbidden["extensions"]["code"] == "FORBIDDEN"
    staff = await gql.error(CAST, {"c": consultation["id"], "o": 0}, as_=village["cadre"])
    assert staff["extensions"]["code"] == "FORBIDDEN"
    for option in (-1, 2):
        bad = await gql.error(CAST, {"c": consultation["id"], "o": option}, as_=adult["phone"])
        assert bad["extensions"]["code"] == "BAD_USER_INPUT"
    neighbour = await gql.error(CAST, {"c": consultation["id"], "o": 0}, as_=NEIGHBOUR)
    assert neighbour["extensions"]["code"] == "NOT_FOUND"
    anonymous = await gql.error(CAST, {"c": consultation["id"], "o": 0})
    assert anonymous["extensions"]["code"] == "UNAUTHENTICATED"


async def test_ballots_outside_the_window_are_refused(gql, electorate, owner_pool):
    village = await electorate(["h1"])
    voter = village["residents"][0]
    draft = await create(
        gql, village, opens=now() + timedelta(days=1), closes=now() + timedelta(days=2)
    )
    assert draft["status"] == "DRAFT"
    early = await gql.error(CAST, {"c": draft["id"], "o": 0}, as_=voter["phone"])
    assert early["extensions"] == {"code": "CONFLICT", "reason": "NOT_OPEN"}
    closed = await create(gql, village)
    await end_window(owner_pool, closed)
    await gql.data(CLOSE, {"id": closed["id"]}, as_=village["cadre"])
    late = await gql.error(CAST, {"c": closed["id"], "o": 0}, as_=voter["phone"])
    assert late["extensions"]["code"] == "CONFLICT"


async def test_the_database_refuses_a_ballot_after_the_window_even_by_hand(
    gql, electorate, as_request_role, owner_pool, account_id
):
    village = await electorate(["h1"])
    voter = village["residents"][0]
    consultation = await create(gql, village)
    await owner_pool.execute(
        "update vg.consultations set closes_at = now() - interval '1 second',"
        " opens_at = now() - interval '1 hour' where id = $1",
        int(consultation["id"]),
    )
    await as_request_role.begin_as(await account_id(voter["phone"]))
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await as_request_role.execute(
            """insert into vg.ballots (village_code, consultation_id, resident_village,
                                       resident_id, option_index)
               values ($1, $2, $1, $3, 0)""",
            int(village["code"]),
            int(consultation["id"]),
            voter["id"],
        )


async def test_the_database_refuses_a_ballot_from_someone_off_the_roll(
    gql, electorate, as_request_role, account_id
):
    village = await electorate(["h1", None])
    minor = village["residents"][1]
    consultation = await create(gql, village)
    await as_request_role.begin_as(await account_id(minor["phone"]))
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await as_request_role.execute(
            """insert into vg.ballots (village_code, consultation_id, resident_village,
                                       resident_id, option_index)
               values ($1, $2, $1, $3, 0)""",
            int(village["code"]),
            int(consultation["id"]),
            minor["id"],
        )


async def test_ballots_are_secret_from_staff_at_the_database(
    gql, electorate, as_request_role, account_id
):
    village = await electorate(["h1", "h2"])
    first = village["residents"][0]
    consultation = await create(gql, village)
    await vote(gql, village, consultation, [(first, 0)])
    query = "select count(*) from vg.ballots where consultation_id = $1"
    cid = int(consultation["id"])
    for phone in (village["cadre"], TOWN_OFFICIAL, CITY_OFFICIAL, ANALYST, NEIGHBOUR, None):
        await as_request_role.begin_as(None if phone is None else await account_id(phone))
        assert await as_request_role.fetchval(query, cid) == 0, phone
    await as_request_role.begin_as(await account_id(first["phone"]))
    assert await as_request_role.fetchval(query, cid) == 1
    for change in (  # a ballot, once cast, is final even for its voter
        "update vg.ballots set option_index = 1 where consultation_id = $1",
        "delete from vg.ballots where consultation_id = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with as_request_role.transaction():
                await as_request_role.execute(change, cid)
    # While voting, officials see turnout but no running result.
    official = await gql.data(READ, {"id": consultation["id"]}, as_=TOWN_OFFICIAL)
    assert official["consultation"]["ballotsCast"] == 1
    assert [o["votes"] for o in official["consultation"]["options"]] == [None, None]
    # Counts reach those who may read the consultation, and nobody else.
    tally = "select ballots from vg.consultation_tallies(array[$1::bigint])"
    await as_request_role.begin_as(await account_id(TOWN_OFFICIAL))
    assert await as_request_role.fetchval(tally, cid) == 1
    await as_request_role.begin_as(await account_id(NEIGHBOUR))
    assert await as_request_role.fetchval(tally, cid) is None
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_request_role.fetchval("select * from vg.count_ballots(array[$1::bigint])", cid)


async def test_neighbours_and_anonymous_callers_see_no_consultation(
    gql, electorate, as_request_role, account_id
):
    village = await electorate(["h1"])
    consultation = await create(gql, village)
    for phone in (NEIGHBOUR, RESIDENT, None):
        assert (await gql.data(READ, {"id": consultation["id"]}, as_=phone))["consultation"] is None
        listed = (await gql.data(LIST, {"u": village["code"]}, as_=phone))["consultations"]
        assert listed["totalCount"] == 0
    for phone in (NEIGHBOUR, None):
        await as_request_role.begin_as(None if phone is None else await account_id(phone))
        for table in ("consultations", "consultation_electors", "consultation_comments"):
            count = await as_request_role.fetchval(
                f"select count(*) from vg.{table} where village_code = $1", int(village["code"])
            )
            assert count == 0, (phone, table)
    town = (await gql.data(LIST, {"u": WUMA, "s": "OPEN"}, as_=TOWN_OFFICIAL))["consultations"]
    assert consultation["id"] in {e["node"]["id"] for e in town["edges"]}


async def test_many_simultaneous_ballots_count_exactly_once_each(gql, electorate, owner_pool):
    village = await electorate([f"h{i // 2}" for i in range(12)])
    voters = village["residents"]
    consultation = await create(gql, village, options=("甲", "乙", "丙"))
    for person in voters:
        await gql.token(person["phone"])
    calls = [(person, index % 3) for index, person in enumerate(voters)]
    calls += [(voters[0], attempt % 3) for attempt in range(40)]  # one villager, 40 more tries

    async def cast(person: dict, option: int) -> dict:
        return await gql.raw(CAST, {"c": consultation["id"], "o": option}, as_=person["phone"])

    results = await asyncio.gather(*(cast(person, option) for person, option in calls))
    assert len(results) == 52
    outcomes = Counter(
        "ok" if not r.get("errors") else r["errors"][0]["extensions"]["code"] for r in results
    )
    assert outcomes == {"ok": 12, "CONFLICT": 40}
    live = (await gql.data(READ, {"id": consultation["id"]}, as_=village["cadre"]))["consultation"]
    assert live["ballotsCast"] == 12 and live["householdsVoted"] == 6
    closing = await gql.data(CLOSE, {"id": consultation["id"]}, as_=village["cadre"])
    final = closing["closeConsultation"]
    assert final["ballotsCast"] == 12
    assert sum(o["votes"] for o in final["options"]) == 12
    first_ballot = await gql.data(READ, {"id": consultation["id"]}, as_=voters[0]["phone"])
    assert first_ballot["consultation"]["myBallot"] in {0, 1, 2}
    by_option = Counter(option for _, option in calls[1:12])
    by_option[first_ballot["consultation"]["myBallot"]] += 1
    assert [o["votes"] for o in final["options"]] == [by_option[i] for i in range(3)]
    # A refused ballot leaves nothing behind, not even its audit row.
    audited = await owner_pool.fetchval(
        "select count(*) from vg.audit_log where action = 'consultation.ballot' and entity_id = $1",
        consultation["id"],
    )
    assert audited == 12


async def test_villagers_assembly_is_valid_with_half_the_villagers_or_two_thirds_of_households(
    owner_pool,
):
    async def decide(
        rule: str,
        votes: list[int],
        ballots: int,
        households: int,
        electors=10,
        elector_households=6,
    ) -> tuple[bool, int | None, bool]:
        row = await owner_pool.fetchrow(
            "select * from vg.consultation_decision($1, $2, $3, $4, $5, $6)",
            rule,
            votes,
            ballots,
            households,
            electors,
            elector_households,
        )
        return tuple(row)

    # 10 villagers in 6 households
    assert await decide("VILLAGERS_ASSEMBLY", [4, 2], 6, 3) == (True, 0, True)  # > 1/2 villagers
    assert await decide("VILLAGERS_ASSEMBLY", [5, 0], 5, 3) == (False, None, False)  # exactly 1/2
    assert await decide("VILLAGERS_ASSEMBLY", [1, 3], 4, 4) == (True, 1, True)  # 4/6 households
    assert await decide("VILLAGERS_ASSEMBLY", [3, 3], 6, 6) == (True, None, False)  # a tie
    assert await decide("REPRESENTATIVES_MEETING", [2, 0], 2, 2, 3, 3) == (True, 0, True)
    assert await decide("REPRESENTATIVES_MEETING", [1, 0], 1, 1, 3, 3) == (False, None, False)
    assert await decide("SIMPLE_MAJORITY", [0, 1], 1, 1, 100, 100) == (True, 1, True)
    assert await decide("SIMPLE_MAJORITY", [0, 0], 0, 0, 100, 100) == (False, None, False)


async def test_a_closed_result_cannot_be_forged_or_changed_by_hand(
    gql, electorate, as_request_role, account_id, owner_pool
):
    village = await electorate(["a", "b"])
    consultation = await create(gql, village)
    await vote(gql, village, consultation, [(village["residents"][0], 1)])
    await end_window(owner_pool, consultation)
    cid = int(consultation["id"])
    await as_request_role.begin_as(await account_id(village["cadre"]))
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with as_request_role.transaction():
            await as_request_role.execute(
                "update vg.consultations set passed = true, winning_option = 0 where id = $1", cid
            )
    await as_request_role.execute(
        "update vg.consultations set closed_at = now() where id = $1", cid
    )
    row = await as_request_role.fetchrow(
        "select ballots_cast, votes, winning_option, passed from vg.consultations where id = $1",
        cid,
    )
    # one ballot of two electors: not more than half, and one household of two is not 2/3;
    # and one ballot is below the published minimum, so its choice is not stored at all
    assert tuple(row) == (1, None, None, False)
    with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
        await as_request_role.execute(
            "update vg.consultations set closed_at = null where id = $1", cid
        )


async def test_closing_with_two_thirds_of_households_passes_and_publishes_the_resolution(
    gql, electorate, owner_pool
):
    # 15 villagers in 3 households; 5 vote from 2 households: 1/3 of villagers, 2/3 of
    # households (and five ballots, the smallest count published per option).
    village = await electorate(["a"] * 5 + ["b"] * 5 + ["c"] * 5)
    people = village["residents"]
    consultation = await create(gql, village)
    await vote(gql, village, consultation, [(p, 0) for p in people[3:8]])
    await end_window(owner_pool, consultation)
    closed = (await gql.data(CLOSE, {"id": consultation["id"]}, as_=village["cadre"]))[
        "closeConsultation"
    ]
    assert closed["status"] == "CLOSED" and not closed["votingOpen"]
    assert (closed["quorumMet"], closed["passed"]) == (True, True)
    assert closed["result"] == {"index": 0, "label": "同意"}
    resolution = closed["resolution"]
    assert (resolution["board"], resolution["audience"]) == ("AFFAIRS", "MEMBERS")
    seen = await gql.data(
        "query($id: ID!) { notice(id: $id) { id } }",
        {"id": resolution["id"]},
        as_=people[14]["phone"],
    )
    assert seen["notice"] == {"id": resolution["id"]}
    hidden = await gql.data(
        "query($id: ID!) { notice(id: $id) { id } }", {"id": resolution["id"]}, as_=NEIGHBOUR
    )
    assert hidden["notice"] is None
    kinds = await owner_pool.fetch(
        "select kind from vg.outbox where payload ->> 'consultation' = $1 order by kind",
        consultation["id"],
    )
    assert [row["kind"] for row in kinds] == ["consultation.closed"]  # to its creator
    # The village-wide ones are broadcasts to its members, fanned out by the worker.
    broadcasts = await owner_pool.fetch(
        """select kind, audience from vg.broadcasts where payload ->> 'consultation' = $1
            order by kind""",
        consultation["id"],
    )
    assert [tuple(r) for r in broadcasts] == [
        ("consultation.opened", "MEMBERS"),
        ("consultation.resolution", "MEMBERS"),
    ]
    again = await gql.error(CLOSE, {"id": consultation["id"]}, as_=village["cadre"])
    assert again["extensions"]["code"] == "CONFLICT"


async def test_closing_below_quorum_decides_nothing(gql, electorate, owner_pool):
    village = await electorate(["a", "a", "b", "b", "c", "c"])
    consultation = await create(gql, village)
    await vote(gql, village, consultation, [(village["residents"][0], 0)])
    await end_window(owner_pool, consultation)
    closed = (await gql.data(CLOSE, {"id": consultation["id"]}, as_=village["cadre"]))[
        "closeConsultation"
    ]
    assert (closed["quorumMet"], closed["passed"], closed["result"]) == (False, False, None)
    assert closed["ballotsCast"] == 1 and closed["eligibleCount"] == 6


async def test_representatives_meeting_is_voted_by_representatives_only(
    gql, electorate, owner_pool
):
    # 30 households: at most six representatives (one per five households, art. 25).
    village = await electorate([f"h{i}" for i in range(30)], representatives=6)
    people = village["residents"]
    consultation = await create(gql, village, rule="REPRESENTATIVES_MEETING")
    assert consultation["eligibility"] == "REPRESENTATIVES"
    assert consultation["eligibleCount"] == 6
    outsider = await gql.error(CAST, {"c": consultation["id"], "o": 0}, as_=people[7]["phone"])
    assert outsider["extensions"]["code"] == "FORBIDDEN"
    await vote(gql, village, consultation, [(p, 1) for p in people[:5]])
    await end_window(owner_pool, consultation)
    closed = (await gql.data(CLOSE, {"id": consultation["id"]}, as_=village["cadre"]))[
        "closeConsultation"
    ]
    assert closed["passed"] and closed["result"]["index"] == 1
    mismatch = await gql.error(
        CREATE,
        {
            "input": {
                "unit": village["code"],
                "title": "t",
                "description": "d",
                "options": ["a", "b"],
                "opensAt": now().isoformat(),
                "closesAt": (now() + timedelta(hours=1)).isoformat(),
                "rule": "REPRESENTATIVES_MEETING",
                "eligibility": "VILLAGERS",
            }
        },
        as_=village["cadre"],
    )
    assert mismatch["extensions"]["code"] == "BAD_USER_INPUT"


async def test_only_staff_of_the_village_create_and_close(gql, electorate, owner_pool):
    village = await electorate(["a"])
    consultation = await create(gql, village)
    for phone, code in (
        (village["residents"][0]["phone"], "FORBIDDEN"),
        (ANALYST, "FORBIDDEN"),
        (VILLAGE_CADRE, "NOT_FOUND"),  # another village's cadre does not see it at all
    ):
        error = await gql.error(CLOSE, {"id": consultation["id"]}, as_=phone)
        assert error["extensions"]["code"] == code, phone
    variables = {
        "input": {
            "unit": village["code"],
            "title": "t",
            "description": "d",
            "options": ["a", "b"],
            "opensAt": now().isoformat(),
            "closesAt": (now() + timedelta(hours=1)).isoformat(),
        }
    }
    for phone in (village["residents"][0]["phone"], VILLAGE_CADRE, ANALYST):
        error = await gql.error(CREATE, variables, as_=phone)
        assert error["extensions"]["code"] == "FORBIDDEN", phone
    await end_window(owner_pool, consultation)
    closed = await gql.data(CLOSE, {"id": consultation["id"]}, as_=TOWN_OFFICIAL)
    assert closed["closeConsultation"]["status"] == "CLOSED"


@pytest.mark.parametrize(
    ("change", "argument"),
    [
        ({"options": ["只有一个"]}, "options"),
        ({"options": ["同", "同"]}, "options"),
        ({"closesAt": "2020-01-01T00:00:00+08:00"}, "closesAt"),
        (
            {"opensAt": "2020-01-01T00:00:00+08:00", "closesAt": "2020-02-01T00:00:00+08:00"},
            "closesAt",
        ),
        ({"title": "  "}, "title"),
    ],
)
async def test_bad_consultations_are_bad_user_input(gql, change, argument):
    variables = {
        "input": {
            "unit": VILLAGE,
            "title": "t",
            "description": "d",
            "options": ["a", "b"],
            "opensAt": now().isoformat(),
            "closesAt": (now() + timedelta(hours=1)).isoformat(),
            **change,
        }
    }
    error = await gql.error(CREATE, variables, as_=VILLAGE_CADRE)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"].get("argument") == argument


async def test_the_worker_closes_consultations_whose_window_ended(gql, electorate, owner_pool):
    village = await electorate(["a", "b", "c", "d", "e", "f"])
    people = village["residents"]
    due = await create(gql, village, closes=now() + timedelta(minutes=30))
    later = await create(gql, village, closes=now() + timedelta(days=3))
    await vote(gql, village, due, [(p, 0) for p in people[:5]])
    async with owner_pool.acquire() as conn:
        closed = await close_due_consultations(conn, now() + timedelta(hours=1))
        assert int(due["id"]) in closed and int(later["id"]) not in closed
        assert int(due["id"]) not in await close_due_consultations(conn, now() + timedelta(hours=2))
    result = (await gql.data(READ, {"id": due["id"]}, as_=people[5]["phone"]))["consultation"]
    assert (result["status"], result["passed"], result["ballotsCast"]) == ("CLOSED", True, 5)
    assert result["resolution"]["board"] == "AFFAIRS"
    still = (await gql.data(READ, {"id": later["id"]}, as_=people[5]["phone"]))["consultation"]
    assert still["status"] == "OPEN"


async def test_villagers_deliberate_on_an_open_consultation(gql, electorate, owner_pool):
    village = await electorate(["a"])
    consultation = await create(gql, village)
    comment = """mutation($c: ID!, $b: String!) {
        commentOnConsultation(consultation: $c, body: $b) { id body authorName } }"""
    await gql.data(
        comment, {"c": consultation["id"], "b": "我赞成"}, as_=village["residents"][0]["phone"]
    )
    neighbour = await gql.error(comment, {"c": consultation["id"], "b": "路过"}, as_=NEIGHBOUR)
    assert neighbour["extensions"]["code"] == "NOT_FOUND"
    read = await gql.data(
        "query($id: ID!) { consultation(id: $id) { comments { body } } }",
        {"id": consultation["id"]},
        as_=village["cadre"],
    )
    assert read["consultation"]["comments"] == [{"body": "我赞成"}]
    await end_window(owner_pool, consultation)
    await gql.data(CLOSE, {"id": consultation["id"]}, as_=village["cadre"])
    late = await gql.error(comment, {"c": consultation["id"], "b": "晚了"}, as_=village["cadre"])
    assert late["extensions"]["code"] == "CONFLICT"


async def test_consultation_list_costs_a_fixed_number_of_statements(execute, account_id):
    query = """query($u: ID!) { consultations(unit: $u, first: 50) { edges { node {
        id status ballotsCast eligibleCount options { votes } myBallot village { name } } } } }"""
    result, session = await execute(query, await account_id(TOWN_OFFICIAL), {"u": WUMA})
    assert not result.errors
    assert len(result.data["consultations"]["edges"]) >= 6
    # begin_request, the page, live tallies, own ballots, villages
    assert session.statements == 5


async def test_demo_has_open_and_closed_consultations_in_every_village(owner_pool):
    villages = [code for code, _, _ in demo_villages()]
    rows = await owner_pool.fetch(
        """select village_code, count(*) filter (where closed_at is null) as open,
                  count(*) filter (where closed_at is not null and resolution_notice_id is not null)
                      as closed
             from vg.consultations where village_code = any ($1::bigint[])
            group by village_code""",
        villages,
    )
    assert len(rows) == 12
    assert all(row["open"] >= 1 and row["closed"] >= 1 for row in rows)


async def test_a_close_racing_the_last_ballots_waits_for_all_or_is_refused(gql, electorate):
    village = await electorate([f"h{i}" for i in range(20)])
    voters = village["residents"]
    consultation = await create(gql, village)
    for person in voters:
        await gql.token(person["phone"])
    await gql.token(village["cadre"])
    ballots = [
        gql.raw(CAST, {"c": consultation["id"], "o": 0}, as_=person["phone"]) for person in voters
    ]
    closing = gql.raw(CLOSE, {"id": consultation["id"]}, as_=village["cadre"])
    results = await asyncio.gather(*ballots[:10], closing, *ballots[10:])
    closed = results.pop(10)
    # Every ballot counts: the close is refused while anyone has not voted, or it came
    # after the last ballot (the row lock orders them).
    assert all(not r.get("errors") for r in results), results
    if closed.get("errors"):
        assert closed["errors"][0]["extensions"]["code"] == "CONFLICT"
    else:
        assert closed["data"]["closeConsultation"]["ballotsCast"] == len(voters)
    final = await gql.data(READ, {"id": consultation["id"]}, as_=village["cadre"])
    assert final["consultation"]["ballotsCast"] == len(voters)


async def test_a_consultation_cannot_be_inserted_already_decided(as_request_role, account_id):
    cadre = await account_id(VILLAGE_CADRE)
    await as_request_role.begin_as(cadre)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_request_role.execute(
            """insert into vg.consultations (village_code, title, description, options, opens_at,
                   closes_at, rule, eligibility, created_by, closed_at, passed)
               values ($1, 't', 'd', '{a,b}', now(), now() + interval '1 day',
                       'SIMPLE_MAJORITY', 'VILLAGERS', $2, now(), true)""",
            int(VILLAGE),
            cadre,
        )


async def test_a_consultation_nobody_may_vote_in_is_refused_and_leaves_nothing(
    gql, electorate, owner_pool
):
    village = await electorate(["a", None])  # no representatives at all
    before = await owner_pool.fetchval(
        "select count(*) from vg.consultations where village_code = $1", int(village["code"])
    )
    error = await gql.error(
        CREATE,
        {
            "input": {
                "unit": village["code"],
                "title": "t",
                "description": "d",
                "options": ["a", "b"],
                "opensAt": now().isoformat(),
                "closesAt": (now() + timedelta(hours=1)).isoformat(),
                "rule": "REPRESENTATIVES_MEETING",
            }
        },
        as_=village["cadre"],
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "eligibility"}
    after = await owner_pool.fetchval(
        "select count(*) from vg.consultations where village_code = $1", int(village["code"])
    )
    assert after == before == 0


async def test_two_workers_closing_at_once_close_each_consultation_once(
    gql, electorate, owner_pool
):
    village = await electorate(["a", "b"])
    due = [await create(gql, village, closes=now() + timedelta(minutes=5)) for _ in range(4)]
    wanted = {int(c["id"]) for c in due}

    async def worker() -> list[int]:
        async with owner_pool.acquire() as conn:
            return await close_due_consultations(conn, now() + timedelta(hours=1))

    first, second = await asyncio.gather(worker(), worker())
    assert not set(first) & set(second)
    assert wanted <= set(first) | set(second)
    notices = await owner_pool.fetchval(
        "select count(*) from vg.notices where publisher_code = $1 and board = 'AFFAIRS'",
        int(village["code"]),
    )
    assert notices == 4
