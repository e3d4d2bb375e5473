"""The ledger as an inspector reads it (issue 16, finding 5): no entry dated in the future,
a list of current versions (a corrected entry gives way to its correction unless superseded
ones are asked for), and filters by category and date range."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
import pytest

from tests.demo import TOWN_OFFICIAL, VILLAGE, VILLAGE_CADRE, WUMA
from villagegraph.schema.inputs import LOCAL_TIME

RECORD = """mutation($i: LedgerEntryInput!) { recordLedgerEntry(input: $i) { id } }"""
CORRECT = """mutation($id: ID!, $i: LedgerCorrectionInput!) {
  correctLedgerEntry(id: $id, input: $i) { id } }"""
LEDGER = """query($u: ID!, $s: String, $c: String, $from: Date, $to: Date, $all: Boolean) {
  ledger(unit: $u, search: $s, category: $c, from: $from, to: $to, includeSuperseded: $all,
         first: 100) { totalCount edges { node { id category occurredOn } } } }"""


def tomorrow() -> str:
    return (datetime.now(LOCAL_TIME).date() + timedelta(days=1)).isoformat()


async def record(gql, village: dict, category: str, day: str, text: str = "巡查记录") -> str:
    data = await gql.data(
        RECORD,
        {"i": {"village": village["code"], "category": category, "occurredOn": day, "text": text}},
        as_=village["cadre"],
    )
    return data["recordLedgerEntry"]["id"]


async def listed(gql, unit: str, phone: str, **filters: object) -> list[str]:
    page = (await gql.data(LEDGER, {"u": unit, **filters}, as_=phone))["ledger"]
    ids = [edge["node"]["id"] for edge in page["edges"]]
    assert page["totalCount"] == len(ids)
    return ids


async def test_future_dates_are_refused_by_the_api_and_the_database(
    gql, make_village, as_request_role, account_id
):
    village = await make_village()
    variables = {
        "i": {
            "village": village["code"],
            "category": "安全巡查",
            "occurredOn": tomorrow(),
            "text": "预先登记",
        }
    }
    error = await gql.error(RECORD, variables, as_=village["cadre"])
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "occurredOn" in error["message"]
    original = await record(gql, village, "安全巡查", "2026-10-01")
    error = await gql.error(
        CORRECT,
        {"id": original, "i": {"text": "改期", "occurredOn": tomorrow()}},
        as_=village["cadre"],
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    cadre = await account_id(VILLAGE_CADRE)
    await as_request_role.begin_as(cadre)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_request_role.execute(
            """insert into vg.ledger_entries (village_code, category, occurred_on, text, recorded_by)
               values ($1, '安全巡查', $2::date, '预先登记', $3)""",
            int(VILLAGE),
            datetime.fromisoformat(tomorrow()).date(),
            cadre,
        )


async def test_search_returns_current_versions_unless_superseded_ones_are_asked_for(
    gql, make_village
):
    village = await make_village()
    original = await record(gql, village, "村务会议", "2026-10-01", "召开村民代表大会 讨论停车场")
    first = (
        await gql.data(
            CORRECT,
            {"id": original, "i": {"text": "召开村民代表大会 讨论停车场 到会32人"}},
            as_=village["cadre"],
        )
    )["correctLedgerEntry"]["id"]
    second = (
        await gql.data(
            CORRECT,
            {"id": first, "i": {"text": "召开村民代表大会 讨论停车场 到会35人"}},
            as_=village["cadre"],
        )
    )["correctLedgerEntry"]["id"]
    code, cadre = village["code"], village["cadre"]
    assert await listed(gql, code, cadre, s="停车场") == [second]
    assert await listed(gql, code, TOWN_OFFICIAL) == [second]
    assert set(await listed(gql, code, cadre, s="停车场", all=True)) == {original, first, second}
    # A superseded version is not corrected again: the latest one is.
    error = await gql.error(CORRECT, {"id": original, "i": {"text": "再改"}}, as_=cadre)
    assert error["extensions"]["code"] == "CONFLICT"
    assert f"entry {first}" in error["message"]


async def test_filters_by_category_and_date_range(gql, make_village):
    village = await make_village()
    meeting = await record(gql, village, "村务会议", "2026-09-03")
    patrol_sep = await record(gql, village, "安全巡查", "2026-09-20")
    patrol_oct = await record(gql, village, "安全巡查", "2026-10-02")
    code, cadre = village["code"], village["cadre"]
    assert await listed(gql, code, cadre, c="安全巡查") == [patrol_oct, patrol_sep]
    assert await listed(gql, code, cadre, **{"from": "2026-09-01", "to": "2026-09-30"}) == [
        patrol_sep,
        meeting,
    ]
    assert await listed(gql, code, cadre, c="安全巡查", **{"from": "2026-10-01"}) == [patrol_oct]
    # Over the town's subtree too, with keywords.
    assert patrol_sep in await listed(
        gql, WUMA, TOWN_OFFICIAL, s="巡查", c="安全巡查", **{"to": "2026-09-30"}
    )
    error = await gql.error(
        LEDGER, {"u": code, "from": "2026-10-02", "to": "2026-10-01"}, as_=cadre
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
