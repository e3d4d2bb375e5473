"""Apollo Federation 2: the subgraph SDL and `_entities`, which obeys RLS like any query."""

from __future__ import annotations

from tests.demo import NEIGHBOUR, RESIDENT, TOWN_OFFICIAL, VILLAGE, VILLAGE_CADRE

ENTITIES = """
query($r: [_Any!]!) {
  _entities(representations: $r) {
    ... on OrgUnit { code name level }
    ... on Notice { id title }
    ... on Resident { id name village { code } }
  }
}"""


async def test_service_sdl_declares_the_keys(gql):
    sdl = (await gql.data("{ _service { sdl } }"))["_service"]["sdl"]
    assert '@link(url: "https://specs.apollo.dev/federation/v2' in sdl
    for key in (
        'type OrgUnit @key(fields: "code")',
        'type Notice @key(fields: "id")',
        'type Resident @key(fields: "id")',
    ):
        assert key in sdl


async def test_entities_resolve_org_units_for_anyone(gql):
    data = await gql.data(ENTITIES, {"r": [{"__typename": "OrgUnit", "code": VILLAGE}]})
    assert data["_entities"][0]["code"] == VILLAGE


async def test_entities_obey_rls_for_notices_and_residents(gql, owner_pool):
    members_notice = await owner_pool.fetchval(
        "select id::text from vg.notices where publisher_code = $1 and audience = 'MEMBERS' limit 1",
        int(VILLAGE),
    )
    resident = await owner_pool.fetchval(
        "select id::text from vg.residents where village_code = $1 limit 1", int(VILLAGE)
    )
    representations = [
        {"__typename": "Notice", "id": members_notice},
        {"__typename": "Resident", "id": resident},
    ]
    as_neighbour = (await gql.data(ENTITIES, {"r": representations}, as_=NEIGHBOUR))["_entities"]
    assert as_neighbour == [None, None]
    anonymous = (await gql.data(ENTITIES, {"r": representations}))["_entities"]
    assert anonymous == [None, None]
    as_member = (await gql.data(ENTITIES, {"r": representations[:1]}, as_=RESIDENT))["_entities"]
    assert as_member[0]["id"] == members_notice
    for staff in (VILLAGE_CADRE, TOWN_OFFICIAL):
        seen = (await gql.data(ENTITIES, {"r": representations}, as_=staff))["_entities"]
        assert seen[0]["id"] == members_notice and seen[1]["village"]["code"] == VILLAGE
