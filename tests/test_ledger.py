"""The ledger (村情记录): append-only entries and corrections, Chinese keyword search over a
subtree (ranked, index-backed, correct for 1-2 character keywords too), and the
inspection records of remote inspection (远程验收)."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.demo import (
    CITY,
    CITY_OFFICIAL,
    COUNTY_OFFICIAL,
    FAR_VILLAGE,
    LUCHENG,
    RESIDENT,
    TOWN_OFFICIAL,
    VILLAGE_CADRE,
    WUMA,
)
from villagegraph import resolvers

RECORD = """mutation($i: LedgerEntryInput!) { recordLedgerEntry(input: $i) {
    id category occurredOn text attachments village { code } } }"""
CORRECT = """mutation($id: ID!, $i: LedgerCorrectionInput!) { correctLedgerEntry(id: $id, input: $i) {
    id text category corrects { id text correctedBy { id } } } }"""
LEDGER = """query($u: ID!, $s: String, $after: String, $first: Int) {
  ledger(unit: $u, search: $s, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id text occurredOn village { code } correctedBy { id } } } } }"""
INSPECTIONS = """query($u: ID!) { inspections(unit: $u, first: 100) {
    edges { node { subject inspectorName search village { code } queriedUnit { code } } } } }"""


def entry(village: str, text: str, day: str = "2026-10-01", **extra: object) -> dict[str, object]:
    return {"village": village, "category": "村务会议", "occurredOn": day, "text": text, **extra}


async def record(gql, phone: str, village: str, text: str, day: str = "2026-10-01") -> str:
    data = await gql.data(RECORD, {"i": entry(village, text, day)}, as_=phone)
    return str(data["recordLedgerEntry"]["id"])


async def search(gql, phone: str, unit: str, keywords: str, first: int = 50) -> list[str]:
    page = (await gql.data(LEDGER, {"u": unit, "s": keywords, "first": first}, as_=phone))["ledger"]
    return [edge["node"]["id"] for edge in page["edges"]]


def unique_word() -> str:
    """A Chinese word no other test or seed uses (four random CJK ideographs)."""
    number = uuid.uuid4().int
    return "".join(chr(0x4E00 + (number >> (16 * i)) % 20000) for i in range(4))


async def test_cadre_records_entries_with_links(gql, make_village):
    village = await make_village()
    data = await gql.data(
        RECORD,
        {
            "i": entry(
                village["code"], "召开村民代表大会。", attachments=["https://example.org/a.jpg"]
            )
        },
        as_=village["cadre"],
    )
    assert data["recordLedgerEntry"]["village"]["code"] == village["code"]
    assert data["recordLedgerEntry"]["attachments"] == ["https://example.org/a.jpg"]


async def test_recording_outside_ones_village_is_forbidden(gql, make_village):
    village = await make_village()
    for phone, code in ((village["cadre"], FAR_VILLAGE), (RESIDENT, village["code"])):
        error = await gql.error(RECORD, {"i": entry(code, "越权记录")}, as_=phone)
        assert error["extensions"]["code"] == "FORBIDDEN", phone
    error = await gql.error(RECORD, {"i": entry(WUMA, "镇级不是村")}, as_=TOWN_OFFICIAL)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_entries_are_append_only_even_at_the_database(as_request_role, account_id):
    await as_request_role.begin_as(await account_id(VILLAGE_CADRE))
    for statement in (
        "update vg.ledger_entries set text = 'x'",
        "delete from vg.ledger_entries",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with as_request_role.transaction():
                await as_request_role.execute(statement)


async def test_request_role_cannot_record_in_another_village(as_request_role, account_id):
    cadre = await account_id(VILLAGE_CADRE)
    await as_request_role.begin_as(cadre)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_request_role.execute(
            """insert into vg.ledger_entries (village_code, category, occurred_on, text, recorded_by)
               values ($1, '村务会议', current_date, 'x', $2)""",
            int(FAR_VILLAGE),
            cadre,
        )


async def test_a_correction_is_a_new_entry_and_the_original_stays(gql, make_village):
    village = await make_village()
    original = await record(gql, village["cadre"], village["code"], "修缮文化礼堂，花费三万元。")
    corrected = (
        await gql.data(
            CORRECT,
            {"id": original, "i": {"text": "修缮文化礼堂，花费三万五千元。"}},
            as_=village["cadre"],
        )
    )["correctLedgerEntry"]
    assert corrected["id"] != original and corrected["category"] == "村务会议"
    assert corrected["corrects"] == {
        "id": original,
        "text": "修缮文化礼堂，花费三万元。",
        "correctedBy": {"id": corrected["id"]},
    }
    page = (await gql.data(LEDGER, {"u": village["code"]}, as_=village["cadre"]))["ledger"]
    assert page["totalCount"] == 1  # the current version; tests/test_ledger_versions.py


async def test_chinese_keywords_of_any_length_find_entries_over_the_subtree(gql, make_village):
    word = unique_word()
    village, other = await make_village(), await make_village()
    roads = await record(gql, village["cadre"], village["code"], f"{word}村道硬化工程开工。")
    lights = await record(gql, other["cadre"], other["code"], f"{word}路灯安装完成。")
    for keywords, expected in (
        (f"{word}村道硬化", [roads]),  # long: trigram index
        (word[:2], [roads, lights]),  # 2 characters: no trigram, still found
        (f"{word} 灯", [lights]),  # every keyword must occur, one of them 1 character
        (f"{word} 水库", []),
    ):
        found = await search(gql, TOWN_OFFICIAL, WUMA, keywords)
        assert sorted(found) == sorted(expected), keywords
    # A town official of another county finds nothing of them; nor does a resident.
    assert await search(gql, COUNTY_OFFICIAL, "330381000000", word) == []
    assert await search(gql, RESIDENT, WUMA, word) == []


async def test_search_ranks_by_relevance_then_date_across_pages(gql, make_village):
    word = unique_word()
    village = await make_village()
    once_old = await record(gql, village["cadre"], village["code"], f"{word}一次。", "2026-01-05")
    once_new = await record(gql, village["cadre"], village["code"], f"{word}一次。", "2026-09-05")
    thrice = await record(
        gql, village["cadre"], village["code"], f"{word}，{word}，{word}。", "2025-12-01"
    )
    assert await search(gql, TOWN_OFFICIAL, village["code"], word) == [thrice, once_new, once_old]
    pages, after = [], None
    while True:
        page = (
            await gql.data(
                LEDGER,
                {"u": village["code"], "s": word, "first": 1, "after": after},
                as_=TOWN_OFFICIAL,
            )
        )["ledger"]
        pages += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == [thrice, once_new, once_old]


async def test_keywords_of_every_length_are_served_by_an_index_under_rls(
    database, owner_pool, account_id, session_token
):
    """As the request role, where RLS keeps non-leakproof conditions (LIKE, array
    containment) off the indexes: the plans of the statements that run, nested ones
    included (auto_explain, reported to this connection)."""
    city_official = await session_token(await account_id(CITY_OFFICIAL))

    async def plan(conn: asyncpg.Connection, unit: int, terms: list[str]) -> str:
        params = resolvers.ledger._Params(unit, unit + (99_999_999 if unit == int(CITY) else 0))
        match, _ = resolvers.ledger._search(terms, params, ranked=False)
        plans: list[str] = []

        def collect(_: object, message: asyncpg.PostgresLogMessage) -> None:
            plans.append(str(message.message))

        conn.add_log_listener(collect)
        await conn.execute("savepoint search; set local role vg_request")
        await conn.fetchval("select vg.begin_request($1)", city_official)
        ids = await conn.fetch(
            f"select e.id from vg.ledger_entries e where e.village_code between $1 and $2 and {match}",
            *params.values,
        )
        await conn.execute("rollback to savepoint search")
        conn.remove_log_listener(collect)
        assert ids, terms
        return "\n".join(plans)

    # The superuser's own connection: only it may load auto_explain.
    conn = await asyncpg.connect(database.admin_dsn)
    try:
        transaction = conn.transaction()
        await transaction.start()
        # A city's worth of entries (rolled back), so the planner weighs real numbers.
        await conn.execute(
            """insert into vg.ledger_entries (village_code, category, occurred_on, text)
               select v.codes[1 + i % cardinality(v.codes)], '民生服务',
                      date '2026-01-01' + i % 300,
                      '走访独居老人第' || i || '户，登记用水需求。'
                        || case when i % 50 = 0 then '村道硬化工程，调解纠纷。' else '' end
                 from generate_series(1, 6000) i,
                      (select array_agg(code) as codes from vg.org_units
                        where level = 'VILLAGE') v"""
        )
        await conn.execute("analyze vg.ledger_entries")
        await conn.execute(
            """load 'auto_explain'; set local auto_explain.log_min_duration = 0;
               set local auto_explain.log_nested_statements = on;
               set local auto_explain.log_level = notice; set local client_min_messages = notice"""
        )
        long_plan = await plan(conn, int(CITY), ["村道硬化工程"])
        short_plan = await plan(conn, int(CITY), ["纠纷"])
        one_village = await plan(conn, int(FAR_VILLAGE), ["水"])
        await transaction.rollback()
    finally:
        await conn.close()
    assert "ledger_entries_search_trgm" in long_plan, long_plan
    assert "ledger_entries_search_short" in short_plan, short_plan
    assert "Index Cond: ((village_code >= " in one_village, one_village  # the subtree btree


async def test_reads_from_outside_the_village_are_recorded_as_inspections(gql, make_village):
    word = unique_word()
    village = await make_village()
    await record(gql, village["cadre"], village["code"], f"{word}安全巡查。")
    await search(gql, village["cadre"], village["code"], word)  # its own cadre: no inspection
    assert (await gql.data(INSPECTIONS, {"u": village["code"]}, as_=village["cadre"]))[
        "inspections"
    ]["edges"] == []
    await search(gql, TOWN_OFFICIAL, WUMA, word)
    await gql.data(
        "query($u: ID!) { tasks(unit: $u) { totalCount } }",
        {"u": village["code"]},
        as_=COUNTY_OFFICIAL,
    )
    seen = [
        edge["node"]
        for edge in (await gql.data(INSPECTIONS, {"u": village["code"]}, as_=village["cadre"]))[
            "inspections"
        ]["edges"]
    ]
    assert seen == [
        {
            "subject": "TASKS",
            "inspectorName": "鹿城区 政务员",
            "search": None,
            "village": {"code": village["code"]},
            "queriedUnit": {"code": village["code"]},
        },
        {
            "subject": "LEDGER",
            "inspectorName": "五马街道 政务员",
            "search": word,
            "village": {"code": village["code"]},
            "queriedUnit": {"code": WUMA},
        },
    ]
    # Inspections are the village's and its superiors' business only.
    assert (await gql.data(INSPECTIONS, {"u": village["code"]}, as_=VILLAGE_CADRE))["inspections"][
        "edges"
    ] == []
    assert (await gql.data(INSPECTIONS, {"u": LUCHENG}, as_=COUNTY_OFFICIAL))["inspections"][
        "edges"
    ]


async def test_ledger_search_page_costs_a_fixed_number_of_statements(execute, account_id):
    query = """query($u: ID!, $s: String) { ledger(unit: $u, search: $s, first: 50) {
        totalCount edges { node { id text village { code name } corrects { id }
                                  correctedBy { id } } } } }"""
    official = await account_id(TOWN_OFFICIAL)
    counts = []
    for search_text in (None, "村", "补记会议地点"):  # the last finds the demo correction
        result, session = await execute(query, official, {"u": WUMA, "s": search_text})
        assert not result.errors
        counts.append(session.statements)
    assert len(result.data["ledger"]["edges"]) >= 1
    # begin_request, the page, the inspection record, the count, villages, corrected
    # entries, corrections
    assert counts == [7, 7, 7]


async def test_like_wildcards_in_keywords_are_taken_literally(gql, make_village):
    village = await make_village()
    literal = await record(gql, village["cadre"], village["code"], "入户率达到95%_以上。")
    await record(gql, village["cadre"], village["code"], "入户率达到95以上。")
    assert await search(gql, village["cadre"], village["code"], "95%_以") == [literal]
    assert await search(gql, village["cadre"], village["code"], "%_") == [literal]
