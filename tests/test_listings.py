"""Listings (名特优 / 农家乐): apply, review, public visibility, search, and RLS by hand."""

from __future__ import annotations

import uuid

import pytest

from tests.demo import (
    ANALYST,
    CITY,
    NEIGHBOUR,
    RESIDENT,
    RUIAN,
    TOWN_OFFICIAL,
    VILLAGE,
    VILLAGE_CADRE,
    WUMA,
)

LISTINGS = """
query($kind: ListingKind, $under: ID, $search: String, $status: ListingStatus,
      $first: Int, $after: String) {
  listings(kind: $kind, under: $under, search: $search, status: $status,
           first: $first, after: $after) {
    totalCount
    edges { node { id kind name status price rooms capacity photos reviewReason
                   village { code } tierPath { code level } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
APPLY = """
mutation($input: ApplyListingInput!) {
  applyListing(input: $input) { id kind name status price rooms capacity photos village { code } }
}"""
REVIEW = """
mutation($id: ID!, $approve: Boolean!, $reason: String) {
  reviewListing(id: $id, approve: $approve, reason: $reason) { id status reviewReason reviewedAt }
}"""


def farm_stay(**overrides):
    name = f"测试农家乐{uuid.uuid4().hex[:6]}"
    return {
        "kind": "FARM_STAY",
        "name": name,
        "description": "溪边木屋，农家土菜。",
        "price": "288.50",
        "contact": "0577-88886666",
        "photos": ["https://img.example.cn/a.jpg"],
        "rooms": 5,
        "capacity": 12,
        **overrides,
    }


async def visible_ids(gql, phone, **variables):
    data = await gql.data(LISTINGS, {"first": 100, **variables}, as_=phone)
    return {e["node"]["id"] for e in data["listings"]["edges"]}


async def apply(gql, phone, **overrides):
    return (await gql.data(APPLY, {"input": farm_stay(**overrides)}, as_=phone))["applyListing"]


async def test_anonymous_callers_see_approved_listings_with_village_and_tier_path(gql, owner_pool):
    data = await gql.data(LISTINGS, {"first": 100})
    nodes = [e["node"] for e in data["listings"]["edges"]]
    assert nodes and all(n["status"] == "APPROVED" for n in nodes)
    approved = await owner_pool.fetchval(
        "select count(*) from vg.listings where status = 'APPROVED'"
    )
    assert data["listings"]["totalCount"] == approved
    path = nodes[0]["tierPath"]
    assert [u["level"] for u in path] == ["CITY", "COUNTY", "TOWN", "VILLAGE"]
    assert path[-1]["code"] == nodes[0]["village"]["code"]


async def test_application_is_pending_and_seen_only_by_applicant_and_village_cadres(
    gql, make_village, owner_pool
):
    village = await make_village(residents=2)
    applicant, other = village["residents"][0]["phone"], village["residents"][1]["phone"]
    made = await apply(gql, applicant)
    assert (made["status"], made["village"]["code"], made["rooms"]) == (
        "PENDING",
        village["code"],
        5,
    )
    assert made["price"] == "288.50"
    for phone in (applicant, village["cadre"]):
        assert made["id"] in await visible_ids(gql, phone)
    for phone in (None, other, TOWN_OFFICIAL, ANALYST, VILLAGE_CADRE):
        assert made["id"] not in await visible_ids(gql, phone)
    audit = await owner_pool.fetchval(
        "select action from vg.audit_log where entity = 'listing' and entity_id = $1", made["id"]
    )
    assert audit == "listing.apply"


async def test_rejection_needs_a_reason_and_reaches_the_applicant(gql, make_village, owner_pool):
    village = await make_village(residents=1)
    applicant = village["residents"][0]["phone"]
    made = await apply(gql, applicant)
    missing = await gql.error(REVIEW, {"id": made["id"], "approve": False}, as_=village["cadre"])
    assert missing["extensions"]["code"] == "BAD_USER_INPUT"
    rejected = (
        await gql.data(
            REVIEW,
            {"id": made["id"], "approve": False, "reason": "缺少卫生许可证"},
            as_=village["cadre"],
        )
    )["reviewListing"]
    assert (rejected["status"], rejected["reviewReason"]) == ("REJECTED", "缺少卫生许可证")
    mine = await gql.data(LISTINGS, {"status": "REJECTED", "first": 100}, as_=applicant)
    assert [e["node"]["reviewReason"] for e in mine["listings"]["edges"]] == ["缺少卫生许可证"]
    assert made["id"] not in await visible_ids(gql, None)
    again = await gql.error(REVIEW, {"id": made["id"], "approve": True}, as_=village["cadre"])
    assert again["extensions"]["code"] == "CONFLICT"
    outbox = await owner_pool.fetchrow(
        "select kind, payload->>'status' as status from vg.outbox where idempotency_key = $1",
        f"listing.reviewed:{made['id']}",
    )
    assert tuple(outbox) == ("listing.reviewed", "REJECTED")


async def test_approved_listing_becomes_public(gql, make_village, owner_pool):
    village = await make_village(residents=1)
    made = await apply(gql, village["residents"][0]["phone"])
    approved = (await gql.data(REVIEW, {"id": made["id"], "approve": True}, as_=village["cadre"]))[
        "reviewListing"
    ]
    assert approved["status"] == "APPROVED" and approved["reviewedAt"]
    for phone in (None, NEIGHBOUR, ANALYST):
        assert made["id"] in await visible_ids(gql, phone, under=village["code"])
    actions = await owner_pool.fetch(
        "select action from vg.audit_log where entity = 'listing' and entity_id = $1 order by id",
        made["id"],
    )
    assert [a["action"] for a in actions] == ["listing.apply", "listing.review"]


async def test_only_cadres_of_the_village_review(gql, make_village):
    village = await make_village(residents=1)
    elsewhere = await make_village(residents=1)
    made = await apply(gql, village["residents"][0]["phone"])
    for phone, code in (
        (elsewhere["cadre"], "NOT_FOUND"),
        (TOWN_OFFICIAL, "NOT_FOUND"),
        (village["residents"][0]["phone"], "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ):
        error = await gql.error(REVIEW, {"id": made["id"], "approve": True}, as_=phone)
        assert error["extensions"]["code"] == code, phone
    # An approved listing is visible to the other cadre, who still may not review it.
    await gql.data(REVIEW, {"id": made["id"], "approve": True}, as_=village["cadre"])
    error = await gql.error(
        REVIEW, {"id": made["id"], "approve": False, "reason": "x"}, as_=elsewhere["cadre"]
    )
    assert error["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("overrides", "argument"),
    [
        ({"kind": "SPECIALTY_PRODUCT"}, "rooms"),
        ({"capacity": None}, "capacity"),
        ({"rooms": 0}, "rooms"),
        ({"photos": ["javascript:alert(1)"]}, "photos"),
        ({"price": "-1"}, "price"),
        ({"price": "1.234"}, "price"),
        ({"name": "  "}, "name"),
    ],
)
async def test_invalid_applications_are_refused_and_change_nothing(
    gql, make_village, owner_pool, overrides, argument
):
    village = await make_village(residents=1)
    error = await gql.error(
        APPLY, {"input": farm_stay(**overrides)}, as_=village["residents"][0]["phone"]
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == argument
    assert (
        await owner_pool.fetchval(
            "select count(*) from vg.listings where village_code = $1", int(village["code"])
        )
        == 0
    )


async def test_products_need_no_rooms_and_officials_cannot_apply(gql, make_village):
    village = await make_village(residents=1)
    product = await apply(
        gql,
        village["residents"][0]["phone"],
        kind="SPECIALTY_PRODUCT",
        rooms=None,
        capacity=None,
        price=None,
    )
    assert (product["kind"], product["rooms"], product["price"]) == (
        "SPECIALTY_PRODUCT",
        None,
        None,
    )
    error = await gql.error(APPLY, {"input": farm_stay()}, as_=TOWN_OFFICIAL)
    assert error["extensions"]["code"] == "FORBIDDEN"


async def test_search_by_keyword_kind_and_subtree(gql):
    found = await gql.data(LISTINGS, {"search": "杨梅", "first": 100})
    names = [e["node"]["name"] for e in found["listings"]["edges"]]
    assert names and all("杨梅" in n for n in names)
    stays = await gql.data(LISTINGS, {"kind": "FARM_STAY", "first": 100})
    assert {e["node"]["kind"] for e in stays["listings"]["edges"]} == {"FARM_STAY"}
    ruian = await gql.data(LISTINGS, {"under": RUIAN, "first": 100})
    codes = {e["node"]["village"]["code"] for e in ruian["listings"]["edges"]}
    assert codes and all(c.startswith("330381") for c in codes)
    wildcard = await gql.data(LISTINGS, {"search": "%", "first": 100})
    assert wildcard["listings"]["totalCount"] == 0
    blank = await gql.data(LISTINGS, {"search": "  ", "first": 1})
    every = await gql.data(LISTINGS, {"first": 1})
    assert blank["listings"]["totalCount"] == every["listings"]["totalCount"] > 0


async def test_keyword_search_can_use_the_trigram_index(owner_pool):
    async with owner_pool.acquire() as conn, conn.transaction():
        await conn.execute("set local enable_seqscan = off")
        plan = await conn.fetch(
            """explain (format text) select id from vg.listings
                where (name || ' ' || description) ilike '%Wenzhou%'"""
        )
    assert "listings_text_trgm" in "\n".join(row[0] for row in plan)


async def test_listings_page_through_without_repeats(gql):
    seen, after = [], None
    for _ in range(20):
        page = (await gql.data(LISTINGS, {"first": 5, "after": after}))["listings"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"]


async def test_listings_page_costs_a_fixed_number_of_statements(execute):
    query = """{ listings(first: 50) { totalCount
        edges { node { id name village { code name } tierPath { code name } } } } }"""
    result, session = await execute(query, None)
    assert not result.errors and len(result.data["listings"]["edges"]) >= 20
    # begin_request, the page, the count, the units (villages and their tier paths)
    assert session.statements == 4


async def test_request_role_cannot_forge_or_self_approve_listings(
    as_request_role, account_id, owner_pool
):
    me = await owner_pool.fetchrow(
        "select id, village_code from vg.residents where phone = $1", RESIDENT
    )
    account = await account_id(RESIDENT)
    await as_request_role.begin_as(account)
    insert = """insert into vg.listings (village_code, kind, name, description, contact,
                    applicant_id, applied_by, status)
                values ($1, 'SPECIALTY_PRODUCT', 'x', 'y', 'z', $2, $3, $4)"""
    for village, status in ((me["village_code"], "APPROVED"), (int(VILLAGE) + 1, "PENDING")):
        with pytest.raises(Exception, match="row-level security|violates foreign key"):
            async with as_request_role.transaction():
                await as_request_role.execute(insert, village, me["id"], account, status)
    # Its own pending listing: updating the status touches no row (not a cadre).
    pending = await owner_pool.fetchval(
        "select id from vg.listings where applicant_id = $1 and status = 'PENDING' limit 1",
        me["id"],
    )
    result = await as_request_role.execute(
        "update vg.listings set status = 'APPROVED', reviewed_by = $2 where id = $1",
        pending,
        account,
    )
    assert result == "UPDATE 0"


async def test_database_shows_anonymous_callers_only_approved_listings(as_request_role):
    await as_request_role.begin_as(None)
    statuses = await as_request_role.fetch("select distinct status from vg.listings")
    assert [r["status"] for r in statuses] == ["APPROVED"]


async def test_village_cadre_sees_its_villages_pending_listings_in_the_database(
    as_request_role, account_id
):
    await as_request_role.begin_as(await account_id(VILLAGE_CADRE))
    rows = await as_request_role.fetch(
        "select distinct village_code from vg.listings where status <> 'APPROVED'"
    )
    assert [r["village_code"] for r in rows] == [int(VILLAGE)]
    await as_request_role.begin_as(await account_id(TOWN_OFFICIAL))
    assert (
        await as_request_role.fetchval(
            "select count(*) from vg.listings where status <> 'APPROVED' and village_code between $1 and $2",
            int(WUMA),
            int(CITY) + 99999999,
        )
        == 0
    )
