"""SQL statement counts are pinned so an N+1 fails the suite (Saleor's benchmark habit).

The first statement of every request is vg.begin_request (sets the RLS context).
"""

from __future__ import annotations

from tests.demo import CITY, CITY_OFFICIAL, RESIDENT, WUMA

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


async def dashboard_statements(execute, account_id, query: str) -> list[int]:
    official = await account_id(CITY_OFFICIAL)
    counts = []
    for unit in (CITY, WUMA):
        result, session = await execute(query, official, {"u": unit})
        assert not result.errors, result.errors
        counts.append(session.statements)
    return counts


async def test_dashboard_with_children_costs_a_fixed_number_of_statements(execute, account_id):
    query = """query($u: ID!) { dashboard(unit: $u) {
        residents noticesPublished unit { name parent { name } }
        children { unit { code name } residents cadres noticeReach } } }"""
    # begin_request, the unit, people and cadres (one statement over the rollups), notices
    # and reach (one statement over the rollups), children (+ the town's parent; the city
    # has none). Domains whose figures are not selected run nothing.
    assert await dashboard_statements(execute, account_id, query) == [5, 6]


async def test_a_dashboard_of_every_figure_costs_one_statement_per_domain_query(
    execute, account_id
):
    figures = (
        "residents partyMembers cadres noticesPublished noticeReach openConsultations"
        " resolvedConsultations openSuggestions answeredSuggestions medianHoursToFirstAnswer"
        " income expense openTasks overdueTasks onTimeCompletionRate villagesOutOfCompliance"
    )
    query = f"""query($u: ID!) {{ dashboard(unit: $u) {{ {figures} unit {{ parent {{ name }} }}
        children {{ unit {{ code }} {figures} }} }} }}"""
    # ... plus consultations, suggestions, finance (affairs) and tasks
    assert await dashboard_statements(execute, account_id, query) == [9, 10]
