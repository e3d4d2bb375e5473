"""Finance an accountant would accept (issue 16, finding 4): categories from the chart of
accounts of 村集体经济组织会计制度 (extensible per city), no future periods, a second cadre's
approval above the city's threshold (小微权力清单), and budgets compared across villages
(an analytics measure, budget beside actual on dashboards at every tier)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest

from tests.demo import ANALYST, CITY, CITY_OFFICIAL, TOWN_OFFICIAL, VILLAGE, VILLAGE_CADRE, WUMA
from villagegraph.schema.inputs import LOCAL_TIME
from villagegraph.tenants.auth import hash_password

RECORD = """
mutation($input: FinanceEntryInput!) {
  recordFinanceEntry(input: $input) { id period category subjectCode amount status }
}"""
TOTALS = """
query($v: ID!) { finance(village: $v) {
  entries { id status amount } totals { income expense balance } } }"""
APPROVE = "mutation($id: ID!) { approveFinanceEntry(id: $id) { id status decidedAt } }"
REJECT = """mutation($id: ID!) {
  rejectFinanceEntry(id: $id, reason: "无合同依据") { id status decisionReason } }"""
RULES = """mutation($city: ID!, $t: Decimal) {
  setFinanceRules(city: $city, approvalThreshold: $t) { city approvalThreshold } }"""


def entry(village: str, amount: str, direction: str = "EXPENSE", **extra: str) -> dict:
    return {
        "input": {
            "village": village,
            "period": extra.get("period", "2026-03"),
            "direction": direction,
            "category": extra.get("category", "管理费用"),
            "amount": amount,
        }
    }


def next_month() -> str:
    today = datetime.now(LOCAL_TIME)
    return (today.replace(day=28) + timedelta(days=5)).strftime("%Y-%m")


@pytest.fixture
async def second_cadre(owner_pool: asyncpg.Pool) -> Iterator:
    async def add(village: str) -> str:
        phone = f"152{int(village) % 100_000_000:08d}"
        account = await owner_pool.fetchval(
            """insert into vg.accounts (phone, password_hash, display_name)
               values ($1, $2, '测试主任') returning id""",
            phone,
            hash_password("demo"),
        )
        await owner_pool.execute(
            "insert into vg.grants (account_id, role, unit_code) values ($1, 'CADRE', $2)",
            account,
            int(village),
        )
        return phone

    yield add


async def test_free_text_categories_are_refused_naming_the_chart(gql, make_village):
    village = await make_village()
    error = await gql.error(
        RECORD,
        entry(village["code"], "100.00", "INCOME", category="集体资产租金"),
        as_=village["cadre"],
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "501 经营收入" in error["message"] and "522 补助收入" in error["message"]
    assert "551 管理费用" not in error["message"]  # an expense subject is no income category
    by_code = await gql.data(
        RECORD, entry(village["code"], "100.00", "INCOME", category="511"), as_=village["cadre"]
    )
    assert by_code["recordFinanceEntry"]["category"] == "发包及上交收入"
    by_name = await gql.data(RECORD, entry(village["code"], "80.00"), as_=village["cadre"])
    assert by_name["recordFinanceEntry"]["subjectCode"] == "551"


async def test_future_periods_are_refused(gql, make_village):
    village = await make_village()
    error = await gql.error(
        RECORD, entry(village["code"], "100.00", period=next_month()), as_=village["cadre"]
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"].get("argument") == "period" or "period" in error["message"]
    this_month = datetime.now(LOCAL_TIME).strftime("%Y-%m")
    ok = await gql.data(
        RECORD, entry(village["code"], "1.00", period=this_month), as_=village["cadre"]
    )
    assert ok["recordFinanceEntry"]["period"] == this_month


async def test_the_database_refuses_free_text_and_future_periods(as_request_role, account_id):
    cadre = await account_id(VILLAGE_CADRE)
    insert = """insert into vg.finance_entries
                    (village_code, period, direction, category, subject_code, amount, recorded_by)
                values ($1, $2, 'EXPENSE', $3, $4, 10, $5)"""
    await as_request_role.begin_as(cadre)
    for period, category, code in (
        ("2026-03", "集体资产出租", "551"),
        ("2026-03", "管理费用", "501"),
        (next_month(), "管理费用", "551"),
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with as_request_role.transaction():
                await as_request_role.execute(insert, int(VILLAGE), period, category, code, cadre)


async def test_an_expense_above_the_threshold_waits_for_a_second_cadre(
    gql, make_village, second_cadre, owner_pool
):
    village = await make_village(residents=1)
    code, cadre, member = village["code"], village["cadre"], village["residents"][0]["phone"]
    other = await second_cadre(code)
    rules = await gql.data(RULES, {"city": CITY, "t": "5000.00"}, as_=CITY_OFFICIAL)
    assert rules["setFinanceRules"]["approvalThreshold"] == "5000.00"

    small = (await gql.data(RECORD, entry(code, "5000.00"), as_=cadre))["recordFinanceEntry"]
    large = (await gql.data(RECORD, entry(code, "5000.01"), as_=cadre))["recordFinanceEntry"]
    income = entry(code, "90000.00", "INCOME", category="补助收入")
    assert (await gql.data(RECORD, income, as_=cadre))["recordFinanceEntry"]["status"] == "BOOKED"
    assert (small["status"], large["status"]) == ("BOOKED", "PENDING")

    staff_view = (await gql.data(TOTALS, {"v": code}, as_=cadre))["finance"]
    assert staff_view["totals"]["expense"] == "5000.00"  # pending does not count
    assert {e["id"]: e["status"] for e in staff_view["entries"]}[large["id"]] == "PENDING"
    member_view = (await gql.data(TOTALS, {"v": code}, as_=member))["finance"]
    assert large["id"] not in {e["id"] for e in member_view["entries"]}  # not disclosed

    for phone, code_ in ((cadre, "FORBIDDEN"), (TOWN_OFFICIAL, "FORBIDDEN")):
        error = await gql.error(APPROVE, {"id": large["id"]}, as_=phone)
        assert error["extensions"]["code"] == code_, phone
    approved = (await gql.data(APPROVE, {"id": large["id"]}, as_=other))["approveFinanceEntry"]
    assert approved["status"] == "BOOKED" and approved["decidedAt"]
    again = await gql.error(APPROVE, {"id": large["id"]}, as_=other)
    assert again["extensions"]["code"] == "CONFLICT"
    member_view = (await gql.data(TOTALS, {"v": code}, as_=member))["finance"]
    assert member_view["totals"]["expense"] == "10000.01"

    rejected_entry = (await gql.data(RECORD, entry(code, "7000.00"), as_=cadre))[
        "recordFinanceEntry"
    ]
    rejected = (await gql.data(REJECT, {"id": rejected_entry["id"]}, as_=other))[
        "rejectFinanceEntry"
    ]
    assert rejected == {
        "id": rejected_entry["id"],
        "status": "REJECTED",
        "decisionReason": "无合同依据",
    }
    assert (await gql.data(TOTALS, {"v": code}, as_=cadre))["finance"]["totals"]["expense"] == (
        "10000.01"
    )
    actions = [
        r["action"]
        for r in await owner_pool.fetch(
            """select action from vg.audit_log where tenant_code = $1 and entity = 'finance_entry'
                order by id""",
            int(code),
        )
    ]
    assert actions.count("finance.approve") == 1 and actions.count("finance.reject") == 1


async def test_the_recorder_cannot_book_its_own_pending_entry_at_the_database(
    gql, make_village, as_request_role, account_id
):
    village = await make_village()
    await gql.data(RULES, {"city": CITY, "t": "5000.00"}, as_=CITY_OFFICIAL)
    pending = await gql.data(RECORD, entry(village["code"], "6000.00"), as_=village["cadre"])
    entry_id = int(pending["recordFinanceEntry"]["id"])
    await as_request_role.begin_as(await account_id(village["cadre"]))
    updated = await as_request_role.execute(
        "update vg.finance_entries set status = 'BOOKED' where id = $1", entry_id
    )
    assert updated == "UPDATE 0"
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with as_request_role.transaction():
            await as_request_role.execute(
                "update vg.finance_entries set amount = 1 where id = $1", entry_id
            )


async def test_only_the_city_sets_its_threshold_and_adds_subjects(gql):
    for phone in (TOWN_OFFICIAL, VILLAGE_CADRE, ANALYST):
        error = await gql.error(RULES, {"city": CITY, "t": "1.00"}, as_=phone)
        assert error["extensions"]["code"] == "FORBIDDEN", phone
    add = """mutation($input: AccountSubjectInput!) {
        addAccountSubject(input: $input) { code name class direction parentCode city } }"""
    subject = {"city": CITY, "code": "5520901", "name": "防汛抢险支出", "parent": "其他支出"}
    error = await gql.error(add, {"input": subject}, as_=TOWN_OFFICIAL)
    assert error["extensions"]["code"] == "FORBIDDEN"
    added = (await gql.data(add, {"input": subject}, as_=CITY_OFFICIAL))["addAccountSubject"]
    assert added == {
        "code": "5520901",
        "name": "防汛抢险支出",
        "class": "PROFIT_AND_LOSS",
        "direction": "EXPENSE",
        "parentCode": "552",
        "city": CITY,
    }
    booked = await gql.data(
        RECORD, entry(VILLAGE, "12.00", category="防汛抢险支出"), as_=VILLAGE_CADRE
    )
    assert booked["recordFinanceEntry"]["subjectCode"] == "5520901"
    chart = (
        await gql.data("query($u: ID) { accountSubjects(unit: $u) { code name } }", {"u": VILLAGE})
    )["accountSubjects"]
    assert {"code": "101", "name": "现金"} in chart and {
        "code": "5520901",
        "name": "防汛抢险支出",
    } in chart
    national = (await gql.data("{ accountSubjects { code } }"))["accountSubjects"]
    assert "5520901" not in {s["code"] for s in national}


async def test_demo_and_migrated_categories_are_all_on_the_chart(owner_pool):
    off_chart = await owner_pool.fetchval(
        """select count(*) from vg.finance_entries
            where not vg.finance_subject(village_code, direction, subject_code, category)"""
    )
    assert off_chart == 0
    budgets_off = await owner_pool.fetchval(
        """select count(*) from vg.finance_budgets
            where not vg.finance_subject(village_code, direction, null, category)"""
    )
    assert budgets_off == 0


async def test_budget_against_actual_on_dashboards_at_every_tier(gql):
    query = """query($u: ID!) { dashboard(unit: $u, from: "2026-01", to: "2026-12") {
        income expense budgetIncome budgetExpense
        children { unit { code } budgetIncome budgetExpense } } }"""
    for unit, phone in ((CITY, CITY_OFFICIAL), (WUMA, TOWN_OFFICIAL), (VILLAGE, VILLAGE_CADRE)):
        board = (await gql.data(query, {"u": unit}, as_=phone))["dashboard"]
        assert Decimal(board["budgetIncome"]) > 0 and Decimal(board["budgetExpense"]) > 0, unit
        if board["children"]:
            assert Decimal(board["budgetExpense"]) == sum(
                Decimal(c["budgetExpense"]) for c in board["children"]
            )
    village = (await gql.data(query, {"u": VILLAGE}, as_=VILLAGE_CADRE))["dashboard"]
    budget = (
        await gql.data(
            """query($v: ID!) { finance(village: $v, from: "2026-01", to: "2026-12") {
                budget { direction budget } } }""",
            {"v": VILLAGE},
            as_=VILLAGE_CADRE,
        )
    )["finance"]["budget"]
    assert Decimal(village["budgetExpense"]) == sum(
        Decimal(b["budget"] or 0) for b in budget if b["direction"] == "EXPENSE"
    )


async def test_budgets_are_an_analytics_measure(gql):
    query = """query($m: AnalyticsMeasure!) { analytics(measure: $m, unit: "330302006000",
        by: [CATEGORY], from: "2026-01", to: "2026-12") { groups { category value } } }"""
    budget = (await gql.data(query, {"m": "FINANCE_BUDGET_EXPENSE"}, as_=ANALYST))["analytics"]
    actual = (await gql.data(query, {"m": "FINANCE_EXPENSE"}, as_=ANALYST))["analytics"]
    planned = {g["category"]: Decimal(g["value"]) for g in budget["groups"]}
    assert planned and all(value > 0 for value in planned.values())
    assert set(planned) <= {g["category"] for g in actual["groups"]}
