"""The residents registry: masked identity per role, drill-down, history-stable statistics,
cadres and party members."""

from __future__ import annotations

from datetime import date

import pytest

from tests.demo import (
    ANALYST,
    CITY,
    CITY_OFFICIAL,
    COUNTY_OFFICIAL,
    NEIGHBOUR,
    NEIGHBOUR_VILLAGE,
    RESIDENT,
    TOWN_OFFICIAL,
    VILLAGE,
    VILLAGE_CADRE,
    WUMA,
)

RESIDENTS = """
query($u: ID!, $tags: [String!], $first: Int, $after: String, $id: String, $phone: String) {
  residents(unit: $u, tags: $tags, first: $first, after: $after, idNumber: $id, phone: $phone) {
    totalCount
    edges { cursor node { id name tags idNumber phone village { code } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
STATISTICS = """
query($u: ID!, $on: Date, $by: [ResidentDimension!], $tags: [String!]) {
  residentStatistics(unit: $u, on: $on, by: $by, tags: $tags) {
    on total partyMembers
    groups { ageBand gender tag unit { code } count }
    cadres { name position body termStart termEnd village { code } }
  }
}"""


async def demo_resident(owner_pool, phone=RESIDENT):
    return await owner_pool.fetchrow(
        "select id, id_number, phone from vg.residents where phone = $1", phone
    )


async def contact_as(gql, phone, unit, resident_id):
    data = await gql.data(RESIDENTS, {"u": unit, "first": 100}, as_=phone)
    nodes = {e["node"]["id"]: e["node"] for e in data["residents"]["edges"]}
    return nodes.get(str(resident_id))


async def test_village_cadre_sees_id_number_and_phone_in_full(gql, owner_pool):
    me = await demo_resident(owner_pool)
    node = await contact_as(gql, VILLAGE_CADRE, VILLAGE, me["id"])
    assert (node["idNumber"], node["phone"]) == (me["id_number"], me["phone"])


@pytest.mark.parametrize("phone", [TOWN_OFFICIAL, COUNTY_OFFICIAL, CITY_OFFICIAL])
async def test_officials_see_identity_masked(gql, owner_pool, phone):
    me = await demo_resident(owner_pool)
    node = await contact_as(gql, phone, VILLAGE, me["id"])
    assert node["idNumber"] == me["id_number"][:6] + "********" + me["id_number"][-4:]
    assert node["phone"] == "138****0010"


async def test_resident_sees_its_own_identity_and_no_one_elses(gql, owner_pool):
    me = await demo_resident(owner_pool)
    data = await gql.data(RESIDENTS, {"u": VILLAGE}, as_=RESIDENT)
    assert [e["node"]["id"] for e in data["residents"]["edges"]] == [str(me["id"])]
    assert data["residents"]["edges"][0]["node"]["idNumber"] == me["id_number"]
    neighbour = await gql.data(RESIDENTS, {"u": VILLAGE}, as_=NEIGHBOUR)
    assert neighbour["residents"]["totalCount"] == 0


async def test_anonymous_callers_see_no_residents(gql):
    data = await gql.data(RESIDENTS, {"u": CITY})
    assert data["residents"]["totalCount"] == 0 and data["residents"]["edges"] == []


async def test_cadre_of_another_village_sees_nothing_of_this_one(gql, make_village):
    other = await make_village(residents=1)
    data = await gql.data(RESIDENTS, {"u": VILLAGE}, as_=other["cadre"])
    assert data["residents"]["totalCount"] == 0


async def test_request_role_cannot_select_identity_columns(as_request_role, account_id):
    await as_request_role.begin_as(await account_id(VILLAGE_CADRE))
    for column in ("id_number", "phone", "*"):
        with pytest.raises(Exception, match="permission denied"):
            async with as_request_role.transaction():
                await as_request_role.fetch(f"select {column} from vg.residents limit 1")


@pytest.mark.parametrize(
    ("phone", "masked"),
    [(VILLAGE_CADRE, False), (TOWN_OFFICIAL, True), (COUNTY_OFFICIAL, True), (RESIDENT, False)],
)
async def test_database_masks_identity_by_context(
    as_request_role, account_id, owner_pool, phone, masked
):
    me = await demo_resident(owner_pool)
    await as_request_role.begin_as(await account_id(phone))
    row = await as_request_role.fetchrow(
        "select * from vg.resident_contacts($1::bigint[])", [me["id"]]
    )
    assert row["masked"] is masked
    assert (row["phone"] == "138****0010") is masked
    assert (row["id_number"] == me["id_number"]) is not masked


async def test_contacts_function_honours_row_visibility(as_request_role, account_id, owner_pool):
    other = await demo_resident(owner_pool, NEIGHBOUR)
    await as_request_role.begin_as(await account_id(RESIDENT))
    rows = await as_request_role.fetch(
        "select * from vg.resident_contacts($1::bigint[])", [other["id"]]
    )
    assert rows == []
    await as_request_role.begin_as(await account_id(VILLAGE_CADRE))
    assert (
        await as_request_role.fetch(
            "select * from vg.resident_ids_by_identity($1, null)", other["id_number"]
        )
        == []
    )


async def test_staff_look_residents_up_by_full_id_number_or_phone(gql, owner_pool):
    me = await demo_resident(owner_pool)
    by_id = await gql.data(RESIDENTS, {"u": VILLAGE, "id": me["id_number"]}, as_=VILLAGE_CADRE)
    by_phone = await gql.data(RESIDENTS, {"u": VILLAGE, "phone": me["phone"]}, as_=VILLAGE_CADRE)
    for data in (by_id, by_phone):
        assert [e["node"]["id"] for e in data["residents"]["edges"]] == [str(me["id"])]
    # A masked value finds nothing: it is not the stored number.
    masked = me["id_number"][:6] + "********" + me["id_number"][-4:]
    none = await gql.data(RESIDENTS, {"u": VILLAGE, "id": masked}, as_=VILLAGE_CADRE)
    assert none["residents"]["totalCount"] == 0


async def test_drill_down_by_tags_pages_through_everyone_with_all_tags(gql, owner_pool):
    expected = await owner_pool.fetch(
        """select id from vg.residents where village_code between $1 and $1 + 999
              and tags @> '{老人}' order by id""",
        int(WUMA),
    )
    seen, after = [], None
    for _ in range(20):
        data = await gql.data(
            RESIDENTS, {"u": WUMA, "tags": ["老人"], "first": 7, "after": after}, as_=TOWN_OFFICIAL
        )
        page = data["residents"]
        assert page["totalCount"] == len(expected)
        seen += [int(e["node"]["id"]) for e in page["edges"]]
        assert all("老人" in e["node"]["tags"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [r["id"] for r in expected]


async def test_residents_list_costs_a_fixed_number_of_statements(execute, account_id):
    query = """{ residents(unit: "330302006000", first: 50) { totalCount
        edges { node { id name idNumber phone village { code name }
                       household { number address members { id } } } } } }"""
    result, session = await execute(query, await account_id(TOWN_OFFICIAL))
    assert not result.errors
    assert len(result.data["residents"]["edges"]) == 50
    assert all(e["node"]["household"]["members"] for e in result.data["residents"]["edges"])
    # begin_request, the page, the count, contacts, villages, households, their members
    assert session.statements == 7


async def test_statistics_groups_add_up_and_match_a_hand_count(gql, owner_pool):
    # The village's own cadre reads exact figures (callers above it: test_personal_data).
    for by in (["AGE_BAND"], ["GENDER"], ["UNIT"], ["AGE_BAND", "GENDER"]):
        stats = (await gql.data(STATISTICS, {"u": VILLAGE, "by": by}, as_=VILLAGE_CADRE))[
            "residentStatistics"
        ]
        assert sum(g["count"] for g in stats["groups"]) == stats["total"]
    expected = await owner_pool.fetch(
        """select gender, count(*) as n from vg.residents
            where village_code = $1 group by gender""",
        int(VILLAGE),
    )
    stats = (await gql.data(STATISTICS, {"u": VILLAGE, "by": ["GENDER"]}, as_=VILLAGE_CADRE))[
        "residentStatistics"
    ]
    got = {g["gender"]: g["count"] for g in stats["groups"]}
    genders = {"M": "MALE", "F": "FEMALE", None: None}
    assert got == {genders[r["gender"]]: r["n"] for r in expected}


async def test_statistics_by_tag_count_each_tag_and_the_total_once(gql, owner_pool):
    stats = (await gql.data(STATISTICS, {"u": VILLAGE, "by": ["TAG"]}, as_=VILLAGE_CADRE))[
        "residentStatistics"
    ]
    expected = dict(
        await owner_pool.fetch(
            """select t.tag, count(*) from vg.residents r left join lateral unnest(r.tags) t (tag)
                 on true where r.village_code = $1 group by t.tag""",
            int(VILLAGE),
        )
    )
    assert {g["tag"]: g["count"] for g in stats["groups"]} == expected
    assert stats["total"] == await owner_pool.fetchval(
        "select count(*) from vg.residents where village_code = $1", int(VILLAGE)
    )


async def test_age_bands_follow_the_statistics_date(gql, make_village, owner_pool):
    village = await make_village(residents=1)
    await owner_pool.execute(
        "update vg.resident_history set birth_date = '1986-06-15' where resident_id = $1",
        village["residents"][0]["id"],
    )
    bands = {}
    for day in ("2046-06-14", "2046-06-15"):
        stats = (
            await gql.data(
                STATISTICS,
                {"u": village["code"], "on": day, "by": ["AGE_BAND"]},
                as_=village["cadre"],
            )
        )["residentStatistics"]
        bands[day] = [g["ageBand"] for g in stats["groups"]]
    assert bands == {"2046-06-14": ["35-59"], "2046-06-15": ["60-79"]}


async def test_past_statistics_stay_the_same_after_moves_and_tag_changes(
    gql, make_village, owner_pool
):
    source = await make_village(residents=3, tags=[["低保"], ["老人"], []])
    target = await make_village(residents=1)
    cadres = {source["code"]: source["cadre"], target["code"]: target["cadre"]}
    today = (await gql.data(STATISTICS, {"u": source["code"], "by": ["TAG"]}, as_=source["cadre"]))[
        "residentStatistics"
    ]
    mover, tagged = source["residents"][2]["id"], source["residents"][0]["id"]
    async with owner_pool.acquire() as conn, conn.transaction():
        await conn.execute("select set_config('vg.effective_date', '2030-01-01', true)")
        # 户口迁移: a resident with no account moves its household registration.
        await conn.execute("delete from vg.accounts where resident_id = $1", mover)
        await conn.execute(
            "update vg.residents set village_code = $1 where id = $2", int(target["code"]), mover
        )
        await conn.execute("update vg.residents set tags = '{}' where id = $1", tagged)

    async def stats(unit: str, on: str | None) -> dict:
        data = await gql.data(STATISTICS, {"u": unit, "on": on, "by": ["TAG"]}, as_=cadres[unit])
        return data["residentStatistics"]

    before = await stats(source["code"], today["on"])
    assert (before["total"], before["groups"]) == (today["total"], today["groups"])
    after = await stats(source["code"], "2030-01-02")
    assert after["total"] == 2
    assert {g["tag"]: g["count"] for g in after["groups"]} == {"老人": 1, None: 1}
    assert (await stats(target["code"], "2030-01-02"))["total"] == 2
    assert (await stats(target["code"], today["on"]))["total"] == 1


async def test_seeded_history_shows_fewer_low_income_residents_before_march(gql):
    def low_income(stats: dict) -> int:
        return next((g["count"] for g in stats["groups"] if g["tag"] == "低保"), 0)

    now = (await gql.data(STATISTICS, {"u": CITY, "by": ["TAG"]}, as_=ANALYST))[
        "residentStatistics"
    ]
    february = (
        await gql.data(STATISTICS, {"u": CITY, "on": "2026-02-01", "by": ["TAG"]}, as_=ANALYST)
    )["residentStatistics"]
    assert low_income(now) > 0 and low_income(february) == 0


async def test_cadres_and_party_members_as_of_a_date(gql, owner_pool):
    now = (await gql.data(STATISTICS, {"u": VILLAGE}, as_=VILLAGE_CADRE))["residentStatistics"]
    before = (await gql.data(STATISTICS, {"u": VILLAGE, "on": "2020-01-01"}, as_=VILLAGE_CADRE))[
        "residentStatistics"
    ]
    assert {c["position"] for c in now["cadres"]} >= {"书记", "主任"}
    assert [c["position"] for c in before["cadres"]] == ["书记"]
    assert before["cadres"][0]["termEnd"] == "2021-01-15"
    assert now["partyMembers"] == await owner_pool.fetchval(
        "select count(*) from vg.residents where village_code = $1 and '党员' = any (tags)",
        int(VILLAGE),
    )


async def test_statistics_are_null_outside_scope(gql):
    for phone, unit in ((RESIDENT, VILLAGE), (None, CITY), (TOWN_OFFICIAL, CITY)):
        data = await gql.data(STATISTICS, {"u": unit}, as_=phone)
        assert data["residentStatistics"] is None


async def test_village_members_see_their_cadres_but_not_neighbours(gql):
    query = "query($u: ID!) { cadres(unit: $u) { name position } }"
    own = (await gql.data(query, {"u": VILLAGE}, as_=RESIDENT))["cadres"]
    assert {c["position"] for c in own} >= {"书记", "主任"}
    assert (await gql.data(query, {"u": VILLAGE}))["cadres"] == []
    assert (await gql.data(query, {"u": NEIGHBOUR_VILLAGE}, as_=RESIDENT))["cadres"] == []


APPOINT = """
mutation($input: AppointCadreInput!) {
  appointCadre(input: $input) { id name position body termStart termEnd }
}"""


async def test_cadre_appointment_and_term_end_keep_history_with_audit(
    gql, make_village, owner_pool
):
    village = await make_village(residents=1)
    made = (
        await gql.data(
            APPOINT,
            {
                "input": {
                    "village": village["code"],
                    "name": "新委员",
                    "body": "COMMITTEE",
                    "position": "委员",
                    "termStart": "2024-01-01",
                    "resident": str(village["residents"][0]["id"]),
                }
            },
            as_=TOWN_OFFICIAL,
        )
    )["appointCadre"]
    ended = (
        await gql.data(
            'mutation($id: ID!) { endCadreTerm(id: $id, on: "2025-06-30") { termEnd } }',
            {"id": made["id"]},
            as_=village["cadre"],
        )
    )["endCadreTerm"]
    assert ended["termEnd"] == "2025-06-30"
    actions = await owner_pool.fetch(
        "select action from vg.audit_log where entity = 'cadre' and entity_id = $1 order by id",
        made["id"],
    )
    assert [a["action"] for a in actions] == ["cadre.appoint", "cadre.end_term"]
    during = (
        await gql.data(STATISTICS, {"u": village["code"], "on": "2024-06-01"}, as_=CITY_OFFICIAL)
    )["residentStatistics"]
    assert [c["name"] for c in during["cadres"]] == ["新委员"]
    again = await gql.error(
        'mutation($id: ID!) { endCadreTerm(id: $id, on: "2025-07-30") { termEnd } }',
        {"id": made["id"]},
        as_=village["cadre"],
    )
    assert again["extensions"]["code"] == "CONFLICT"


async def test_residents_and_analysts_cannot_appoint_cadres(gql, as_request_role, account_id):
    payload = {
        "input": {
            "village": VILLAGE,
            "name": "冒名",
            "body": "COMMITTEE",
            "position": "主任",
            "termStart": str(date(2024, 1, 1)),
        }
    }
    for phone in (RESIDENT, ANALYST):
        error = await gql.error(APPOINT, payload, as_=phone)
        assert error["extensions"]["code"] == "FORBIDDEN"
    analyst = await account_id(ANALYST)
    await as_request_role.begin_as(analyst)
    with pytest.raises(Exception, match="row-level security"):
        await as_request_role.execute(
            """insert into vg.cadres (village_code, name, body, position, term_start, appointed_by)
               values ($1, 'x', 'COMMITTEE', '主任', '2024-01-01', $2)""",
            int(VILLAGE),
            analyst,
        )


async def test_dashboard_counts_cadres_from_the_position_register(gql, make_village):
    village = await make_village(residents=1)
    dashboard = "query($u: ID!) { dashboard(unit: $u) { cadres } }"

    async def cadres() -> int:
        return (await gql.data(dashboard, {"u": village["code"]}, as_=TOWN_OFFICIAL))["dashboard"][
            "cadres"
        ]

    assert await cadres() == 0  # a login grant alone is not a position
    person = str(village["residents"][0]["id"])
    for body, position in (("PARTY_BRANCH", "书记"), ("COMMITTEE", "主任")):
        await gql.data(
            APPOINT,
            {
                "input": {
                    "village": village["code"],
                    "name": "一肩挑",
                    "body": body,
                    "position": position,
                    "termStart": "2021-01-15",
                    "resident": person,
                }
            },
            as_=TOWN_OFFICIAL,
        )
    assert await cadres() == 1  # 书记 and 主任 held by one person (一肩挑)


async def test_federated_residents_are_masked_and_guarded_like_queries(gql, owner_pool):
    me = await demo_resident(owner_pool)
    query = """query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Resident { id idNumber phone partyMembership { joinedOn branch { code } } } } }"""
    variables = {"r": [{"__typename": "Resident", "id": str(me["id"])}]}
    official = (await gql.data(query, variables, as_=TOWN_OFFICIAL))["_entities"][0]
    assert official["phone"] == "138****0010" and "*" in official["idNumber"]
    assert official["partyMembership"]["branch"]["code"] == VILLAGE  # the demo resident is 党员
    assert (await gql.data(query, variables, as_=ANALYST))["_entities"] == [None]
    cadre = (await gql.data(query, variables, as_=VILLAGE_CADRE))["_entities"][0]
    assert cadre["idNumber"] == me["id_number"]
    assert (await gql.data(query, variables))["_entities"] == [None]


UPDATE_RESIDENT = """
mutation($id: ID!, $input: UpdateResidentInput!) {
  updateResident(id: $id, input: $input) { id tags residenceVillage { code } }
}"""


async def test_cadre_dates_a_tag_change_and_earlier_figures_keep_the_old_tags(
    gql, make_village, owner_pool
):
    village = await make_village(residents=1, tags=[["老人"]])
    resident = village["residents"][0]["id"]
    await owner_pool.execute(
        "update vg.resident_history set valid_from = '2019-01-01' where resident_id = $1", resident
    )
    updated = (
        await gql.data(
            UPDATE_RESIDENT,
            {
                "id": str(resident),
                "input": {
                    "tags": ["老人", "低保"],
                    "effectiveOn": "2026-10-01",
                    "residence": NEIGHBOUR_VILLAGE,
                },
            },
            as_=village["cadre"],
        )
    )["updateResident"]
    assert updated["tags"] == ["低保", "老人"]
    assert updated["residenceVillage"]["code"] == NEIGHBOUR_VILLAGE

    async def tags_on(day: str) -> dict:
        stats = await gql.data(
            STATISTICS, {"u": village["code"], "on": day, "by": ["TAG"]}, as_=village["cadre"]
        )
        return {g["tag"]: g["count"] for g in stats["residentStatistics"]["groups"]}

    assert await tags_on("2026-09-30") == {"老人": 1}
    assert await tags_on("2026-10-01") == {"老人": 1, "低保": 1}
    audit = await owner_pool.fetchval(
        "select detail->>'effective' from vg.audit_log where action = 'resident.update' and entity_id = $1",
        str(resident),
    )
    assert audit == "2026-10-01"
    earlier = await gql.error(
        UPDATE_RESIDENT,
        {"id": str(resident), "input": {"tags": [], "effectiveOn": "2026-09-01"}},
        as_=village["cadre"],
    )
    assert earlier["extensions"]["code"] == "BAD_USER_INPUT"


async def test_only_staff_of_the_household_village_update_residents(
    gql, make_village, as_request_role, account_id
):
    village = await make_village(residents=1)
    resident = str(village["residents"][0]["id"])
    for phone, code in (
        (ANALYST, "NOT_FOUND"),  # analysts read no resident row at all
        (village["residents"][0]["phone"], "FORBIDDEN"),
        (VILLAGE_CADRE, "NOT_FOUND"),
    ):
        error = await gql.error(
            UPDATE_RESIDENT, {"id": resident, "input": {"tags": ["低保"]}}, as_=phone
        )
        assert error["extensions"]["code"] == code, phone
    await as_request_role.begin_as(await account_id(village["residents"][0]["phone"]))
    assert (
        await as_request_role.execute(
            "update vg.residents set tags = '{低保}' where id = $1", int(resident)
        )
        == "UPDATE 0"
    )
    with pytest.raises(Exception, match="permission denied"):
        await as_request_role.execute(
            "update vg.residents set id_number = 'x' where id = $1", int(resident)
        )


async def test_statistics_cost_a_fixed_number_of_statements(execute, account_id):
    query = """{ residentStatistics(unit: "330300000000", by: [UNIT, AGE_BAND, TAG]) {
        total partyMembers groups { unit { code name } ageBand tag count }
        cadres { name village { code } } } }"""
    result, session = await execute(query, await account_id(CITY_OFFICIAL))
    assert not result.errors and result.data["residentStatistics"]["groups"]
    # begin_request, the unit, the grouped counts, party members, cadres, the groups'
    # units, then the cadres' villages (known only once the cadres are)
    assert session.statements == 7
