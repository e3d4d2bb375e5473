"""Dashboards that explain themselves (issue 16, finding 7): the unit's own items beside its
children's, so children + own add up to the parent, and a monthly series per figure."""

from __future__ import annotations

from decimal import Decimal

from tests.demo import CITY, CITY_OFFICIAL, COUNTY_OFFICIAL, LUCHENG, TOWN_OFFICIAL, WUMA

OWN = """query($u: ID!, $from: String, $to: String) { dashboard(unit: $u, from: $from, to: $to) {
  noticesPublished openTasks overdueTasks supervisedOverdueTasks tasksCompleted tasksCompletedOnTime
  own { noticesPublished openTasks overdueTasks supervisedOverdueTasks tasksCompleted
        tasksCompletedOnTime }
  children { unit { code } noticesPublished openTasks overdueTasks supervisedOverdueTasks
             tasksCompleted tasksCompletedOnTime own { openTasks } } } }"""
FIGURES = (
    "noticesPublished",
    "openTasks",
    "overdueTasks",
    "supervisedOverdueTasks",
    "tasksCompleted",
    "tasksCompletedOnTime",
)


async def test_children_and_own_add_up_to_the_parent_at_every_tier(gql):
    for unit, phone in ((CITY, CITY_OFFICIAL), (LUCHENG, COUNTY_OFFICIAL), (WUMA, TOWN_OFFICIAL)):
        for period in ({}, {"from": "2026-01", "to": "2026-12"}):
            board = (await gql.data(OWN, {"u": unit, **period}, as_=phone))["dashboard"]
            for figure in FIGURES:
                children = sum(child[figure] for child in board["children"])
                assert board[figure] == children + board["own"][figure], (unit, figure, period)
            assert all(child["own"] is None for child in board["children"])


async def test_a_towns_own_items_are_the_ones_it_holds_itself(gql, owner_pool):
    board = (await gql.data(OWN, {"u": WUMA}, as_=TOWN_OFFICIAL))["dashboard"]
    own = await owner_pool.fetchrow(
        """select (select count(*) from vg.notices where publisher_code = $1) as notices,
                  (select count(*) from vg.tasks where assignee_code = $1
                      and completed_at is null) as open_tasks""",
        int(WUMA),
    )
    assert board["own"]["noticesPublished"] == own["notices"]
    assert board["own"]["openTasks"] == own["open_tasks"]


MONTHLY = """query($u: ID!, $from: String, $to: String) { dashboard(unit: $u) {
  monthly(from: $from, to: $to) { month noticesPublished noticeReach income expense
    tasksAssigned tasksCompleted tasksCompletedOnTime resolvedConsultations answeredSuggestions }
  } }"""


async def test_the_monthly_series_adds_up_to_the_dashboard_of_the_same_period(gql):
    months = (
        await gql.data(MONTHLY, {"u": WUMA, "from": "2026-01", "to": "2026-06"}, as_=TOWN_OFFICIAL)
    )["dashboard"]["monthly"]
    assert [m["month"] for m in months] == [f"2026-0{i}" for i in range(1, 7)]
    whole = (
        await gql.data(
            """query($u: ID!) { dashboard(unit: $u, from: "2026-01", to: "2026-06") {
                 noticesPublished income expense tasksCompleted resolvedConsultations
                 answeredSuggestions } }""",
            {"u": WUMA},
            as_=TOWN_OFFICIAL,
        )
    )["dashboard"]
    for figure in (
        "noticesPublished",
        "tasksCompleted",
        "resolvedConsultations",
        "answeredSuggestions",
    ):
        assert sum(m[figure] for m in months) == whole[figure], figure
    for figure in ("income", "expense"):
        assert sum(Decimal(m[figure]) for m in months) == Decimal(whole[figure]), figure


async def test_a_series_is_bounded_and_invisible_outside_scope(gql):
    error = await gql.error(
        MONTHLY, {"u": WUMA, "from": "2020-01", "to": "2026-01"}, as_=TOWN_OFFICIAL
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await gql.error(
        MONTHLY, {"u": WUMA, "from": "2026-05", "to": "2026-01"}, as_=TOWN_OFFICIAL
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await gql.data(MONTHLY, {"u": LUCHENG}, as_=TOWN_OFFICIAL))["dashboard"] is None
    default = (await gql.data(MONTHLY, {"u": WUMA}, as_=TOWN_OFFICIAL))["dashboard"]["monthly"]
    assert len(default) == 12
