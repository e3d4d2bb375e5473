"""Finance disclosure (财务公开): types, inputs and root fields for entries, budgets, reports.

Villagers-only: the village's members and staff above it read; RLS enforces it, and the
checks here only turn "nothing visible" into a clear FORBIDDEN.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Annotated, Any

import strawberry

from villagegraph import resolvers
from villagegraph.errors import BadUserInput, Conflict, NotFound
from villagegraph.resolvers.inspections import record_inspection
from villagegraph.schema.context import Info
from villagegraph.schema.guards import authorize, require_caller, village_writer
from villagegraph.schema.hierarchy import OrgUnit, load_unit
from villagegraph.schema.inputs import division_code, record_id, text
from villagegraph.tenants.principal import Principal

_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
MAX_AMOUNT = Decimal("999999999999.99")


@strawberry.enum
class Direction(Enum):
    INCOME = "INCOME"
    EXPENSE = "EXPENSE"


@strawberry.type(description="One line of the village accounts; never edited, only reversed.")
class FinanceEntry:
    id: strawberry.ID
    period: str = strawberry.field(description="The month it belongs to, 'YYYY-MM'.")
    direction: Direction
    category: str
    amount: Decimal = strawberry.field(description="Negative on a reversing entry.")
    memo: str | None
    voucher_no: str | None
    reverses: strawberry.ID | None = strawberry.field(
        description="The entry this one corrects, on a reversing entry."
    )
    reversed: bool = strawberry.field(description="Whether a later entry reverses this one.")
    recorded_at: datetime
    village_code: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Any) -> FinanceEntry:
        return cls(
            id=strawberry.ID(str(row["id"])),
            period=row["period"],
            direction=Direction(row["direction"]),
            category=row["category"],
            amount=row["amount"],
            memo=row["memo"],
            voucher_no=row["voucher_no"],
            reverses=strawberry.ID(str(row["reverses_id"])) if row["reverses_id"] else None,
            reversed=row["reversed"],
            recorded_at=row["recorded_at"],
            village_code=row["village_code"],
        )

    @strawberry.field
    async def village(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.village_code)
        assert unit is not None
        return unit


@strawberry.type
class FinanceTotals:
    income: Decimal
    expense: Decimal
    balance: Decimal


@strawberry.type
class FinancePeriod:
    period: str
    income: Decimal
    expense: Decimal
    balance: Decimal


@strawberry.type
class FinanceCategory:
    direction: Direction
    category: str
    amount: Decimal


@strawberry.type(description="Budget against actual for a year's category.")
class BudgetLine:
    year: int
    direction: Direction
    category: str
    budget: Decimal | None
    actual: Decimal


@strawberry.type
class FinanceReport:
    entries: list[FinanceEntry]
    totals: FinanceTotals
    by_period: list[FinancePeriod]
    by_category: list[FinanceCategory]
    budget: list[BudgetLine] = strawberry.field(
        description="Budgets of the years the report covers, with each year's actual."
    )


@strawberry.input
class FinanceEntryInput:
    village: strawberry.ID
    period: str
    direction: Direction
    category: str
    amount: Decimal
    memo: str | None = None
    voucher_no: str | None = None


@strawberry.input
class SetBudgetInput:
    village: strawberry.ID
    year: int
    direction: Direction
    category: str
    amount: Decimal


def month(value: str | None, argument: str) -> str | None:
    if value is None:
        return None
    if not _MONTH.match(value.strip()):
        raise BadUserInput(f"`{argument}` must be a month 'YYYY-MM'.", argument=argument)
    return value.strip()


def money(value: Decimal, argument: str = "amount") -> Decimal:
    try:
        amount = Decimal(value).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as error:
        raise BadUserInput(f"`{argument}` is not an amount.", argument=argument) from error
    if value != amount:
        raise BadUserInput(f"`{argument}` has more than two decimals.", argument=argument)
    if amount <= 0 or amount > MAX_AMOUNT:
        raise BadUserInput(f"`{argument}` must be positive and realistic.", argument=argument)
    return amount


@strawberry.type
class FinanceQuery:
    @strawberry.field(description="财务公开 of a village: entries, totals, sums and budgets.")
    async def finance(
        self,
        info: Info,
        village: strawberry.ID,
        from_: Annotated[str | None, strawberry.argument(name="from")] = None,
        to: str | None = None,
    ) -> FinanceReport:
        code = division_code(village, "village")
        since, until = month(from_, "from"), month(to, "to")
        if since and until and since > until:
            raise BadUserInput("`from` must not be after `to`.", argument="from")
        principal = await authorize(
            info,
            Principal.may_read_village,
            code,
            action="read the village accounts",
            refusal="The village accounts are open to its villagers and officials only.",
        )
        db = info.context.db
        rows = await resolvers.finance.entries(db, code, since, until)
        await record_inspection(
            db, principal, subject="FINANCE", queried_unit=code, villages={code}
        )
        sums = await resolvers.finance.sums(db, code, since, until)
        years = sorted(
            {int(b[:4]) for b in (since, until) if b} | {int(r["period"][:4]) for r in rows}
        )
        if since and until:
            years = list(range(max(int(since[:4]), 2000), min(int(until[:4]), 2100) + 1))
        budget = await resolvers.finance.budget_lines(db, code, years) if years else []
        total = next((s for s in sums if s["by"] == "total"), None)
        income = total["income"] if total else Decimal("0.00")
        expense = total["expense"] if total else Decimal("0.00")
        return FinanceReport(
            entries=[FinanceEntry.from_row(r) for r in rows],
            totals=FinanceTotals(income=income, expense=expense, balance=income - expense),
            by_period=[
                FinancePeriod(
                    period=s["period"],
                    income=s["income"],
                    expense=s["expense"],
                    balance=s["income"] - s["expense"],
                )
                for s in sums
                if s["by"] == "period"
            ],
            by_category=[
                FinanceCategory(
                    direction=Direction(s["direction"]),
                    category=s["category"],
                    amount=s["income"] + s["expense"],
                )
                for s in sums
                if s["by"] == "category"
            ],
            budget=[
                BudgetLine(
                    year=b["year"],
                    direction=Direction(b["direction"]),
                    category=b["category"],
                    budget=b["budget"],
                    actual=b["actual"],
                )
                for b in budget
            ],
        )


@strawberry.type
class FinanceMutation:
    @strawberry.mutation(description="Record an income or expense entry of a village.")
    async def record_finance_entry(self, info: Info, input: FinanceEntryInput) -> FinanceEntry:
        code = division_code(input.village, "village")
        period = month(input.period, "period")
        assert period is not None
        amount = money(input.amount)
        category = text(input.category, "category", max_length=50)
        memo = text(input.memo, "memo", max_length=500, required=False) if input.memo else None
        voucher = (
            text(input.voucher_no, "voucherNo", max_length=50, required=False)
            if input.voucher_no
            else None
        )
        principal = await village_writer(info, code, "record finance entries")
        row = await resolvers.finance.record_entry(
            info.context.db,
            code,
            period,
            input.direction.value,
            category,
            amount,
            memo or None,
            voucher or None,
            principal.account_id,
        )
        return FinanceEntry.from_row(row)

    @strawberry.mutation(
        description="Correct an entry by booking its negation; the original stays published."
    )
    async def reverse_finance_entry(self, info: Info, id: strawberry.ID, memo: str) -> FinanceEntry:
        entry_id = record_id(id)
        reason = text(memo, "memo", max_length=500)
        principal = await require_caller(info, "reverse finance entries")
        original = await resolvers.finance.entry(info.context.db, entry_id)
        if original is None:
            raise NotFound("No such finance entry, or it is not yours to see.")
        await village_writer(info, original["village_code"], "reverse finance entries")
        if original["reverses_id"] is not None:
            raise Conflict("A reversing entry cannot itself be reversed; record a new entry.")
        if original["reversed"]:
            raise Conflict("This entry has already been reversed.")
        row = await resolvers.finance.reverse_entry(
            info.context.db, original, reason, principal.account_id
        )
        return FinanceEntry.from_row(row)

    @strawberry.mutation(description="Set a year's budget for a category (a new revision).")
    async def set_budget(self, info: Info, input: SetBudgetInput) -> BudgetLine:
        code = division_code(input.village, "village")
        if not 2000 <= input.year <= 2100:
            raise BadUserInput("`year` must be between 2000 and 2100.", argument="year")
        category = text(input.category, "category", max_length=50)
        amount = money(input.amount)
        principal = await village_writer(info, code, "set budgets")
        await resolvers.finance.set_budget(
            info.context.db,
            code,
            input.year,
            input.direction.value,
            category,
            amount,
            principal.account_id,
        )
        lines = await resolvers.finance.budget_lines(info.context.db, code, [input.year])
        line = next(
            b for b in lines if (b["direction"], b["category"]) == (input.direction.value, category)
        )
        return BudgetLine(
            year=line["year"],
            direction=Direction(line["direction"]),
            category=line["category"],
            budget=line["budget"],
            actual=line["actual"],
        )
