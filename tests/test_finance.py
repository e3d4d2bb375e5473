"""Finance disclosure (财务公开): villagers-only reading, append-only entries, reversals,
budgets, and the affairs dashboard figures adding up from villages to the city."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import pytest

from tests.demo import (
    ANALYST,
    CITY,
    CITY_OFFICIAL,
    FAR_RESIDENT,
    NEIGHBOUR,
    RESIDENT,
    TOWN_OFFICIAL,
    VILLAGE,
    VILLAGE_CADRE,
    WUMA,
)

RECORD = """
mutation($input: FinanceEntryInput!) {
  recordFinanceEntry(input: $input) { id period direction category amount memo reversed }
}"""
REPORT = """
query($v: ID!, $from: String, $to: String) {
  finance(village: $v, from: $from, to: $to) {
    entries { id amount direction category period reverses reversed }
    totals { income expense balance }
    byPeriod { period income expense balance }
    byCategory { direction category amount }
    budget { year direction category budget actual }
  }
}"""
REVERSE = """
mutation($id: ID!) { reverseFinanceEntry(id: $id, memo: "录错金额") { id amount reverses } }"""


def entry(village: str, amount: str, direction: str = "INCOME", **extra: str) -> dict:
    return {
        "input": {
            "village": village,
            "period": extra.get("period", "2026-03"),
            "direction": direction,
            "category": extra.get("category", "补助收入" if direction == "INCOME" else "管理费用"),
            "amount": amount,
            "memo": "测试",
        }
    }


async def test_members_read_the_accounts_their_cadre_records(gql, make_village):
    village = await make_village(residents=1)
    code, cadre = village["code"], village["cadre"]
    await gql.data(RECORD, entry(code, "1000.50"), as_=cadre)
    await gql.data(RECORD, entry(code, "200.25", "EXPENSE", category="其他支出"), as_=cadre)
    await gql.data(RECORD, entry(code, "10.00", "EXPENSE", period="2026-04"), as_=cadre)
    report = (await gql.data(REPORT, {"v": code}, as_=village["residents"][0]["phone"]))["finance"]
    assert report["totals"] == {"income": "1000.50", "expense": "210.25", "balance": "790.25"}
    assert [p["period"] for p in report["byPeriod"]] == ["2026-03", "2026-04"]
    assert report["byPeriod"][0]["balance"] == "800.25"
    assert {(c["direction"], c["category"], c["amount"]) for c in report["byCategory"]} == {
        ("INCOME", "补助收入", "1000.50"),
        ("EXPENSE", "其他支出", "200.25"),
        ("EXPENSE", "管理费用", "10.00"),
    }
    april = (await gql.data(REPORT, {"v": code, "from": "2026-04"}, as_=cadre))["finance"]
    assert april["totals"]["expense"] == "10.00" and len(april["entries"]) == 1


async def test_officials_above_the_village_read_its_accounts(gql):
    for phone in (VILLAGE_CADRE, TOWN_OFFICIAL, CITY_OFFICIAL, ANALYST, RESIDENT):
        report = (await gql.data(REPORT, {"v": VILLAGE}, as_=phone))["finance"]
        assert len(report["entries"]) >= 12 * 7, phone


async def test_neighbour_village_resident_cannot_read_finance(gql):
    for phone in (NEIGHBOUR, FAR_RESIDENT):
        error = await gql.error(REPORT, {"v": VILLAGE}, as_=phone)
        assert error["extensions"]["code"] == "FORBIDDEN"
    assert (await gql.error(REPORT, {"v": VILLAGE}))["extensions"]["code"] == "UNAUTHENTICATED"


async def test_neighbour_and_anonymous_get_no_finance_rows_at_the_database(
    as_request_role, account_id
):
    query = "select count(*) from vg.finance_entries where village_code = $1"
    budgets = "select count(*) from vg.finance_budgets where village_code = $1"
    await as_request_role.begin_as(await account_id(RESIDENT))
    assert await as_request_role.fetchval(query, int(VILLAGE)) > 0
    for account in (await account_id(NEIGHBOUR), await account_id(FAR_RESIDENT), None):
        await as_request_role.begin_as(account)
        assert await as_request_role.fetchval(query, int(VILLAGE)) == 0
        assert await as_request_role.fetchval(budgets, int(VILLAGE)) == 0
    # The neighbour reads its own village's accounts, and only them.
    await as_request_role.begin_as(await account_id(NEIGHBOUR))
    villages = await as_request_role.fetch("select distinct village_code from vg.finance_entries")
    assert [row["village_code"] for row in villages] == [int(VILLAGE) + 1]


async def test_entries_cannot_be_edited_or_deleted_even_by_their_cadre(as_request_role, account_id):
    await as_request_role.begin_as(await account_id(VILLAGE_CADRE))
    for statement in (
        "update vg.finance_entries set amount = 1 where village_code = $1",
        "delete from vg.finance_entries where village_code = $1",
        "update vg.finance_budgets set amount = 1 where village_code = $1",
        "delete from vg.finance_budgets where village_code = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with as_request_role.transaction():
                await as_request_role.execute(statement, int(VILLAGE))


async def test_residents_cannot_record_entries_by_api_or_by_hand(gql, as_request_role, account_id):
    error = await gql.error(RECORD, entry(VILLAGE, "5.00"), as_=RESIDENT)
    assert error["extensions"]["code"] == "FORBIDDEN"
    resident = await account_id(RESIDENT)
    await as_request_role.begin_as(resident)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_request_role.execute(
            """insert into vg.finance_entries
                   (village_code, period, direction, category, amount, recorded_by)
               values ($1, '2026-01', 'INCOME', '伪造', 1, $2)""",
            int(VILLAGE),
            resident,
        )


async def test_town_official_records_for_a_village_but_not_for_the_town(gql):
    entry_row = await gql.data(RECORD, entry(VILLAGE, "1.00"), as_=TOWN_OFFICIAL)
    assert entry_row["recordFinanceEntry"]["amount"] == "1.00"
    error = await gql.error(RECORD, entry(WUMA, "1.00"), as_=TOWN_OFFICIAL)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_reversal_nets_out_and_both_entries_stay_published(gql, make_village):
    village = await make_village(residents=0)
    code, cadre = village["code"], village["cadre"]
    original = (await gql.data(RECORD, entry(code, "300.00", "EXPENSE"), as_=cadre))[
        "recordFinanceEntry"
    ]
    reversal = (await gql.data(REVERSE, {"id": original["id"]}, as_=cadre))["reverseFinanceEntry"]
    assert reversal == {"id": reversal["id"], "amount": "-300.00", "reverses": original["id"]}
    report = (await gql.data(REPORT, {"v": code}, as_=cadre))["finance"]
    assert report["totals"] == {"income": "0.00", "expense": "0.00", "balance": "0.00"}
    assert [e["reversed"] for e in report["entries"]] == [True, False]
    again = await gql.error(REVERSE, {"id": original["id"]}, as_=cadre)
    assert again["extensions"]["code"] == "CONFLICT"
    of_reversal = await gql.error(REVERSE, {"id": reversal["id"]}, as_=cadre)
    assert of_reversal["extensions"]["code"] == "CONFLICT"


async def test_a_second_reversal_is_refused_by_the_database(as_request_role, account_id):
    cadre = await account_id(VILLAGE_CADRE)
    await as_request_role.begin_as(cadre)
    original = await as_request_role.fetchval(
        """insert into vg.finance_entries (village_code, period, direction, category,
                                           subject_code, amount, recorded_by)
           values ($1, '2026-02', 'INCOME', '补助收入', '522', 5, $2) returning id""",
        int(VILLAGE),
        cadre,
    )
    reverse = """insert into vg.finance_entries
                     (village_code, period, direction, category, subject_code, amount,
                      reverses_id, recorded_by)
                 values ($1, '2026-02', 'INCOME', '补助收入', '522', -5, $2, $3)"""
    await as_request_role.execute(reverse, int(VILLAGE), original, cadre)
    with pytest.raises(asyncpg.UniqueViolationError):
        await as_request_role.execute(reverse, int(VILLAGE), original, cadre)


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", "0"), ("amount", "-5"), ("amount", "1.005"), ("period", "2026-13")],
)
async def test_bad_amounts_and_periods_are_bad_user_input(gql, field, value):
    variables = entry(VILLAGE, "1.00")
    variables["input"][field] = value
    error = await gql.error(RECORD, variables, as_=VILLAGE_CADRE)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert field in error["message"]


async def test_budget_against_actual_uses_the_latest_revision(gql, make_village):
    village = await make_village(residents=0)
    code, cadre = village["code"], village["cadre"]
    set_budget = """mutation($input: SetBudgetInput!) {
        setBudget(input: $input) { year category budget actual } }"""
    line = {"village": code, "year": 2026, "direction": "EXPENSE", "category": "管理费用"}
    await gql.data(set_budget, {"input": {**line, "amount": "1000.00"}}, as_=cadre)
    await gql.data(RECORD, entry(code, "250.00", "EXPENSE", category="管理费用"), as_=cadre)
    revised = await gql.data(set_budget, {"input": {**line, "amount": "1200.00"}}, as_=cadre)
    assert revised["setBudget"] == {
        "year": 2026,
        "category": "管理费用",
        "budget": "1200.00",
        "actual": "250.00",
    }
    report = await gql.data(REPORT, {"v": code, "from": "2026-01", "to": "2026-12"}, as_=cadre)
    assert report["finance"]["budget"] == [
        {
            "year": 2026,
            "direction": "EXPENSE",
            "category": "管理费用",
            "budget": "1200.00",
            "actual": "250.00",
        }
    ]


FIGURES = (
    "openConsultations resolvedConsultations openSuggestions answeredSuggestions income expense"
)
DASHBOARD = f"""
query($u: ID!, $from: String, $to: String) {{
  dashboard(unit: $u, from: $from, to: $to) {{
    unit {{ code }} {FIGURES} medianHoursToFirstAnswer
    children {{ unit {{ code }} {FIGURES} }}
  }}
}}"""


async def test_affairs_figures_add_up_from_villages_to_the_city(gql):
    async def check(unit: str) -> int:
        node = (await gql.data(DASHBOARD, {"u": unit}, as_=CITY_OFFICIAL))["dashboard"]
        for figure in FIGURES.split():
            if node["children"]:
                total = sum(Decimal(str(child[figure])) for child in node["children"])
                assert Decimal(str(node[figure])) == total, (unit, figure)
        checked = 1
        for child in node["children"]:
            if Decimal(child["income"]) > 0:
                checked += await check(child["unit"]["code"])
        return checked

    # city, 2 counties, 4 towns, 12 villages (and any test villages) hold figures
    assert await check(CITY) >= 19


async def test_affairs_figures_match_hand_counts(gql, owner_pool):
    town = (
        await gql.data(
            DASHBOARD, {"u": WUMA, "from": "2026-01", "to": "2026-06"}, as_=TOWN_OFFICIAL
        )
    )["dashboard"]
    lo, hi = int(WUMA), int(WUMA) + 999
    expected = await owner_pool.fetchrow(
        """select (select sum(amount) from vg.finance_entries where village_code between $1 and $2
                     and direction = 'INCOME' and period between '2026-01' and '2026-06') as income,
                  (select count(*) from vg.suggestions where village_code between $1 and $2
                     and status in ('SUBMITTED', 'ACKNOWLEDGED', 'IN_PROGRESS')) as open_s""",
        lo,
        hi,
    )
    assert Decimal(town["income"]) == expected["income"]
    assert town["openSuggestions"] == expected["open_s"]
    assert town["medianHoursToFirstAnswer"] is None or town["medianHoursToFirstAnswer"] >= 0


async def test_residents_and_outsiders_get_no_affairs_dashboard(gql):
    for phone, unit in ((RESIDENT, VILLAGE), (NEIGHBOUR, VILLAGE), (None, CITY)):
        assert (await gql.data(DASHBOARD, {"u": unit}, as_=phone))["dashboard"] is None


async def test_an_entry_cannot_be_back_dated(as_request_role, account_id):
    cadre = await account_id(VILLAGE_CADRE)
    await as_request_role.begin_as(cadre)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_request_role.execute(
            """insert into vg.finance_entries (village_code, period, direction, category, amount,
                                               recorded_by, recorded_at)
               values ($1, '2026-02', 'INCOME', '测试', 5, $2, '2020-01-01')""",
            int(VILLAGE),
            cadre,
        )


async def test_finance_report_costs_a_fixed_number_of_statements(execute, account_id):
    query = """query($v: ID!) { finance(village: $v, from: "2026-01", to: "2026-12") {
        entries { id amount village { name } } totals { balance } byPeriod { period }
        byCategory { amount } budget { actual } } }"""
    result, session = await execute(query, await account_id(RESIDENT), {"v": VILLAGE})
    assert not result.errors
    assert len(result.data["finance"]["entries"]) >= 11 * 7
    # begin_request, entries, sums, budget against actual, the village
    assert session.statements == 5


async def test_a_period_limits_affairs_flows_but_not_open_stocks(gql):
    whole = (await gql.data(DASHBOARD, {"u": CITY}, as_=CITY_OFFICIAL))["dashboard"]
    empty = (
        await gql.data(
            DASHBOARD, {"u": CITY, "from": "2000-01", "to": "2000-12"}, as_=CITY_OFFICIAL
        )
    )["dashboard"]
    assert Decimal(whole["income"]) > 0 and whole["resolvedConsultations"] > 0
    assert (Decimal(empty["income"]), Decimal(empty["expense"])) == (0, 0)
    assert (empty["resolvedConsultations"], empty["answeredSuggestions"]) == (0, 0)
    assert empty["medianHoursToFirstAnswer"] is None
    assert empty["openConsultations"] == whole["openConsultations"] > 0
    assert empty["openSuggestions"] == whole["openSuggestions"] > 0


async def test_a_reversed_range_is_bad_user_input(gql):
    error = await gql.error(
        REPORT, {"v": VILLAGE, "from": "2026-06", "to": "2026-01"}, as_=RESIDENT
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "from"}
