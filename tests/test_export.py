"""Exports for reporting upward (issue 16): GET /export/<kind>.<xlsx|csv> runs the GraphQL
operation for the same caller and flattens it, so the file says exactly what GraphQL says and
never more (other units, analysts' masking, anonymous callers)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl

from tests.demo import ANALYST, CITY, LUCHENG, RESIDENT, TOWN_OFFICIAL, WUMA


async def export(gql, path: str, as_: str | None = None, **params):
    headers = {}
    if as_ is not None:
        headers["Authorization"] = f"Bearer {await gql.token(as_)}"
    return await gql.http.get(path, params=params, headers=headers)


def workbook_rows(content: bytes) -> list[dict]:
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    # Read-only sheets drop trailing empty cells.
    width = len(values[0])
    return [
        dict(zip(values[0], row + [None] * (width - len(row)), strict=True)) for row in values[1:]
    ]


def csv_rows(content: bytes) -> list[dict]:
    assert content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


async def test_the_dashboard_workbook_says_what_graphql_says(gql):
    response = await export(
        gql, "/export/dashboard.xlsx", TOWN_OFFICIAL, unit=WUMA, **{"from": "2026-01"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    rows = workbook_rows(response.content)
    board = (
        await gql.data(
            """query($u: ID!) { dashboard(unit: $u, from: "2026-01") { unit { code }
                 noticesPublished openTasks income own { noticesPublished openTasks }
                 children { unit { code } noticesPublished openTasks income } } }""",
            {"u": WUMA},
            as_=TOWN_OFFICIAL,
        )
    )["dashboard"]
    total, own, *children = rows
    assert (total["part"], total["unit.code"]) == ("total", WUMA)
    assert total["noticesPublished"] == board["noticesPublished"]
    assert Decimal(str(total["income"])) == Decimal(board["income"])
    assert own["part"] == "own" and own["openTasks"] == board["own"]["openTasks"]
    assert [(c["unit.code"], c["openTasks"]) for c in children] == [
        (c["unit"]["code"], c["openTasks"]) for c in board["children"]
    ]
    # Finding 7 in the file too: children + own add up to the total.
    for figure in ("noticesPublished", "openTasks"):
        assert total[figure] == sum(c[figure] for c in children) + own[figure]


async def test_the_task_list_csv_is_the_whole_graphql_list_with_a_bom(gql):
    response = await export(gql, "/export/tasks.csv", TOWN_OFFICIAL, unit=WUMA, status="OVERDUE")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = csv_rows(response.content)
    ids, after = [], None
    while True:
        page = (
            await gql.data(
                """query($u: ID!, $a: String) { tasks(unit: $u, status: OVERDUE, first: 100, after: $a) {
                     pageInfo { hasNextPage endCursor } edges { node { id } } } }""",
                {"u": WUMA, "a": after},
                as_=TOWN_OFFICIAL,
            )
        )["tasks"]
        ids += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert [row["id"] for row in rows] == ids and ids
    assert {row["status"] for row in rows} == {"OVERDUE"}
    assert all(row["assignee.code"].startswith(WUMA[:9]) for row in rows)


async def test_analytics_and_statistics_exports_match_graphql_for_the_analyst(gql):
    response = await export(
        gql, "/export/analytics.xlsx", ANALYST, measure="TASKS", unit=CITY, by="COUNTY,CATEGORY"
    )
    assert response.status_code == 200, response.text
    groups = (
        await gql.data(
            """{ analytics(measure: TASKS, unit: "330300000000", by: [COUNTY, CATEGORY]) {
                 groups { unitCode category value } } }""",
            as_=ANALYST,
        )
    )["analytics"]["groups"]
    assert [
        (r["unit.code"], r["category"], Decimal(str(r["value"])))
        for r in workbook_rows(response.content)
    ] == [(g["unitCode"], g["category"], Decimal(g["value"])) for g in groups]
    response = await export(gql, "/export/statistics.csv", ANALYST, unit=LUCHENG, by="TAG")
    assert response.status_code == 200, response.text
    stats = (
        await gql.data(
            """{ residentStatistics(unit: "330302000000", by: [TAG]) { total groups { tag count } } }""",
            as_=ANALYST,
        )
    )["residentStatistics"]
    total, *groups = csv_rows(response.content)
    assert int(total["count"]) == stats["total"]
    assert [(g["tag"] or None, int(g["count"])) for g in groups] == [
        (g["tag"], g["count"]) for g in stats["groups"]
    ]


async def test_an_export_never_shows_more_than_graphql(gql):
    # Another unit's dashboard: null in GraphQL, 404 here; its tasks: none in either.
    response = await export(gql, "/export/dashboard.csv", TOWN_OFFICIAL, unit=LUCHENG)
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    response = await export(gql, "/export/tasks.csv", TOWN_OFFICIAL, unit="330381001000")
    assert response.status_code == 200 and csv_rows(response.content) == []
    # Anonymous callers and residents: nothing to export.
    for phone in (None, RESIDENT):
        response = await export(gql, "/export/dashboard.xlsx", phone, unit=WUMA)
        assert response.status_code == 404, phone
        response = await export(gql, "/export/tasks.csv", phone, unit=WUMA)
        assert response.status_code == 200 and csv_rows(response.content) == [], phone
    response = await export(
        gql, "/export/analytics.csv", None, measure="TASKS", unit=CITY, by="COUNTY"
    )
    assert response.status_code == 401
    # A residents list is not exportable; unknown parameters (a bigger page) are refused.
    assert (await export(gql, "/export/residents.csv", TOWN_OFFICIAL, unit=WUMA)).status_code == 404
    response = await export(gql, "/export/tasks.csv", TOWN_OFFICIAL, unit=WUMA, first="100000")
    assert response.status_code == 400
    # A bad token is refused as on /graphql.
    response = await gql.http.get(
        "/export/tasks.csv", params={"unit": WUMA}, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401


async def test_exports_obey_the_rate_limit_like_graphql(database, settings):
    import dataclasses

    from tests.api_support import login, service

    limits = {tier: dict(values) for tier, values in settings.limits.items()}
    limits["official"].update(rate_per_minute=2, burst=2)
    async with service(database, dataclasses.replace(settings, limits=limits)) as http:
        headers = await login(http, TOWN_OFFICIAL)
        statuses = [
            (
                await http.get("/export/dashboard.csv", params={"unit": WUMA}, headers=headers)
            ).status_code
            for _ in range(4)
        ]
    assert 429 in statuses and statuses[0] == 200
