"""Analytics: grouped aggregates by tier, month and category, under RLS, bounded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.demo import (
    ANALYST,
    CITY,
    CITY_OFFICIAL,
    NEIGHBOUR_VILLAGE,
    RESIDENT,
    VILLAGE,
    VILLAGE_CADRE,
    WUMA,
)
from villagegraph.errors import QueryTooComplex
from villagegraph.resolvers.analytics import MEASURES, AnalyticsRequest, Measure, run_analytics
from villagegraph.tenants.auth import Credential
from villagegraph.tenants.session import RequestSession

ANALYTICS = """
query($m: AnalyticsMeasure!, $u: ID!, $by: [AnalyticsDimension!]!, $from: String,
      $to: String, $limit: Int) {
  analytics(measure: $m, unit: $u, by: $by, from: $from, to: $to, limit: $limit) {
    measure truncated groups { unitCode unit { level } month category value count }
  }
}"""


async def run(gql, phone, **variables):
    variables.setdefault("limit", 1000)
    return (await gql.data(ANALYTICS, variables, as_=phone))["analytics"]


async def test_notices_by_county_add_up_to_the_city_total(gql, owner_pool):
    counties = await run(gql, ANALYST, m="NOTICES", u=CITY, by=["COUNTY"])
    total = await run(gql, ANALYST, m="NOTICES", u=CITY, by=[])
    expected = await owner_pool.fetch(
        """select publisher_code - publisher_code % 1000000 as county, count(*) as n
             from vg.notices where publisher_code between $1 and $1 + 9999999999
            group by 1 order by 1""",
        int(CITY),
    )
    assert [(g["unitCode"], Decimal(g["value"])) for g in counties["groups"]] == [
        (str(r["county"]), Decimal(r["n"])) for r in expected
    ]
    assert {g["unit"]["level"] for g in counties["groups"]} <= {"COUNTY", "CITY"}
    assert total["groups"][0]["value"] == str(sum(r["n"] for r in expected))
    assert sum(Decimal(g["value"]) for g in counties["groups"]) == Decimal(
        total["groups"][0]["value"]
    )


async def test_counts_are_integers_and_sums_of_money_have_none(gql):
    """Issue 17: counts came only as decimal strings. `count` is an Int for counting
    measures (additive: `value` keeps its Decimal type for released clients)."""
    notices = (await run(gql, ANALYST, m="NOTICES", u=CITY, by=[]))["groups"][0]
    assert isinstance(notices["count"], int) and str(notices["count"]) == notices["value"]
    money = (await run(gql, CITY_OFFICIAL, m="FINANCE_EXPENSE", u=WUMA, by=[]))["groups"]
    assert money and all(g["count"] is None for g in money)


async def test_reads_by_village_month_and_board_match_the_database(gql, owner_pool):
    groups = (
        await run(
            gql,
            CITY_OFFICIAL,
            m="NOTICE_READS",
            u=WUMA,
            by=["VILLAGE", "MONTH", "CATEGORY"],
            **{"from": "2020-01", "to": "2099-12"},
        )
    )["groups"]
    expected = await owner_pool.fetch(
        """select r.resident_village as v,
                  to_char(date_trunc('month', r.read_at at time zone 'Asia/Shanghai'), 'YYYY-MM') as m,
                  n.board as b, count(*) as n
             from vg.notice_reads r join vg.notices n
               on n.publisher_code = r.notice_publisher and n.id = r.notice_id
            where r.resident_village between $1 and $1 + 999
            group by 1, 2, 3 order by 1, 2, 3""",
        int(WUMA),
    )
    assert [(g["unitCode"], g["month"], g["category"], g["value"]) for g in groups] == [
        (str(r["v"]), r["m"], r["b"], str(r["n"])) for r in expected
    ]


async def test_residents_by_tag_count_each_resident_once_in_a_total(gql, owner_pool):
    by_tag = (await run(gql, VILLAGE_CADRE, m="RESIDENTS", u=VILLAGE, by=["CATEGORY"]))["groups"]
    total = (await run(gql, VILLAGE_CADRE, m="RESIDENTS", u=VILLAGE, by=[]))["groups"]
    party = await owner_pool.fetchval(
        "select count(*) from vg.residents where village_code = $1 and '党员' = any (tags)",
        int(VILLAGE),
    )
    everyone = await owner_pool.fetchval(
        "select count(*) from vg.residents where village_code = $1", int(VILLAGE)
    )
    assert {g["category"]: int(g["value"]) for g in by_tag}["党员"] == party
    assert int(total[0]["value"]) == everyone


async def test_analytics_are_for_officials_and_analysts_over_their_units(gql):
    resident = await gql.error(ANALYTICS, {"m": "NOTICES", "u": VILLAGE, "by": []}, as_=RESIDENT)
    assert resident["extensions"]["code"] == "FORBIDDEN"
    anonymous = await gql.error(ANALYTICS, {"m": "NOTICES", "u": VILLAGE, "by": []})
    assert anonymous["extensions"]["code"] == "UNAUTHENTICATED"
    neighbour = await gql.error(
        ANALYTICS, {"m": "NOTICES", "u": NEIGHBOUR_VILLAGE, "by": []}, as_=VILLAGE_CADRE
    )
    assert neighbour["extensions"]["code"] == "FORBIDDEN"


async def test_rls_bounds_what_a_measure_counts(as_request_role, account_id, gql, owner_pool):
    # A cadre asking about its own village sees exactly its rows, as the database says.
    groups = (await run(gql, VILLAGE_CADRE, m="NOTICE_READS", u=VILLAGE, by=[]))["groups"]
    await as_request_role.begin_as(await account_id(VILLAGE_CADRE))
    visible = await as_request_role.fetchval(
        "select count(*) from vg.notice_reads where resident_village = $1", int(VILLAGE)
    )
    assert int(groups[0]["value"]) == visible
    # An analyst's figure for another village matches the database's too.
    neighbour = (await run(gql, ANALYST, m="NOTICE_READS", u=NEIGHBOUR_VILLAGE, by=[]))["groups"]
    assert int(neighbour[0]["value"]) == await owner_pool.fetchval(
        "select count(*) from vg.notice_reads where resident_village = $1", int(NEIGHBOUR_VILLAGE)
    )


async def test_groups_are_limited_and_bad_groupings_refused(gql):
    limited = await run(gql, ANALYST, m="NOTICES", u=CITY, by=["VILLAGE", "CATEGORY"], limit=3)
    assert len(limited["groups"]) == 3 and limited["truncated"] is True
    stock = await gql.error(ANALYTICS, {"m": "RESIDENTS", "u": CITY, "by": ["MONTH"]}, as_=ANALYST)
    assert stock["extensions"]["code"] == "BAD_USER_INPUT"
    two_tiers = await gql.error(
        ANALYTICS, {"m": "NOTICES", "u": CITY, "by": ["TOWN", "VILLAGE"]}, as_=ANALYST
    )
    assert two_tiers["extensions"]["code"] == "BAD_USER_INPUT"
    too_many = await gql.error(
        ANALYTICS, {"m": "NOTICES", "u": CITY, "by": [], "limit": 5000}, as_=ANALYST
    )
    assert too_many["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_slow_analysis_stops_at_the_statement_timeout(
    request_pool, account_id, session_token
):
    slow = Measure(
        name="SLOW",
        description="sleeps",
        source="vg.notices n cross join pg_sleep(0.5)",
        tenant="n.publisher_code",
        time="n.published_at",
        category=None,
    )
    request = AnalyticsRequest(
        measure=slow,
        lo=int(CITY),
        hi=int(CITY) + 9_999_999_999,
        tier=None,
        by_month=False,
        by_category=False,
        since=None,
        until=None,
        limit=10,
    )
    analyst = await account_id(ANALYST)
    credential = Credential(analyst, await session_token(analyst))
    session = RequestSession(request_pool, credential)
    try:
        with pytest.raises(QueryTooComplex):
            await run_analytics(session, request, timeout_ms=50)
        # The request goes on after the cancelled statement.
        assert await session.fetchval("select 1") == 1
    finally:
        await session.close(commit=False)


def test_every_measure_names_its_tenant_column_inside_its_source():
    for measure in MEASURES:
        alias = measure.tenant.split(".")[0]
        assert f" {alias}" in measure.source or measure.source.endswith(alias), measure.name


async def test_analytics_cost_a_fixed_number_of_statements(execute, account_id):
    query = """{ analytics(measure: NOTICES, unit: "330300000000", by: [VILLAGE, CATEGORY],
                 limit: 1000) { groups { unit { code level parent { code } } value } } }"""
    result, session = await execute(query, await account_id(ANALYST))
    assert not result.errors
    assert len(result.data["analytics"]["groups"]) > 20
    # begin_request, statement_timeout, the grouped statement, the groups' units in one
    # batch (their parents are groups too: notices are published at every tier).
    assert session.statements == 4


@pytest.mark.parametrize("measure", MEASURES, ids=lambda m: m.name)
async def test_every_registered_measure_runs_and_adds_up_across_villages(gql, measure):
    """Covers each domain's measure as it is registered: every allowed grouping runs, and
    the village groups add up to the city's total (each row lies in one village)."""
    total = await run(gql, ANALYST, m=measure.name, u=CITY, by=[])
    villages = await run(gql, ANALYST, m=measure.name, u=CITY, by=["VILLAGE"])
    assert not villages["truncated"]
    if measure.protected:  # personal data: small groups left out, the rest perturbed
        assert all(Decimal(g["value"]) >= 5 for g in villages["groups"])
    else:
        assert sum(Decimal(g["value"]) for g in villages["groups"]) == Decimal(
            total["groups"][0]["value"]
        )
    extra = (["MONTH"] if measure.time else []) + (["CATEGORY"] if measure.category else [])
    grouped = await run(gql, ANALYST, m=measure.name, u=CITY, by=["COUNTY", *extra])
    assert grouped["groups"]
