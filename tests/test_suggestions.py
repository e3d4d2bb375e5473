"""Suggestions (提建议): villagers propose to their own village, cadres answer through a status
lifecycle, the submitter is notified, and neighbours see nothing."""

from __future__ import annotations

import asyncpg
import pytest

from tests.demo import ANALYST, NEIGHBOUR, RESIDENT, TOWN_OFFICIAL, VILLAGE, VILLAGE_CADRE, WUMA

SUGGESTION = "id title status reason mine firstAnsweredAt replies { body } village { code }"
SUBMIT = f"""mutation($input: SubmitSuggestionInput!) {{
  submitSuggestion(input: $input) {{ {SUGGESTION} }} }}"""
REPLY = f"""mutation($id: ID!, $b: String!) {{
  replyToSuggestion(id: $id, body: $b) {{ {SUGGESTION} }} }}"""
STATUS = f"""mutation($id: ID!, $s: SuggestionStatus!, $r: String) {{
  setSuggestionStatus(id: $id, status: $s, reason: $r) {{ {SUGGESTION} }} }}"""
READ = f"query($id: ID!) {{ suggestion(id: $id) {{ {SUGGESTION} }} }}"
LIST = """query($u: ID!, $s: SuggestionStatus, $after: String) {
  suggestions(unit: $u, status: $s, first: 2, after: $after) {
    totalCount edges { node { id status } } pageInfo { hasNextPage endCursor } } }"""


async def submit(gql, phone: str, title: str = "修路灯") -> dict:
    variables = {"input": {"title": title, "body": "村口路灯坏了。"}}
    return (await gql.data(SUBMIT, variables, as_=phone))["submitSuggestion"]


async def test_a_villager_submits_to_its_own_village_and_its_cadre_answers(
    gql, make_village, owner_pool
):
    village = await make_village(residents=2)
    author, other = village["residents"]
    suggestion = await submit(gql, author["phone"])
    assert suggestion["village"] == {"code": village["code"]}
    assert (suggestion["status"], suggestion["mine"]) == ("SUBMITTED", True)
    seen = (await gql.data(READ, {"id": suggestion["id"]}, as_=other["phone"]))["suggestion"]
    assert seen["mine"] is False
    answered = (
        await gql.data(REPLY, {"id": suggestion["id"], "b": "已安排维修"}, as_=village["cadre"])
    )["replyToSuggestion"]
    assert answered["status"] == "ANSWERED" and answered["firstAnsweredAt"]
    assert answered["replies"] == [{"body": "已安排维修"}]
    notified = await owner_pool.fetchrow(
        """select o.kind, o.payload ->> 'reply' as reply from vg.outbox o
             join vg.accounts a on a.id = o.recipient_account
            where a.phone = $1 and o.payload ->> 'suggestion' = $2""",
        author["phone"],
        suggestion["id"],
    )
    assert tuple(notified) == ("suggestion.answered", "已安排维修")


async def test_the_lifecycle_moves_forward_and_rejection_needs_a_reason(
    gql, make_village, owner_pool
):
    village = await make_village(residents=1)
    cadre = village["cadre"]
    suggestion = await submit(gql, village["residents"][0]["phone"])
    sid = suggestion["id"]
    for status in ("ACKNOWLEDGED", "IN_PROGRESS"):
        moved = await gql.data(STATUS, {"id": sid, "s": status}, as_=cadre)
        assert moved["setSuggestionStatus"]["status"] == status
    back = await gql.error(STATUS, {"id": sid, "s": "ACKNOWLEDGED"}, as_=cadre)
    assert back["extensions"]["code"] == "CONFLICT"
    await gql.data(REPLY, {"id": sid, "b": "已处理"}, as_=cadre)
    closed = await gql.data(STATUS, {"id": sid, "s": "CLOSED"}, as_=cadre)
    assert closed["setSuggestionStatus"]["status"] == "CLOSED"
    for status, reason in (("REJECTED", "晚了"), ("IN_PROGRESS", None)):
        error = await gql.error(STATUS, {"id": sid, "s": status, "r": reason}, as_=cadre)
        assert error["extensions"]["code"] == "CONFLICT"
    late_reply = await gql.error(REPLY, {"id": sid, "b": "补充"}, as_=cadre)
    assert late_reply["extensions"]["code"] == "CONFLICT"

    other = await submit(gql, village["residents"][0]["phone"], "另一条")
    no_reason = await gql.error(STATUS, {"id": other["id"], "s": "REJECTED"}, as_=cadre)
    assert no_reason["extensions"]["code"] == "BAD_USER_INPUT"
    rejected = await gql.data(
        STATUS, {"id": other["id"], "s": "REJECTED", "r": "不属于村级事务"}, as_=cadre
    )
    assert rejected["setSuggestionStatus"]["reason"] == "不属于村级事务"
    notified = await owner_pool.fetchval(
        "select payload ->> 'reason' from vg.outbox where kind = 'suggestion.rejected'"
        " and payload ->> 'suggestion' = $1",
        other["id"],
    )
    assert notified == "不属于村级事务"


async def test_only_staff_of_the_village_handle_suggestions(gql, make_village):
    village = await make_village(residents=1)
    author = village["residents"][0]["phone"]
    suggestion = await submit(gql, author)
    for phone in (author, ANALYST):
        error = await gql.error(REPLY, {"id": suggestion["id"], "b": "我自己回"}, as_=phone)
        assert error["extensions"]["code"] == "FORBIDDEN", phone
    error = await gql.error(STATUS, {"id": suggestion["id"], "s": "CLOSED"}, as_=author)
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert (await gql.error(SUBMIT, {"input": {"title": "t", "body": "b"}}))["extensions"][
        "code"
    ] == "UNAUTHENTICATED"
    staff = await gql.error(SUBMIT, {"input": {"title": "t", "body": "b"}}, as_=TOWN_OFFICIAL)
    assert staff["extensions"]["code"] == "FORBIDDEN"
    answered = await gql.data(REPLY, {"id": suggestion["id"], "b": "街道已知悉"}, as_=TOWN_OFFICIAL)
    assert answered["replyToSuggestion"]["status"] == "ANSWERED"


async def test_neighbour_village_resident_cannot_read_suggestions(gql, as_request_role, account_id):
    suggestion = await submit(gql, RESIDENT)
    for phone in (NEIGHBOUR, None):
        assert (await gql.data(READ, {"id": suggestion["id"]}, as_=phone))["suggestion"] is None
        listed = (await gql.data(LIST, {"u": VILLAGE}, as_=phone))["suggestions"]
        assert listed["totalCount"] == 0
    for phone in (NEIGHBOUR, None):
        await as_request_role.begin_as(None if phone is None else await account_id(phone))
        for table in ("suggestions", "suggestion_replies"):
            count = await as_request_role.fetchval(
                f"select count(*) from vg.{table} where village_code = $1", int(VILLAGE)
            )
            assert count == 0, (phone, table)


async def test_a_resident_cannot_forge_or_move_a_suggestion_by_hand(
    gql, as_request_role, account_id
):
    suggestion = await submit(gql, RESIDENT)
    resident = await account_id(RESIDENT)
    await as_request_role.begin_as(resident)
    moved = await as_request_role.execute(
        "update vg.suggestions set status = 'CLOSED' where id = $1", int(suggestion["id"])
    )
    assert moved == "UPDATE 0"
    me = await as_request_role.fetchval("select vg.resident_id()")
    insert = """insert into vg.suggestions (village_code, resident_id, submitted_by, title, body)
                values ($1, $2, $3, 't', 'b')"""
    async with as_request_role.transaction():  # in its own name, to its own village: fine
        await as_request_role.execute(insert, int(VILLAGE), me, resident)
    # Into the neighbour village or in someone else's name: refused by the policy.
    for village, resident_id, submitted_by in (
        (int(VILLAGE) + 1, me, resident),
        (int(VILLAGE), me + 1, resident),
        (int(VILLAGE), me, resident + 1),
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with as_request_role.transaction():
                await as_request_role.execute(insert, village, resident_id, submitted_by)
    # Already answered: the request role cannot even name the status column.
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_request_role.execute(
            """insert into vg.suggestions (village_code, resident_id, submitted_by, title, body,
                                          status)
               values ($1, $2, $3, 't', 'b', 'ANSWERED')""",
            int(VILLAGE),
            me,
            resident,
        )


async def test_suggestions_page_with_cursors_for_officials_above(gql):
    first = (await gql.data(LIST, {"u": WUMA}, as_=TOWN_OFFICIAL))["suggestions"]
    assert first["totalCount"] >= 18 and first["pageInfo"]["hasNextPage"]
    second = (
        await gql.data(
            LIST, {"u": WUMA, "after": first["pageInfo"]["endCursor"]}, as_=TOWN_OFFICIAL
        )
    )["suggestions"]
    assert not {e["node"]["id"] for e in first["edges"]} & {
        e["node"]["id"] for e in second["edges"]
    }
    rejected = (await gql.data(LIST, {"u": WUMA, "s": "REJECTED"}, as_=TOWN_OFFICIAL))[
        "suggestions"
    ]
    assert rejected["totalCount"] >= 3
    assert all(e["node"]["status"] == "REJECTED" for e in rejected["edges"])


async def test_answered_and_open_suggestions_reach_the_village_dashboard(gql, make_village):
    village = await make_village(residents=1)
    phone = village["residents"][0]["phone"]
    for title in ("一", "二", "三"):
        await submit(gql, phone, title)
    answered = await submit(gql, phone, "四")
    await gql.data(REPLY, {"id": answered["id"], "b": "好"}, as_=village["cadre"])
    query = """query($u: ID!) { dashboard(unit: $u) {
        openSuggestions answeredSuggestions medianHoursToFirstAnswer } }"""
    figures = (await gql.data(query, {"u": village["code"]}, as_=village["cadre"]))["dashboard"]
    assert (figures["openSuggestions"], figures["answeredSuggestions"]) == (3, 1)
    assert 0 <= figures["medianHoursToFirstAnswer"] < 1


async def test_suggestion_list_costs_a_fixed_number_of_statements(execute, account_id):
    query = """query($u: ID!) { suggestions(unit: $u, first: 50) { totalCount edges { node {
        id status replies { body } village { name } } } } }"""
    result, session = await execute(query, await account_id(TOWN_OFFICIAL), {"u": WUMA})
    assert not result.errors
    assert len(result.data["suggestions"]["edges"]) >= 18
    # begin_request, the page, the count, replies, villages
    assert session.statements == 5


async def test_the_first_answer_time_is_the_first_replys_and_cannot_be_set_by_hand(
    gql, as_request_role, account_id
):
    suggestion = await submit(gql, RESIDENT)
    answered = (await gql.data(REPLY, {"id": suggestion["id"], "b": "已收到"}, as_=VILLAGE_CADRE))[
        "replyToSuggestion"
    ]
    await gql.data(STATUS, {"id": suggestion["id"], "s": "IN_PROGRESS"}, as_=VILLAGE_CADRE)
    again = (await gql.data(REPLY, {"id": suggestion["id"], "b": "已办结"}, as_=VILLAGE_CADRE))[
        "replyToSuggestion"
    ]
    assert again["firstAnsweredAt"] == answered["firstAnsweredAt"]
    assert [r["body"] for r in again["replies"]] == ["已收到", "已办结"]
    await as_request_role.begin_as(await account_id(VILLAGE_CADRE))
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_request_role.execute(
            "update vg.suggestions set first_answered_at = submitted_at where id = $1",
            int(suggestion["id"]),
        )


async def test_the_database_keeps_the_lifecycle_even_by_hand(gql, as_request_role, account_id):
    suggestion = await submit(gql, RESIDENT)
    await as_request_role.begin_as(await account_id(VILLAGE_CADRE))
    sid = int(suggestion["id"])
    set_status = "update vg.suggestions set status = $2, reason = $3 where id = $1"
    await as_request_role.execute(set_status, sid, "REJECTED", "重复建议")
    for status in ("SUBMITTED", "ANSWERED", "CLOSED"):
        with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):
            async with as_request_role.transaction():
                await as_request_role.execute(set_status, sid, status, None)
