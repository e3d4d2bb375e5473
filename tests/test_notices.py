"""Notices through the GraphQL API: push-down by tier, members-only, target tags, feeds."""

from __future__ import annotations

import uuid

from tests.demo import (
    ANALYST,
    CITY,
    CITY_OFFICIAL,
    COUNTY_OFFICIAL,
    FAR_RESIDENT,
    LUCHENG,
    NEIGHBOUR,
    NEIGHBOUR_VILLAGE,
    RESIDENT,
    TOWN_OFFICIAL,
    VILLAGE,
    VILLAGE_CADRE,
    WUMA,
)

PUBLISH = """
mutation($input: PublishNoticeInput!) {
  publishNotice(input: $input) { id title audience targetTags publisher { code level } }
}"""
FEED = """
query($first: Int, $after: String, $board: Board) {
  feed(first: $first, after: $after, board: $board) {
    totalCount
    edges { cursor node { id title publisher { code } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def publish(gql, as_, unit, audience="PUBLIC", tags=None, board="NOTICE"):
    title = f"测试通知 {uuid.uuid4().hex[:8]}"
    data = await gql.data(
        PUBLISH,
        {
            "input": {
                "unit": unit,
                "board": board,
                "title": title,
                "body": "正文",
                "audience": audience,
                "targetTags": tags,
            }
        },
        as_=as_,
    )
    return data["publishNotice"]


async def feed_ids(gql, phone) -> set[str]:
    ids: set[str] = set()
    after = None
    while True:
        page = (await gql.data(FEED, {"first": 100, "after": after}, as_=phone))["feed"]
        ids |= {edge["node"]["id"] for edge in page["edges"]}
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]


async def test_city_notice_reaches_every_resident_below_the_city(gql):
    notice = await publish(gql, CITY_OFFICIAL, CITY)
    assert notice["publisher"] == {"code": CITY, "level": "CITY"}
    for phone in (RESIDENT, NEIGHBOUR, FAR_RESIDENT):
        assert notice["id"] in await feed_ids(gql, phone)


async def test_town_notice_reaches_its_villages_and_nobody_in_another_county(gql):
    notice = await publish(gql, TOWN_OFFICIAL, WUMA)
    assert notice["id"] in await feed_ids(gql, RESIDENT)
    assert notice["id"] in await feed_ids(gql, NEIGHBOUR)
    assert notice["id"] not in await feed_ids(gql, FAR_RESIDENT)


async def test_village_notice_stays_in_its_village(gql):
    notice = await publish(gql, VILLAGE_CADRE, VILLAGE)
    assert notice["id"] in await feed_ids(gql, RESIDENT)
    assert notice["id"] not in await feed_ids(gql, NEIGHBOUR)
    assert notice["id"] not in await feed_ids(gql, FAR_RESIDENT)


async def test_officials_above_see_a_village_notice_in_drill_down(gql):
    notice = await publish(gql, VILLAGE_CADRE, VILLAGE)
    query = "query($u: ID!) { notices(unit: $u, first: 100) { edges { node { id } } } }"
    for phone, unit in (
        (TOWN_OFFICIAL, WUMA),
        (COUNTY_OFFICIAL, LUCHENG),
        (CITY_OFFICIAL, CITY),
        (ANALYST, CITY),
    ):
        edges = (await gql.data(query, {"u": unit}, as_=phone))["notices"]["edges"]
        assert notice["id"] in {e["node"]["id"] for e in edges}, phone


async def test_members_only_notice_is_hidden_from_the_neighbour_village(gql):
    town_members = await publish(gql, TOWN_OFFICIAL, WUMA, audience="MEMBERS")
    village_members = await publish(gql, VILLAGE_CADRE, VILLAGE, audience="MEMBERS")
    resident_feed = await feed_ids(gql, RESIDENT)
    neighbour_feed = await feed_ids(gql, NEIGHBOUR)
    assert {town_members["id"], village_members["id"]} <= resident_feed
    assert town_members["id"] in neighbour_feed  # members of a village under the town
    assert village_members["id"] not in neighbour_feed
    query = "query($id: ID!) { notice(id: $id) { id } }"
    assert (await gql.data(query, {"id": village_members["id"]}, as_=NEIGHBOUR))["notice"] is None
    assert (await gql.data(query, {"id": village_members["id"]}))["notice"] is None


async def test_target_tags_reach_only_residents_with_an_overlapping_tag(gql, make_village):
    village = await make_village(residents=3, tags=[["低保"], ["老人"], []])
    poor, elder, plain = (r["phone"] for r in village["residents"])
    notice = await publish(gql, village["cadre"], village["code"], tags=["低保", "残疾"])
    assert notice["targetTags"] == ["低保", "残疾"]
    assert notice["id"] in await feed_ids(gql, poor)
    assert notice["id"] not in await feed_ids(gql, elder)
    assert notice["id"] not in await feed_ids(gql, plain)
    assert notice["id"] not in await feed_ids(gql, RESIDENT)
    # Staff still see it for supervision.
    query = "query($id: ID!) { notice(id: $id) { id } }"
    assert (await gql.data(query, {"id": notice["id"]}, as_=TOWN_OFFICIAL))["notice"]


async def test_anonymous_callers_see_untargeted_public_notices_of_a_unit_only(gql):
    public = await publish(gql, VILLAGE_CADRE, VILLAGE)
    members = await publish(gql, VILLAGE_CADRE, VILLAGE, audience="MEMBERS")
    targeted = await publish(gql, VILLAGE_CADRE, VILLAGE, tags=["低保"])
    query = "query($u: ID!) { notices(unit: $u, first: 100) { edges { node { id audience } } } }"
    edges = (await gql.data(query, {"u": VILLAGE}))["notices"]["edges"]
    ids = {e["node"]["id"] for e in edges}
    assert public["id"] in ids
    assert members["id"] not in ids and targeted["id"] not in ids
    assert all(e["node"]["audience"] == "PUBLIC" for e in edges)


async def test_anonymous_feed_asks_to_log_in(gql):
    error = await gql.error(FEED)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_publishing_outside_ones_subtree_is_forbidden_and_changes_nothing(gql, owner_pool):
    before = await owner_pool.fetchval("select count(*) from vg.notices")
    audit_before = await owner_pool.fetchval("select count(*) from vg.audit_log")
    for phone, unit in (
        (VILLAGE_CADRE, NEIGHBOUR_VILLAGE),
        (TOWN_OFFICIAL, LUCHENG),
        (ANALYST, VILLAGE),
        (RESIDENT, VILLAGE),
    ):
        error = await gql.error(
            PUBLISH,
            {
                "input": {
                    "unit": unit,
                    "board": "NOTICE",
                    "title": "t",
                    "body": "b",
                    "audience": "PUBLIC",
                }
            },
            as_=phone,
        )
        assert error["extensions"]["code"] == "FORBIDDEN", (phone, error)
    error = await gql.error(
        PUBLISH,
        {
            "input": {
                "unit": VILLAGE,
                "board": "NOTICE",
                "title": "t",
                "body": "b",
                "audience": "PUBLIC",
            }
        },
    )
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert await owner_pool.fetchval("select count(*) from vg.notices") == before
    assert await owner_pool.fetchval("select count(*) from vg.audit_log") == audit_before


async def test_publishing_writes_an_audit_row_in_the_same_transaction(gql, owner_pool, account_id):
    notice = await publish(gql, TOWN_OFFICIAL, WUMA)
    row = await owner_pool.fetchrow(
        "select * from vg.audit_log where entity = 'notice' and entity_id = $1 and action = 'notice.publish'",
        notice["id"],
    )
    assert row["account_id"] == await account_id(TOWN_OFFICIAL)
    assert row["tenant_code"] == int(WUMA)


async def test_mark_notice_read_is_idempotent_and_counts_reach(gql, owner_pool, make_village):
    village = await make_village(residents=2)
    reader = village["residents"][0]["phone"]
    notice = await publish(gql, village["cadre"], village["code"])
    mutation = "mutation($id: ID!) { markNoticeRead(id: $id) { id read } }"
    for _ in range(3):
        data = await gql.data(mutation, {"id": notice["id"]}, as_=reader)
        assert data["markNoticeRead"] == {"id": notice["id"], "read": True}
    receipts = await owner_pool.fetchval(
        "select count(*) from vg.notice_reads where notice_id = $1", int(notice["id"])
    )
    audits = await owner_pool.fetchval(
        "select count(*) from vg.audit_log where action = 'notice.read' and entity_id = $1",
        notice["id"],
    )
    assert (receipts, audits) == (1, 1)
    count = "query($id: ID!) { notice(id: $id) { readCount read } }"
    staff_view = (await gql.data(count, {"id": notice["id"]}, as_=village["cadre"]))["notice"]
    assert staff_view == {"readCount": 1, "read": False}


async def test_marking_an_invisible_notice_read_is_not_found(gql):
    hidden = await publish(gql, VILLAGE_CADRE, VILLAGE, audience="MEMBERS")
    error = await gql.error(
        "mutation($id: ID!) { markNoticeRead(id: $id) { id } }", {"id": hidden["id"]}, as_=NEIGHBOUR
    )
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_feed_pages_are_newest_first_without_gaps_or_repeats(gql, make_village):
    village = await make_village(residents=1)
    reader = village["residents"][0]["phone"]
    published = [await publish(gql, village["cadre"], village["code"]) for _ in range(5)]
    seen: list[str] = []
    after = None
    while True:
        page = (await gql.data(FEED, {"first": 2, "after": after}, as_=reader))["feed"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"]
    own = [i for i in seen if i in {p["id"] for p in published}]
    assert own == [p["id"] for p in reversed(published)]


async def test_feed_filters_by_board(gql):
    data = await gql.data(FEED, {"first": 100, "board": "FINANCE"}, as_=RESIDENT)
    titles = [e["node"]["title"] for e in data["feed"]["edges"]]
    assert titles and all("财务公开" in t or "测试" in t for t in titles)


async def test_officials_feed_holds_what_is_pushed_down_to_them(gql):
    city_notice = await publish(gql, CITY_OFFICIAL, CITY)
    assert city_notice["id"] in await feed_ids(gql, TOWN_OFFICIAL)
