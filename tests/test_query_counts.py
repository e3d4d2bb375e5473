"""SQL statement counts are pinned so an N+1 fails the suite (Saleor's benchmark habit).

The first statement of every request is vg.begin_request (sets the RLS context).
"""

from __future__ import annotations

from tests.conftest import CITY, CITY_OFFICIAL, RESIDENT, WUMA

FEED = """{
  feed(first: 50) {
    edges { node { id title read readCount publisher { code name parent { code } } } }
  }
}"""


async def test_feed_page_costs_a_fixed_number_of_statements(execute, account_id):
    result, session = await execute(FEED, await account_id(RESIDENT))
    assert not result.errors
    assert len(result.data["feed"]["edges"]) >= 20
    # begin_request, the page, receipts (read), counts (readCount), publishers; the
    # publishers' parents are publishers too, so the loader serves them from its cache.
    assert session.statements == 5


async def test_dashboard_with_children_costs_a_fixed_number_of_statements(execute, account_id):
    query = """query($u: ID!) { dashboard(unit: $u) {
        residents noticesPublished unit { name parent { name } }
        children { unit { code name } residents cadres noticeReach } } }"""
    official = await account_id(CITY_OFFICIAL)
    counts = []
    for unit in (CITY, WUMA):
        result, session = await execute(query, official, {"u": unit})
        assert not result.errors
        counts.append(session.statements)
    # begin_request, the unit, people and cadres (one statement over the rollups), notices
    # and reach (one statement over the rollups), consultations, suggestions, finance, tasks,
    # children (+ the town's parent; the city has none)
    assert counts == [9, 10]
