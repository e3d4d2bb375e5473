"""Shelters (避灾安置场所): public nearest-first search checked against a hand haversine,
maintenance rights, and the emergency opening with its notice."""

from __future__ import annotations

import math
import time

import pytest

from tests.demo import ANALYST, CITY, RESIDENT, TOWN_OFFICIAL, VILLAGE_CADRE, WUMA

EARTH_RADIUS = 6371008.8  # metres, the IUGG mean radius the database uses too
SHELTERS = """
query($near: GeoPointInput, $under: ID, $first: Int) {
  shelters(near: $near, under: $under, first: $first) {
    id name lat lng status capacity distanceMeters navigationUrl unit { code }
  }
}"""
CREATE = """
mutation($input: CreateShelterInput!) {
  createShelter(input: $input) { id name status lat lng unit { code } }
}"""
EMERGENCY = """
mutation($u: ID!, $m: String) {
  openSheltersForEmergency(unit: $u, message: $m) {
    opened shelters { id status } notice { id title body audience publisher { code } }
  }
}"""


def haversine(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS * math.asin(math.sqrt(a))


async def create(gql, phone, unit, name, lat, lng, status="STANDBY"):
    data = await gql.data(
        CREATE,
        {
            "input": {
                "unit": unit,
                "name": name,
                "address": f"{name}地址",
                "location": {"lat": lat, "lng": lng},
                "capacity": 100,
                "facilities": ["饮用水", "床铺"],
                "status": status,
            }
        },
        as_=phone,
    )
    return data["createShelter"]


async def test_anonymous_callers_get_seeded_shelters_nearest_first(gql):
    here = {"lat": 28.0, "lng": 120.7}
    shelters = (await gql.data(SHELTERS, {"near": here, "first": 100}))["shelters"]
    assert len(shelters) >= 10
    assert all(s["status"] != "CLOSED" for s in shelters)
    distances = [s["distanceMeters"] for s in shelters]
    assert distances == sorted(distances)
    for s in shelters:
        assert s["distanceMeters"] == pytest.approx(
            haversine(28.0, 120.7, s["lat"], s["lng"]), abs=0.01
        )
        assert s["navigationUrl"].startswith(f"geo:{s['lat']:.6f},{s['lng']:.6f}?q=")


async def test_nearest_first_matches_a_hand_computation(gql, make_village):
    village = await make_village(residents=1)
    # At 28° N a degree of longitude is 0.88 of a degree of latitude, so ranking by
    # degrees (西南 0.025°, 北 0.028°, 东 0.030°) differs from ranking by metres.
    points = {"东": (28.0000, 120.7300), "北": (28.0280, 120.7000), "西南": (27.9850, 120.6800)}
    for name, (lat, lng) in points.items():
        await create(gql, village["cadre"], village["code"], name, lat, lng)
    origin = (28.0, 120.7)
    found = (
        await gql.data(
            SHELTERS,
            {"near": {"lat": origin[0], "lng": origin[1]}, "under": village["code"]},
        )
    )["shelters"]
    expected = sorted(points, key=lambda n: haversine(*origin, *points[n]))
    assert expected == ["西南", "东", "北"]
    assert [s["name"] for s in found] == expected
    assert [s["distanceMeters"] for s in found] == pytest.approx(
        [haversine(*origin, *points[n]) for n in expected], abs=0.01
    )


async def test_first_limits_and_under_filters(gql):
    near = {"lat": 28.0165, "lng": 120.6555}
    one = (await gql.data(SHELTERS, {"near": near, "first": 1}))["shelters"]
    assert len(one) == 1
    town = (await gql.data(SHELTERS, {"near": near, "under": WUMA, "first": 100}))["shelters"]
    assert town and all(s["unit"]["code"].startswith(WUMA[:9]) for s in town)
    plain = (await gql.data(SHELTERS, {"under": WUMA}))["shelters"]
    assert {s["id"] for s in plain} == {s["id"] for s in town}
    assert all(s["distanceMeters"] is None for s in plain)


async def test_closed_shelters_are_for_staff_only(gql, owner_pool):
    closed = await owner_pool.fetchval("select id from vg.shelters where status = 'CLOSED' limit 1")
    anonymous = {s["id"] for s in (await gql.data(SHELTERS, {"first": 100}))["shelters"]}
    staff = {
        s["id"]
        for s in (await gql.data(SHELTERS, {"first": 100, "under": CITY}, as_=ANALYST))["shelters"]
    }
    assert str(closed) not in anonymous and str(closed) in staff


async def test_the_nearest_query_is_served_by_the_gist_index(owner_pool):
    """Tens of thousands of shelters: the plan is a KNN index scan, and it is quick."""
    async with owner_pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(
                """insert into vg.shelters (unit_code, name, address, lat, lng, capacity)
                   select 330302006000, '压测' || g, '地址', 27.0 + (g % 200) * 0.01,
                          120.0 + (g / 200) * 0.01, 50
                     from generate_series(1, 30000) g"""
            )
            await conn.execute("analyze vg.shelters")
            query = """select id from vg.shelters
                        order by position <-> vg.earth_point(28.0, 120.7), id limit 20"""
            plan = "\n".join(r[0] for r in await conn.fetch("explain " + query))
            started = time.perf_counter()
            rows = await conn.fetch(query)
            elapsed = time.perf_counter() - started
        finally:
            await transaction.rollback()
    assert len(rows) == 20
    assert "Index Scan using shelters_position" in plan
    assert "Order By" in plan
    assert elapsed < 0.5


async def test_cadres_maintain_their_villages_shelters_with_audit(gql, make_village, owner_pool):
    village = await make_village(residents=1)
    made = await create(gql, village["cadre"], village["code"], "礼堂", 28.01, 120.66)
    updated = (
        await gql.data(
            """mutation($id: ID!) { updateShelter(id: $id, input: {status: CLOSED, capacity: 80})
                 { status capacity name } }""",
            {"id": made["id"]},
            as_=village["cadre"],
        )
    )["updateShelter"]
    assert updated == {"status": "CLOSED", "capacity": 80, "name": "礼堂"}
    actions = await owner_pool.fetch(
        "select action from vg.audit_log where entity = 'shelter' and entity_id = $1 order by id",
        made["id"],
    )
    assert [a["action"] for a in actions] == ["shelter.create", "shelter.update"]


async def test_residents_analysts_and_other_villages_cannot_maintain(gql, make_village):
    village = await make_village(residents=1)
    made = await create(gql, village["cadre"], village["code"], "祠堂", 28.02, 120.67)
    for phone, code in (
        (RESIDENT, "FORBIDDEN"),
        (ANALYST, "FORBIDDEN"),
        (VILLAGE_CADRE, "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ):
        error = await gql.error(
            "mutation($id: ID!) { updateShelter(id: $id, input: {status: OPEN}) { id } }",
            {"id": made["id"]},
            as_=phone,
        )
        assert error["extensions"]["code"] == code
    bad = await gql.error(
        CREATE,
        {
            "input": {
                "unit": village["code"],
                "name": "x",
                "address": "y",
                "location": {"lat": 95, "lng": 120},
                "capacity": 1,
            }
        },
        as_=village["cadre"],
    )
    assert bad["extensions"]["code"] == "BAD_USER_INPUT"


async def test_request_role_cannot_write_shelters_outside_its_scope(as_request_role, account_id):
    cadre = await account_id(VILLAGE_CADRE)
    await as_request_role.begin_as(cadre)
    with pytest.raises(Exception, match="row-level security"):
        async with as_request_role.transaction():
            await as_request_role.execute(
                """insert into vg.shelters (unit_code, name, address, lat, lng, capacity, updated_by)
                   values ($1, 'x', 'y', 28, 120.7, 1, $2)""",
                int(WUMA),
                cadre,
            )
    changed = await as_request_role.execute(
        "update vg.shelters set status = 'CLOSED', updated_by = $2 where unit_code = $1",
        int(WUMA),
        cadre,
    )
    assert changed == "UPDATE 0"
    await as_request_role.begin_as(None)
    assert (
        await as_request_role.fetchval("select count(*) from vg.shelters where status = 'CLOSED'")
        == 0
    )


async def test_emergency_opens_every_shelter_below_and_notifies_residents(
    gql, make_village, owner_pool
):
    village = await make_village(residents=2)
    for name, status in (("一号", "STANDBY"), ("二号", "CLOSED"), ("三号", "OPEN")):
        await create(gql, village["cadre"], village["code"], name, 28.0, 120.65, status)
    result = (
        await gql.data(
            EMERGENCY, {"u": village["code"], "m": "台风将至，请立即转移。"}, as_=TOWN_OFFICIAL
        )
    )["openSheltersForEmergency"]
    assert result["opened"] == 2
    assert {s["status"] for s in result["shelters"]} == {"OPEN"} and len(result["shelters"]) == 3
    notice = result["notice"]
    assert notice["publisher"]["code"] == village["code"] and notice["audience"] == "PUBLIC"
    assert all(name in notice["body"] for name in ("一号", "二号", "三号"))
    assert "geo:" in notice["body"]
    feed = await gql.data(
        "{ feed(first: 5) { edges { node { id } } } }", as_=village["residents"][1]["phone"]
    )
    assert notice["id"] in [e["node"]["id"] for e in feed["feed"]["edges"]]
    audit = await owner_pool.fetch(
        """select action, count(*) from vg.audit_log
            where tenant_code = $1 and action in ('shelter.emergency_open', 'notice.publish')
            group by action order by action""",
        int(village["code"]),
    )
    assert [tuple(r) for r in audit] == [("notice.publish", 1), ("shelter.emergency_open", 2)]
    # One broadcast, urgent, naming the notice; the worker fans it out (tests/test_delivery.py).
    broadcast = await owner_pool.fetchrow(
        "select kind, urgent, notice_id from vg.broadcasts where tenant_code = $1",
        int(village["code"]),
    )
    assert tuple(broadcast) == ("shelters.emergency", True, int(notice["id"]))


async def test_only_staff_above_may_open_shelters(gql, make_village):
    village = await make_village(residents=1)
    await create(gql, village["cadre"], village["code"], "四号", 28.0, 120.65)
    for phone, code in (
        (ANALYST, "FORBIDDEN"),
        (village["residents"][0]["phone"], "FORBIDDEN"),
        (VILLAGE_CADRE, "FORBIDDEN"),
    ):
        error = await gql.error(EMERGENCY, {"u": village["code"]}, as_=phone)
        assert error["extensions"]["code"] == code
    empty = await make_village(residents=1)
    error = await gql.error(EMERGENCY, {"u": empty["code"]}, as_=TOWN_OFFICIAL)
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_nearest_shelters_cost_a_fixed_number_of_statements(execute):
    query = """{ shelters(near: {lat: 28.0, lng: 120.7}, first: 50) {
        id distanceMeters navigationUrl unit { code name } } }"""
    result, session = await execute(query, None)
    assert not result.errors and len(result.data["shelters"]) >= 10
    # begin_request, the KNN query, the units
    assert session.statements == 3
