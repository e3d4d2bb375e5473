"""Admission to a village is decided by its own staff (issue 12, finding 7): the household
village's cadre can ask, never admit; only the residence village's staff accept. Checked
through the API and at the database as the request role."""

from __future__ import annotations

import asyncpg
import pytest

UPDATE = """
mutation($id: ID!, $input: UpdateResidentInput!) {
  updateResident(id: $id, input: $input) { id residenceMember residenceVillage { code } }
}"""
REQUESTS = """
query($u: ID!) { membershipRequests(unit: $u, status: PENDING) {
  totalCount edges { node { id status village { code } resident { id } } } } }"""
ACCEPT = "mutation($id: ID!) { acceptMembership(id: $id) { id status decidedAt } }"
REJECT = """mutation($id: ID!) { rejectMembership(id: $id, reason: "不在本村居住") {
  id status reason } }"""
FINANCE = "query($v: ID!) { finance(village: $v) { totals { income } } }"
MEMBER = "query($u: ID!) { residents(unit: $u) { edges { node { id residenceMember } } } }"


@pytest.fixture
async def move(gql, make_village):
    """A resident of village A who lives in village X, as A's cadre set it."""
    home, there = await make_village(residents=1), await make_village(residents=1)
    resident = home["residents"][0]
    moved = await gql.data(
        UPDATE,
        {"id": str(resident["id"]), "input": {"residence": there["code"], "residenceMember": True}},
        as_=home["cadre"],
    )
    return home, there, resident, moved["updateResident"]


async def test_household_cadre_cannot_admit_a_resident_to_another_village(gql, move):
    home, there, resident, updated = move
    assert updated["residenceVillage"]["code"] == there["code"]
    assert updated["residenceMember"] is False  # asked, not admitted
    error = await gql.error(FINANCE, {"v": there["code"]}, as_=resident["phone"])
    assert error["extensions"]["code"] == "FORBIDDEN"
    pending = (await gql.data(REQUESTS, {"u": there["code"]}, as_=there["cadre"]))[
        "membershipRequests"
    ]
    assert pending["totalCount"] == 1
    assert pending["edges"][0]["node"]["resident"]["id"] == str(resident["id"])
    request = pending["edges"][0]["node"]["id"]
    error = await gql.error(ACCEPT, {"id": request}, as_=home["cadre"])
    assert error["extensions"]["code"] == "FORBIDDEN"


async def test_the_residence_village_cadre_admits_and_the_resident_becomes_a_member(
    gql, move, owner_pool
):
    home, there, resident, _ = move
    pending = await gql.data(REQUESTS, {"u": there["code"]}, as_=there["cadre"])
    request = pending["membershipRequests"]["edges"][0]["node"]["id"]
    accepted = (await gql.data(ACCEPT, {"id": request}, as_=there["cadre"]))["acceptMembership"]
    assert accepted["status"] == "ACCEPTED" and accepted["decidedAt"]
    assert (await gql.data(FINANCE, {"v": there["code"]}, as_=resident["phone"]))["finance"]
    nodes = (await gql.data(MEMBER, {"u": home["code"]}, as_=home["cadre"]))["residents"]["edges"]
    assert nodes[0]["node"]["residenceMember"] is True
    actions = await owner_pool.fetch(
        "select action from vg.audit_log where entity = 'membership_request' and entity_id = $1"
        " order by id",
        request,
    )
    assert [a["action"] for a in actions] == ["membership.request", "membership.accepted"]
    again = await gql.error(ACCEPT, {"id": request}, as_=there["cadre"])
    assert again["extensions"]["code"] == "CONFLICT"


async def test_a_rejected_request_admits_nobody(gql, move):
    _, there, resident, _ = move
    pending = await gql.data(REQUESTS, {"u": there["code"]}, as_=there["cadre"])
    request = pending["membershipRequests"]["edges"][0]["node"]["id"]
    rejected = (await gql.data(REJECT, {"id": request}, as_=there["cadre"]))["rejectMembership"]
    assert rejected["status"] == "REJECTED" and rejected["reason"] == "不在本村居住"
    error = await gql.error(FINANCE, {"v": there["code"]}, as_=resident["phone"])
    assert error["extensions"]["code"] == "FORBIDDEN"


async def test_moving_away_ends_the_membership_and_its_acceptance(gql, move, owner_pool):
    home, there, resident, _ = move
    pending = await gql.data(REQUESTS, {"u": there["code"]}, as_=there["cadre"])
    request = pending["membershipRequests"]["edges"][0]["node"]["id"]
    await gql.data(ACCEPT, {"id": request}, as_=there["cadre"])
    moved = await gql.data(
        UPDATE, {"id": str(resident["id"]), "input": {"residence": None}}, as_=home["cadre"]
    )
    assert moved["updateResident"]["residenceMember"] is False
    status = await owner_pool.fetchval(
        "select status from vg.membership_requests where id = $1", int(request)
    )
    assert status == "ENDED"
    back = await gql.data(
        UPDATE,
        {"id": str(resident["id"]), "input": {"residence": there["code"], "residenceMember": True}},
        as_=home["cadre"],
    )
    assert back["updateResident"]["residenceMember"] is False  # a new request, not the old one


async def test_database_refuses_self_admission_by_the_household_village(
    move, as_request_role, account_id
):
    home, there, resident, _ = move
    await as_request_role.begin_as(await account_id(home["cadre"]))
    with pytest.raises(Exception, match="decided by its staff"):
        await as_request_role.execute(
            "update vg.residents set residence_member = true where id = $1", resident["id"]
        )


async def test_database_lets_only_the_village_asked_decide(move, as_request_role, account_id):
    home, there, resident, _ = move
    await as_request_role.begin_as(await account_id(home["cadre"]))
    decided = await as_request_role.execute(
        """update vg.membership_requests set status = 'ACCEPTED', decided_by = vg.account_id(),
                  decided_at = now() where resident_id = $1""",
        resident["id"],
    )
    assert decided == "UPDATE 0"
    with pytest.raises(Exception, match="permission denied"):
        await as_request_role.execute(
            """insert into vg.membership_requests (village_code, resident_village, resident_id,
                                                   requested_by, status)
               values ($1, $2, $3, vg.account_id(), 'ACCEPTED')""",
            int(there["code"]),
            int(home["code"]),
            resident["id"],
        )


async def test_a_decision_is_stamped_by_the_database(move, as_request_role, account_id):
    _, there, resident, _ = move
    await as_request_role.begin_as(await account_id(there["cadre"]))
    decided_at = await as_request_role.fetchval(
        """update vg.membership_requests set status = 'REJECTED', decided_by = vg.account_id(),
                  decided_at = timestamptz '2020-01-01 00:00+08'
            where resident_id = $1 and status = 'PENDING' returning decided_at""",
        resident["id"],
    )
    assert decided_at == await as_request_role.fetchval("select now()")


async def test_ending_an_admission_cannot_rewrite_its_decision(
    move, gql, as_request_role, account_id
):
    home, there, resident, _ = move
    pending = await gql.data(REQUESTS, {"u": there["code"]}, as_=there["cadre"])
    request = pending["membershipRequests"]["edges"][0]["node"]["id"]
    await gql.data(ACCEPT, {"id": request}, as_=there["cadre"])
    await as_request_role.begin_as(await account_id(home["cadre"]))
    for forged in ("decided_by = vg.account_id()", "reason = '搬走了'", "decided_at = now()"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="status only"):
            async with as_request_role.transaction():
                await as_request_role.execute(
                    f"update vg.membership_requests set status = 'ENDED', {forged} where id = $1",
                    int(request),
                )
    ended = await as_request_role.execute(
        "update vg.membership_requests set status = 'ENDED' where id = $1", int(request)
    )
    assert ended == "UPDATE 1"


async def test_demo_data_shows_admissions_accepted_and_pending(owner_pool):
    statuses = dict(
        await owner_pool.fetch(
            "select status, count(*) from vg.membership_requests"
            " where requested_at = timestamptz '2026-01-05 09:00+08' group by status"
        )
    )
    assert statuses.get("ACCEPTED", 0) > 0 and statuses.get("PENDING", 0) > 0


async def test_writes_cannot_name_a_resident_of_another_village(
    make_village, as_request_role, account_id
):
    """Input columns that point outside the writer's village are refused by the database."""
    home, other = await make_village(residents=1), await make_village(residents=1)
    outsider = other["residents"][0]["id"]
    await as_request_role.begin_as(await account_id(home["cadre"]))
    with pytest.raises(Exception, match="row-level security"):
        await as_request_role.execute(
            """insert into vg.cadres (village_code, name, body, position, resident_village,
                                      resident_id, term_start, appointed_by)
               values ($1, '外村人', 'COMMITTEE', '委员', $2, $3, date '2026-01-01',
                       vg.account_id())""",
            int(home["code"]),
            int(other["code"]),
            outsider,
        )
