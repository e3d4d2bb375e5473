"""Dashboards: who may read them, drill-down one level, and figures that add up."""

from __future__ import annotations

from decimal import Decimal

from tests.demo import (
    ANALYST,
    CITY,
    CITY_OFFICIAL,
    COUNTY_OFFICIAL,
    LUCHENG,
    RESIDENT,
    RUIAN,
    TOWN_OFFICIAL,
    VILLAGE,
    VILLAGE_CADRE,
    WUMA,
)

FIGURES = "residents partyMembers cadres noticesPublished noticeReach"
DASHBOARD = f"""
query($u: ID!, $from: String, $to: String) {{
  dashboard(unit: $u, from: $from, to: $to) {{
    unit {{ code level }} {FIGURES}
    children {{ unit {{ code }} {FIGURES} children {{ unit {{ code }} }} }}
  }}
}}"""
STOCKS_AND_FLOWS = FIGURES.split()


async def test_officials_and_analysts_read_dashboards_over_their_subtree(gql):
    for phone, unit in (
        (CITY_OFFICIAL, CITY),
        (COUNTY_OFFICIAL, LUCHENG),
        (TOWN_OFFICIAL, WUMA),
        (VILLAGE_CADRE, VILLAGE),
        (ANALYST, CITY),
        (CITY_OFFICIAL, VILLAGE),
    ):
        dashboard = (await gql.data(DASHBOARD, {"u": unit}, as_=phone))["dashboard"]
        assert dashboard["unit"]["code"] == unit
        assert dashboard["residents"] > 0


async def test_dashboard_is_null_outside_scope_and_for_residents(gql):
    for phone, unit in (
        (TOWN_OFFICIAL, LUCHENG),
        (COUNTY_OFFICIAL, RUIAN),
        (VILLAGE_CADRE, WUMA),
        (RESIDENT, VILLAGE),
        (None, CITY),
    ):
        assert (await gql.data(DASHBOARD, {"u": unit}, as_=phone))["dashboard"] is None


async def test_children_are_one_level_down_and_add_up_to_the_parent(gql, owner_pool):
    city = (await gql.data(DASHBOARD, {"u": CITY}, as_=CITY_OFFICIAL))["dashboard"]
    assert len(city["children"]) == 12  # Wenzhou's county-level units
    assert all(child["children"] == [] for child in city["children"])
    own_level = {
        "noticesPublished": await owner_pool.fetchval(
            "select count(*) from vg.notices where publisher_code = $1", int(CITY)
        ),
        "cadres": 0,
    }
    for figure in STOCKS_AND_FLOWS:
        total = sum(child[figure] for child in city["children"]) + own_level.get(figure, 0)
        assert city[figure] == total, figure


async def test_every_tier_adds_up_from_villages_to_the_city(gql, owner_pool):
    async def check(unit: str) -> None:
        node = (await gql.data(DASHBOARD, {"u": unit}, as_=CITY_OFFICIAL))["dashboard"]
        own = await owner_pool.fetchval(
            "select count(*) from vg.notices where publisher_code = $1", int(unit)
        )
        for figure in STOCKS_AND_FLOWS:
            extra = own if figure == "noticesPublished" else 0
            if node["children"]:
                assert node[figure] == sum(c[figure] for c in node["children"]) + extra, (
                    unit,
                    figure,
                )
        for child in node["children"]:
            if child["residents"]:
                await check(child["unit"]["code"])

    await check(CITY)


async def test_figures_match_hand_counts(gql, owner_pool):
    town = (await gql.data(DASHBOARD, {"u": WUMA}, as_=TOWN_OFFICIAL))["dashboard"]
    lo, hi = int(WUMA), int(WUMA) + 999
    expected = await owner_pool.fetchrow(
        """select (select count(*) from vg.residents where village_code between $1 and $2) as residents,
                  (select count(*) from vg.residents where village_code between $1 and $2
                      and '党员' = any (tags)) as party,
                  (select count(distinct (village_code, coalesce('resident ' || resident_id,
                                                                 'account ' || account_id, name)))
                     from vg.cadres where village_code between $1 and $2
                      and term_start <= current_date
                      and (term_end is null or term_end > current_date)) as cadres""",
        lo,
        hi,
    )
    assert (town["residents"], town["partyMembers"], town["cadres"]) == tuple(expected)


async def test_period_limits_flows_but_not_stocks(gql):
    whole = (await gql.data(DASHBOARD, {"u": CITY}, as_=CITY_OFFICIAL))["dashboard"]
    empty = (
        await gql.data(
            DASHBOARD, {"u": CITY, "from": "2000-01", "to": "2000-12"}, as_=CITY_OFFICIAL
        )
    )["dashboard"]
    assert empty["noticesPublished"] == 0 and empty["noticeReach"] == 0
    assert empty["residents"] == whole["residents"]


async def test_bad_period_is_bad_user_input(gql):
    error = await gql.error(DASHBOARD, {"u": CITY, "from": "2024-13"}, as_=CITY_OFFICIAL)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "from" in error["message"]


VILLAGE_OWNED = (
    "residents partyMembers cadres noticeReach openConsultations resolvedConsultations"
    " openSuggestions answeredSuggestions income expense"
).split()
ALL_FIGURES = f"""
query($u: ID!) {{
  dashboard(unit: $u) {{
    {" ".join(VILLAGE_OWNED)} noticesPublished openTasks
    children {{ unit {{ code }} {" ".join(VILLAGE_OWNED)} noticesPublished openTasks }}
  }}
}}"""


async def test_every_figure_adds_up_from_villages_to_the_city(gql, owner_pool):
    """Village-owned figures: a parent is exactly the sum of its children at every tier.
    Notices and tasks also live at towns, counties and the city: a parent is the sum of its
    children plus its own-level rows."""

    async def own_level(unit: int) -> dict[str, int]:
        row = await owner_pool.fetchrow(
            """select (select count(*) from vg.notices where publisher_code = $1) as notices,
                      (select count(*) from vg.tasks
                        where assignee_code = $1 and completed_at is null) as tasks""",
            unit,
        )
        return {"noticesPublished": row["notices"], "openTasks": row["tasks"]}

    async def check(unit: str) -> int:
        node = (await gql.data(ALL_FIGURES, {"u": unit}, as_=CITY_OFFICIAL))["dashboard"]
        own = await own_level(int(unit))
        for figure in (*VILLAGE_OWNED, "noticesPublished", "openTasks"):
            children = sum(Decimal(str(c[figure])) for c in node["children"])
            assert Decimal(str(node[figure])) == children + own.get(figure, 0), (unit, figure)
        checked = 1
        for child in node["children"]:
            if child["residents"] and int(child["unit"]["code"]) % 1000 == 0:
                checked += await check(child["unit"]["code"])
        return checked

    assert await check(CITY) >= 7  # the city, two counties, four towns


async def test_figures_asked_through_fragments_or_derived_are_computed(gql):
    whole = """query($u: ID!) { dashboard(unit: $u) {
        openTasks tasksCompleted tasksCompletedOnTime onTimeCompletionRate income } }"""
    parts = """query($u: ID!) { dashboard(unit: $u) { ...Money children { ...Money }
        onTimeCompletionRate } }
        fragment Money on Dashboard { ... on Dashboard { income } }"""
    full = (await gql.data(whole, {"u": WUMA}, as_=TOWN_OFFICIAL))["dashboard"]
    asked = (await gql.data(parts, {"u": WUMA}, as_=TOWN_OFFICIAL))["dashboard"]
    assert Decimal(asked["income"]) == Decimal(full["income"]) > 0
    assert asked["onTimeCompletionRate"] == full["onTimeCompletionRate"] is not None
    assert sum(Decimal(c["income"]) for c in asked["children"]) == Decimal(asked["income"])
