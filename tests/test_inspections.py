"""Remote inspection (远程验收) of disclosures: officials reading a village's notices or
finance from outside the village are recorded; the village's own staff are not."""

from __future__ import annotations

from tests.demo import COUNTY_OFFICIAL, LUCHENG, RESIDENT, TOWN_OFFICIAL, VILLAGE

INSPECTIONS = """query($u: ID!) { inspections(unit: $u, first: 100) {
    edges { node { subject inspectorName village { code } queriedUnit { code } } } } }"""


async def subjects_of(gql, village: str, as_: str) -> list[tuple[str, str]]:
    edges = (await gql.data(INSPECTIONS, {"u": village}, as_=as_))["inspections"]["edges"]
    return [(e["node"]["subject"], e["node"]["queriedUnit"]["code"]) for e in edges]


async def test_officials_reading_a_villages_disclosures_are_recorded(gql, make_village):
    village = await make_village()
    code = village["code"]
    await gql.data(
        """mutation($u: ID!) { publishNotice(input: {unit: $u, board: FINANCE, title: "十月账目",
             body: "收支明细", audience: MEMBERS}) { id } }""",
        {"u": code},
        as_=village["cadre"],
    )
    notices = "query($u: ID!) { notices(unit: $u) { totalCount } }"
    finance = "query($v: ID!) { finance(village: $v) { totals { balance } } }"
    await gql.data(notices, {"u": code}, as_=village["cadre"])
    await gql.data(finance, {"v": code}, as_=village["cadre"])
    assert await subjects_of(gql, code, village["cadre"]) == []

    await gql.data(notices, {"u": LUCHENG}, as_=COUNTY_OFFICIAL)
    await gql.data(finance, {"v": code}, as_=TOWN_OFFICIAL)
    recorded = await subjects_of(gql, code, village["cadre"])
    assert ("NOTICES", LUCHENG) in recorded
    assert ("FINANCE", code) in recorded


async def test_residents_reading_their_own_village_are_not_inspections(gql, owner_pool):
    before = await owner_pool.fetchval(
        "select count(*) from vg.inspections where village_code = $1", int(VILLAGE)
    )
    await gql.data('query { notices(unit: "330302006001") { totalCount } }', as_=RESIDENT)
    await gql.data('query { finance(village: "330302006001") { totals { income } } }', as_=RESIDENT)
    after = await owner_pool.fetchval(
        "select count(*) from vg.inspections where village_code = $1", int(VILLAGE)
    )
    assert after == before
