"""Personal data that stays masked (issue 12, findings 4-6), tried the way it was broken:
rebuilding masked ID numbers from birth dates, brute-forcing hidden digits through exact
filters, analysts reading the registry, and small or differenced statistics."""

from __future__ import annotations

import pytest

from tests.demo import (
    ANALYST,
    CITY,
    CITY_OFFICIAL,
    COUNTY_OFFICIAL,
    NEIGHBOUR_VILLAGE,
    RESIDENT,
    TOWN_OFFICIAL,
    VILLAGE,
    VILLAGE_CADRE,
    WUMA,
)
from villagegraph.config import Settings

PEOPLE = """
query($u: ID!, $id: String, $phone: String) {
  residents(unit: $u, idNumber: $id, phone: $phone, first: 100) {
    totalCount edges { node { id idNumber phone birthDate birthYear } }
  }
}"""
STATISTICS = """
query($u: ID!, $by: [ResidentDimension!], $tags: [String!]) {
  residentStatistics(unit: $u, by: $by, tags: $tags) {
    total partyMembers protected suppressedGroups minGroupSize
    groups { ageBand gender tag unit { code } count }
  }
}"""
ANALYTICS = """
query($u: ID!) {
  analytics(measure: RESIDENTS, unit: $u, by: [VILLAGE, CATEGORY], limit: 1000) {
    groups { unitCode category value }
  }
}"""
MASKED_VIEWERS = [TOWN_OFFICIAL, COUNTY_OFFICIAL, CITY_OFFICIAL]


def rebuilt(node: dict) -> str | None:
    """The attack of finding 4: the masked 8 digits are the birth date."""
    if node["birthDate"] is None or node["idNumber"] is None:
        return None
    return node["idNumber"][:6] + node["birthDate"].replace("-", "") + node["idNumber"][-4:]


# --- finding 4: a masked ID number cannot be rebuilt from the birth date -----------------


@pytest.mark.parametrize("phone", MASKED_VIEWERS)
async def test_masked_viewers_cannot_rebuild_id_numbers_from_birth_dates(gql, owner_pool, phone):
    nodes = [
        e["node"] for e in (await gql.data(PEOPLE, {"u": VILLAGE}, as_=phone))["residents"]["edges"]
    ]
    truth = dict(
        await owner_pool.fetch(
            "select id::text, id_number from vg.residents where village_code = $1", int(VILLAGE)
        )
    )
    assert nodes and all("*" in (n["idNumber"] or "*") for n in nodes)
    assert [n for n in nodes if rebuilt(n) == truth[n["id"]]] == []
    assert all(n["birthDate"] is None for n in nodes)
    # The year stays, for statistics.
    assert any(n["birthYear"] for n in nodes)


async def test_cadre_of_the_household_village_reads_the_birth_date_with_the_id_number(
    gql, owner_pool
):
    nodes = (await gql.data(PEOPLE, {"u": VILLAGE}, as_=VILLAGE_CADRE))["residents"]["edges"]
    born = dict(
        await owner_pool.fetch(
            "select id::text, birth_date from vg.residents where village_code = $1", int(VILLAGE)
        )
    )
    for edge in nodes:
        node = edge["node"]
        expected = born[node["id"]]
        assert node["birthDate"] == (None if expected is None else expected.isoformat())


async def test_request_role_cannot_read_exact_birth_dates_from_the_history(
    as_request_role, account_id
):
    await as_request_role.begin_as(await account_id(TOWN_OFFICIAL))
    with pytest.raises(Exception, match="permission denied"):
        await as_request_role.fetch("select birth_date from vg.resident_history limit 1")


# --- finding 5: exact filters are refused to masked viewers, full reads are recorded ----


@pytest.mark.parametrize("phone", [*MASKED_VIEWERS, ANALYST])
@pytest.mark.parametrize("unit", [VILLAGE, CITY])
async def test_identity_filters_are_refused_to_viewers_who_see_the_value_masked(
    gql, owner_pool, phone, unit
):
    me = await owner_pool.fetchrow(
        "select id_number, phone from vg.residents where phone = $1", RESIDENT
    )
    for variables in ({"id": me["id_number"]}, {"phone": me["phone"]}):
        error = await gql.error(PEOPLE, {"u": unit, **variables}, as_=phone)
        assert error["extensions"]["code"] == "FORBIDDEN"


async def test_identity_filters_are_refused_outside_the_cadres_own_village(gql, owner_pool):
    neighbour = await owner_pool.fetchval(
        "select phone from vg.residents where village_code = $1 and phone is not null limit 1",
        int(NEIGHBOUR_VILLAGE),
    )
    for unit in (NEIGHBOUR_VILLAGE, WUMA):
        error = await gql.error(PEOPLE, {"u": unit, "phone": neighbour}, as_=VILLAGE_CADRE)
        assert error["extensions"]["code"] == "FORBIDDEN"


async def test_database_finds_nobody_by_identity_for_a_masked_viewer(
    as_request_role, account_id, owner_pool
):
    me = await owner_pool.fetchrow("select id_number from vg.residents where phone = $1", RESIDENT)
    await as_request_role.begin_as(await account_id(TOWN_OFFICIAL))
    found = await as_request_role.fetch(
        "select * from vg.resident_ids_by_identity($1, null)", me["id_number"]
    )
    assert found == []


async def test_a_full_id_number_read_by_a_cadre_is_recorded_in_the_request(
    gql, owner_pool, account_id
):
    me = await owner_pool.fetchrow(
        "select id, village_code from vg.residents where phone = $1", RESIDENT
    )
    cadre = await account_id(VILLAGE_CADRE)
    count = """select count(*) from vg.personal_data_reads
                where reader_account = $1 and resident_id = $2 and field = 'ID_NUMBER'"""
    before = await owner_pool.fetchval(count, cadre, me["id"])
    await gql.data(PEOPLE, {"u": VILLAGE}, as_=VILLAGE_CADRE)
    assert await owner_pool.fetchval(count, cadre, me["id"]) == before + 1
    # Masked reads and the resident's own reads are not disclosures.
    resident = await account_id(RESIDENT)
    before_own = await owner_pool.fetchval(count, resident, me["id"])
    await gql.data(PEOPLE, {"u": VILLAGE}, as_=RESIDENT)
    await gql.data(PEOPLE, {"u": VILLAGE}, as_=TOWN_OFFICIAL)
    assert await owner_pool.fetchval(count, resident, me["id"]) == before_own
    town = await account_id(TOWN_OFFICIAL)
    assert await owner_pool.fetchval(count, town, me["id"]) == 0


# --- finding 6: analysts get aggregates and pseudonymous rows -----------------------------


async def test_analysts_read_no_resident_row_through_the_api(gql, owner_pool):
    query = """query($u: ID!) { residents(unit: $u) { totalCount edges { node { name } } } }"""
    data = await gql.data(query, {"u": CITY}, as_=ANALYST)
    assert data["residents"] == {"totalCount": 0, "edges": []}


async def test_analysts_read_no_personal_row_at_the_database(as_request_role, account_id):
    await as_request_role.begin_as(await account_id(ANALYST))
    for table in ("residents", "households", "resident_history", "party_members"):
        column = "village_code"
        count = await as_request_role.fetchval(f"select count({column}) from vg.{table}")
        assert count == 0, table
    rows = await as_request_role.fetch(
        "select * from vg.resident_pseudonyms($1, $2) limit 50", int(CITY), int(CITY) + 99999999
    )
    assert rows and set(rows[0].keys()) == {
        "village_code",
        "pseudonym",
        "gender",
        "birth_year",
        "tags",
    }
    assert all(not {"低保", "残疾"} & set(r["tags"]) for r in rows)


@pytest.mark.parametrize("phone", [ANALYST, TOWN_OFFICIAL])
async def test_statistics_above_the_village_leave_out_small_groups(gql, phone):
    for by in (["TAG"], ["UNIT", "TAG"], ["AGE_BAND", "GENDER", "UNIT"]):
        stats = (await gql.data(STATISTICS, {"u": WUMA, "by": by}, as_=phone))["residentStatistics"]
        assert stats["protected"] is True and stats["minGroupSize"] == 5
        assert all(g["count"] >= 5 for g in stats["groups"]), by
    fine = await gql.data(STATISTICS, {"u": WUMA, "by": ["UNIT", "TAG"]}, as_=phone)
    assert fine["residentStatistics"]["suppressedGroups"] > 0


async def test_village_cadres_read_their_own_village_exactly(gql):
    stats = (await gql.data(STATISTICS, {"u": VILLAGE, "by": ["TAG"]}, as_=VILLAGE_CADRE))[
        "residentStatistics"
    ]
    assert stats["protected"] is False and stats["suppressedGroups"] == 0
    assert any(g["count"] < 5 for g in stats["groups"])


async def test_differencing_two_statistics_does_not_reveal_one_person(
    gql, make_village, owner_pool
):
    village = await make_village(residents=5, tags=[["低保"]] * 5)
    released, truth = [], []
    for n in range(5, 15):
        stats = await gql.data(
            STATISTICS, {"u": village["code"], "tags": ["低保"]}, as_=TOWN_OFFICIAL
        )
        again = await gql.data(
            STATISTICS, {"u": village["code"], "tags": ["低保"]}, as_=TOWN_OFFICIAL
        )
        assert stats == again  # the same people always give the same figure
        released.append(stats["residentStatistics"]["total"])
        truth.append(n)
        await owner_pool.execute(
            "insert into vg.residents (village_code, name, tags) values ($1, '新村民', '{低保}')",
            int(village["code"]),
        )
    assert all(abs(r - t) <= 2 for r, t in zip(released, truth, strict=True))
    steps = [b - a for a, b in zip(released, released[1:], strict=False)]
    assert any(step != 1 for step in steps)  # one more person is not read off a difference


async def test_a_group_below_the_minimum_is_suppressed_not_shown(gql, make_village):
    village = await make_village(residents=4, tags=[["低保"]] * 4)
    stats = (await gql.data(STATISTICS, {"u": village["code"], "by": ["TAG"]}, as_=TOWN_OFFICIAL))[
        "residentStatistics"
    ]
    assert stats["total"] == 0 and stats["groups"] == [] and stats["suppressedGroups"] == 1


async def test_analytics_hide_sensitive_tags_and_small_groups(gql, owner_pool):
    city = int(CITY)
    await owner_pool.execute(
        "insert into vg.sensitive_tags (city_code, tag) values ($1, '党员')", city
    )
    try:
        groups = (await gql.data(ANALYTICS, {"u": CITY}, as_=ANALYST))["analytics"]["groups"]
    finally:
        await owner_pool.execute("delete from vg.sensitive_tags where city_code = $1", city)
    assert groups and all(float(g["value"]) >= 5 for g in groups)
    assert not {"低保", "残疾", "党员"} & {g["category"] for g in groups}


async def test_the_minimum_group_size_is_configured_and_enforced_by_the_database(gql, owner_pool):
    assert Settings.from_env({"VILLAGEGRAPH_MIN_GROUP_SIZE": "8"}).min_group_size == 8
    assert Settings.from_env({}).min_group_size == 5
    await owner_pool.execute("update vg.disclosure_settings set min_group_size = 8")
    try:
        stats = (await gql.data(STATISTICS, {"u": WUMA, "by": ["UNIT", "TAG"]}, as_=ANALYST))[
            "residentStatistics"
        ]
    finally:
        await owner_pool.execute("update vg.disclosure_settings set min_group_size = 5")
    assert all(g["count"] >= 8 for g in stats["groups"])
