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


PERIODS = [
    ("2026-01", "2026-12"),
    ("2025-12", "2026-03"),
    ("2026-03", "2026-03"),
    ("2026-04", None),
    (None, "2026-02"),
    ("2026-02-10", "2026-05-20"),  # not whole months: the live path
]
# A resident's receipts as (month, day) in 2025/2026, recorded in separate statements out of
# order, so a later month is linked before an earlier one arrives.
READS = [
    [(2025, 11), (2026, 5), (2026, 2)],
    [(2026, 3)],
    [(2026, 7), (2026, 2), (2026, 2)],
    [],
]


async def test_reach_over_any_whole_month_period_is_exact_at_every_tier(
    gql, owner_pool, make_village
):
    """Reach over several whole months reads vg.unit_reader_months (0021); it must equal
    the distinct readers counted from the receipts, for the village, its town, county and
    city, and for each child, whatever the period and the order receipts arrived in."""
    from villagegraph.schema.inputs import period_bound
    from villagegraph.tenants.hierarchy import subtree_end

    village = await make_village(residents=4)
    notices = [
        (r["publisher_code"], r["id"])
        for r in await owner_pool.fetch(
            "select publisher_code, id from vg.notices order by id limit 3"
        )
    ]
    for resident, reads in zip(village["residents"], READS, strict=True):
        for k, (year, month) in enumerate(reads):
            await owner_pool.execute(
                """insert into vg.notice_reads (resident_village, resident_id, notice_publisher,
                                                notice_id, read_at)
                   values ($1, $2, $3, $4, make_timestamptz($5, $6, 15, 12, 0, 0, 'Asia/Shanghai'))""",
                int(village["code"]),
                resident["id"],
                *notices[k],
                year,
                month,
            )
    live = """select count(distinct (resident_village, resident_id)) from vg.notice_reads
               where resident_village between $1 and $2
                 and ($3::timestamptz is null or read_at >= $3)
                 and ($4::timestamptz is null or read_at <= $4)"""
    for phone, unit in (
        (VILLAGE_CADRE, VILLAGE),
        (village["cadre"], village["code"]),
        (TOWN_OFFICIAL, WUMA),
        (COUNTY_OFFICIAL, LUCHENG),
        (CITY_OFFICIAL, CITY),
    ):
        for start, end in PERIODS:
            period = {"from": start, "to": end}
            board = (await gql.data(DASHBOARD, {"u": unit, **period}, as_=phone))["dashboard"]
            since = period_bound(start, "from", end=False)
            until = period_bound(end, "to", end=True)
            for part in (board, *board["children"]):
                code = int(part["unit"]["code"])
                expected = await owner_pool.fetchval(live, code, subtree_end(code), since, until)
                assert part["noticeReach"] == expected, (unit, code, period)
    async with owner_pool.acquire() as conn:
        from tests.test_scale import assert_rollups_match

        await assert_rollups_match(conn)


async def test_a_whole_month_period_dashboard_reads_no_receipts(execute, account_id, monkeypatch):
    """Every figure of a 12-month dashboard comes from rollups: no statement of the
    request touches vg.notice_reads (which the live reach grouped, seconds per county)."""
    from villagegraph.tenants.session import RequestSession

    seen: list[str] = []
    fetch = RequestSession.fetch

    async def recording(self: RequestSession, sql: str, *args: object) -> list:
        seen.append(sql)
        return await fetch(self, sql, *args)

    monkeypatch.setattr(RequestSession, "fetch", recording)
    official = await account_id(CITY_OFFICIAL)
    for unit in (CITY, LUCHENG, WUMA, VILLAGE):
        period = {"u": unit, "from": "2026-01", "to": "2026-12"}
        result, _ = await execute(DASHBOARD, official, period)
        assert not result.errors, result.errors
    assert seen and not [sql for sql in seen if "notice_reads" in sql]
