"""Finance disclosure (财务公开): types, inputs and root fields for entries, approvals,
budgets, reports, the chart of accounts (会计科目) and each city's approval threshold.

Villagers-only: the village's members and staff above it read (members: booked entries
only); RLS enforces it, and the checks here only turn "nothing visible" into a clear
FORBIDDEN and bad input into BAD_USER_INPUT before the database would refuse it.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Annotated

import strawberry

from villagegraph import resolvers
from villagegraph.errors import BadUserInput, Conflict, Forbidden, NotFound
from villagegraph.models.finance import AccountSubject as AccountSubjectRow
from villagegraph.resolvers.finance import FinanceEntryWithReversal
from villagegraph.resolvers.inspections import record_inspection
from villagegraph.schema.context import Info
from villagegraph.schema.guards import authorize, require_caller, village_writer
from villagegraph.schema.hierarchy import OrgUnit, load_unit
from villagegraph.schema.inputs import division_code, past_month, record_id, text
from villagegraph.tenants.hierarchy import Level, level_of
from villagegraph.tenants.principal import Principal

_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
_SUBJECT_CODE = re.compile(r"^[0-9]{4,9}$")
MAX_AMOUNT = Decimal("999999999999.99")
CITY_WIDTH = 100_000_000


@strawberry.enum
class Direction(Enum):
    INCOME = "INCOME"
    EXPENSE = "EXPENSE"


@strawberry.enum(description="Where an entry stands: only BOOKED entries count and are disclosed.")
class FinanceEntryStatus(Enum):
    PENDING = "PENDING"  # above the city's threshold, awaiting a second cadre (小微权力清单)
    BOOKED = "BOOKED"
    REJECTED = "REJECTED"


@strawberry.type(
    description="会计科目: a subject of 《村集体经济组织会计制度》 (财会〔2004〕12号), or a city's "
    "own detail subject under one. Entries and budgets are booked to 损益类 subjects."
)
class AccountSubject:
    code: str
    name: str
    subject_class: str = strawberry.field(
        name="class", description="ASSET, LIABILITY, EQUITY, COST or PROFIT_AND_LOSS."
    )
    direction: Direction | None = strawberry.field(
        description="INCOME or EXPENSE for 损益类 subjects; null for balance-sheet ones."
    )
    parent_code: str | None = strawberry.field(description="The subject a detail one is under.")
    city: strawberry.ID | None = strawberry.field(
        description="The city that added it; null for the national chart."
    )

    @classmethod
    def from_row(cls, row: AccountSubjectRow) -> AccountSubject:
        return cls(
            code=row.code,
            name=row.name,
            subject_class=row.class_,
            direction=Direction(row.direction) if row.direction else None,
            parent_code=row.parent_code,
            city=strawberry.ID(str(row.city_code)) if row.city_code else None,
        )


@strawberry.type(description="A city's finance rules (小微权力清单).")
class FinanceRules:
    city: strawberry.ID
    approval_threshold: Decimal | None = strawberry.field(
        description="An expense above this needs a second cadre of the village before it is "
        "booked; null: no threshold."
    )


@strawberry.type(description="One line of the village accounts; never edited, only reversed.")
class FinanceEntry:
    id: strawberry.ID
    period: str = strawberry.field(description="The month it belongs to, 'YYYY-MM'.")
    direction: Direction
    category: str = strawberry.field(description="The chart subject's name (会计科目).")
    subject_code: str = strawberry.field(description="The chart subject's code, e.g. 551.")
    amount: Decimal = strawberry.field(description="Negative on a reversing entry.")
    memo: str | None
    voucher_no: str | None
    reverses: strawberry.ID | None = strawberry.field(
        description="The entry this one corrects, on a reversing entry."
    )
    reversed: bool = strawberry.field(description="Whether a later entry reverses this one.")
    recorded_at: datetime
    status: FinanceEntryStatus
    decided_at: datetime | None = strawberry.field(
        description="When a second cadre booked or rejected it (pending entries only)."
    )
    decision_reason: str | None
    village_code: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: FinanceEntryWithReversal) -> FinanceEntry:
        return cls(
            id=strawberry.ID(str(row.id)),
            period=row.period,
            direction=Direction(row.direction),
            category=row.category,
            subject_code=row.subject_code,
            amount=row.amount,
            memo=row.memo,
            voucher_no=row.voucher_no,
            reverses=strawberry.ID(str(row.reverses_id)) if row.reverses_id else None,
            reversed=row.reversed,
            recorded_at=row.recorded_at,
            status=FinanceEntryStatus(row.status),
            decided_at=row.decided_at,
            decision_reason=row.decision_reason,
            village_code=row.village_code,
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
    entries: list[FinanceEntry] = strawberry.field(
        description="Every entry the caller may read; staff also see PENDING and REJECTED ones."
    )
    totals: FinanceTotals = strawberry.field(description="Booked entries only.")
    by_period: list[FinancePeriod]
    by_category: list[FinanceCategory]
    budget: list[BudgetLine] = strawberry.field(
        description="Budgets of the years the report covers, with each year's actual."
    )


@strawberry.input
class FinanceEntryInput:
    village: strawberry.ID
    period: str = strawberry.field(description="'YYYY-MM', not after the current month.")
    direction: Direction
    category: str = strawberry.field(
        description="A 损益类 subject of the chart of accounts of the direction, by code "
        "(551) or name (管理费用); accountSubjects lists them."
    )
    amount: Decimal
    memo: str | None = None
    voucher_no: str | None = None


@strawberry.input
class AccountSubjectInput:
    city: strawberry.ID
    code: str = strawberry.field(description="4-9 digits beginning with the parent's code.")
    name: str
    parent: str = strawberry.field(description="The 损益类 subject it details, by code or name.")


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


def city_of(code: int) -> int:
    return code - code % CITY_WIDTH


async def chart_subject(info: Info, village: int, direction: str, value: str) -> AccountSubjectRow:
    """The chart subject a category names (code or name) for a village and direction;
    BAD_USER_INPUT naming the valid ones otherwise (free text is not a category)."""
    wanted = text(value, "category", max_length=50)
    chart = await resolvers.finance.subjects(info.context.db, city_of(village))
    usable = [s for s in chart if s.direction == direction]
    for subject in usable:
        if wanted in (subject.code, subject.name):
            return subject
    valid = "、".join(f"{s.code} {s.name}" for s in usable)
    article = "an income" if direction == "INCOME" else "an expense"
    raise BadUserInput(
        f"`category` must be {article} subject of the chart of accounts "
        f"(村集体经济组织会计制度): {valid}.",
        argument="category",
    )


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
            {int(b[:4]) for b in (since, until) if b} | {int(r.period[:4]) for r in rows}
        )
        if since and until:
            years = list(range(max(int(since[:4]), 2000), min(int(until[:4]), 2100) + 1))
        budget = await resolvers.finance.budget_lines(db, code, years) if years else []
        total = next((s for s in sums if s.by == "total"), None)
        income = total.income if total else Decimal("0.00")
        expense = total.expense if total else Decimal("0.00")
        return FinanceReport(
            entries=[FinanceEntry.from_row(r) for r in rows],
            totals=FinanceTotals(income=income, expense=expense, balance=income - expense),
            by_period=[
                FinancePeriod(
                    period=s.period,
                    income=s.income,
                    expense=s.expense,
                    balance=s.income - s.expense,
                )
                for s in sums
                if s.by == "period" and s.period is not None
            ],
            by_category=[
                FinanceCategory(
                    direction=Direction(s.direction),
                    category=s.category,
                    amount=s.income + s.expense,
                )
                for s in sums
                if s.by == "category" and s.category is not None
            ],
            budget=[
                BudgetLine(
                    year=b.year,
                    direction=Direction(b.direction),
                    category=b.category,
                    budget=b.budget,
                    actual=b.actual,
                )
                for b in budget
            ],
        )

    @strawberry.field(
        description="The chart of accounts (会计科目) in force for a unit's city: the national "
        "subjects of 村集体经济组织会计制度 and the city's own detail subjects; public."
    )
    async def account_subjects(
        self, info: Info, unit: strawberry.ID | None = None, direction: Direction | None = None
    ) -> list[AccountSubject]:
        city = city_of(division_code(unit)) if unit is not None else None
        rows = await resolvers.finance.subjects(info.context.db, city)
        return [
            AccountSubject.from_row(r)
            for r in rows
            if direction is None or r.direction == direction.value
        ]

    @strawberry.field(description="A city's finance rules; null when not visible to the caller.")
    async def finance_rules(self, info: Info, city: strawberry.ID) -> FinanceRules | None:
        code = city_of(division_code(city, "city"))
        principal = await require_caller(info, "read finance rules")
        if not principal.can_read_subtree(code) and not any(
            city_of(g.unit) == code for g in principal.grants
        ):
            return None
        row = await resolvers.finance.finance_rule(info.context.db, code)
        threshold = row.approval_threshold if row else None
        return FinanceRules(city=strawberry.ID(str(code)), approval_threshold=threshold)


@strawberry.type
class FinanceMutation:
    @strawberry.mutation(description="Record an income or expense entry of a village.")
    async def record_finance_entry(self, info: Info, input: FinanceEntryInput) -> FinanceEntry:
        code = division_code(input.village, "village")
        period = past_month(input.period)
        amount = money(input.amount)
        memo = text(input.memo, "memo", max_length=500, required=False) if input.memo else None
        voucher = (
            text(input.voucher_no, "voucherNo", max_length=50, required=False)
            if input.voucher_no
            else None
        )
        principal = await village_writer(info, code, "record finance entries")
        subject = await chart_subject(info, code, input.direction.value, input.category)
        row = await resolvers.finance.record_entry(
            info.context.db,
            code,
            period,
            input.direction.value,
            subject,
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
        await village_writer(info, original.village_code, "reverse finance entries")
        if original.reverses_id is not None:
            raise Conflict("A reversing entry cannot itself be reversed; record a new entry.")
        if original.reversed:
            raise Conflict("This entry has already been reversed.")
        if original.status != "BOOKED":
            raise Conflict(
                "Only a booked entry is reversed; a pending one is approved or rejected."
            )
        row = await resolvers.finance.reverse_entry(
            info.context.db, original, reason, principal.account_id
        )
        return FinanceEntry.from_row(row)

    @strawberry.mutation(description="Set a year's budget for a category (a new revision).")
    async def set_budget(self, info: Info, input: SetBudgetInput) -> BudgetLine:
        code = division_code(input.village, "village")
        if not 2000 <= input.year <= 2100:
            raise BadUserInput("`year` must be between 2000 and 2100.", argument="year")
        amount = money(input.amount)
        principal = await village_writer(info, code, "set budgets")
        category = (await chart_subject(info, code, input.direction.value, input.category)).name
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
            b for b in lines if (b.direction, b.category) == (input.direction.value, category)
        )
        return BudgetLine(
            year=line.year,
            direction=Direction(line.direction),
            category=line.category,
            budget=line.budget,
            actual=line.actual,
        )

    @strawberry.mutation(
        description="A second cadre of the village books a PENDING expense (小微权力清单); "
        "the one who recorded it cannot."
    )
    async def approve_finance_entry(self, info: Info, id: strawberry.ID) -> FinanceEntry:
        return await _decide(info, id, approve=True, reason=None)

    @strawberry.mutation(
        description="A second cadre of the village rejects a PENDING expense, with a reason; "
        "it stays on record, never counted."
    )
    async def reject_finance_entry(
        self, info: Info, id: strawberry.ID, reason: str
    ) -> FinanceEntry:
        return await _decide(info, id, approve=False, reason=text(reason, "reason", max_length=500))

    @strawberry.mutation(
        description="A city's own officials set its approval threshold (null: none); audited."
    )
    async def set_finance_rules(
        self, info: Info, city: strawberry.ID, approval_threshold: Decimal | None = None
    ) -> FinanceRules:
        code = await _require_city_official(info, city, "set finance rules")
        threshold = money(approval_threshold, "approvalThreshold") if approval_threshold else None
        principal = await require_caller(info, "set finance rules")
        row = await resolvers.finance.set_finance_rule(
            info.context.db, code, threshold, principal.account_id
        )
        return FinanceRules(
            city=strawberry.ID(str(code)), approval_threshold=row.approval_threshold
        )

    @strawberry.mutation(
        description="A city's own officials add a detail subject (明细科目) under a 损益类 "
        "subject of the chart; audited."
    )
    async def add_account_subject(self, info: Info, input: AccountSubjectInput) -> AccountSubject:
        city = await _require_city_official(info, input.city, "add account subjects")
        code = text(input.code, "code", max_length=9)
        name = text(input.name, "name", max_length=30)
        chart = await resolvers.finance.subjects(info.context.db, city)
        wanted = text(input.parent, "parent", max_length=30)
        parent = next((s for s in chart if s.direction and wanted in (s.code, s.name)), None)
        if parent is None:
            raise BadUserInput("`parent` must be a 损益类 subject of the chart.", argument="parent")
        if not _SUBJECT_CODE.match(code) or not code.startswith(parent.code):
            raise BadUserInput(
                f"`code` must be 4-9 digits beginning with {parent.code}.", argument="code"
            )
        if any(code == s.code or name == s.name for s in chart):
            raise Conflict("The chart already has a subject with this code or name.")
        principal = await require_caller(info, "add account subjects")
        row = await resolvers.finance.add_subject(
            info.context.db, city, code, name, parent, principal.account_id
        )
        return AccountSubject.from_row(row)


async def _require_city_official(info: Info, city: strawberry.ID, action: str) -> int:
    code = division_code(city, "city")
    if level_of(code) is not Level.CITY:
        raise BadUserInput("`city` must be a city.", argument="city")
    await authorize(
        info,
        Principal.can_write,
        code,
        refusal="Only the city's own officials may do this.",
        action=action,
    )
    return code


async def _decide(info: Info, id: strawberry.ID, approve: bool, reason: str | None) -> FinanceEntry:
    entry_id = record_id(id)
    principal = await require_caller(info, "approve finance entries")
    original = await resolvers.finance.entry(info.context.db, entry_id)
    if original is None:
        raise NotFound("No such finance entry, or it is not yours to see.")
    if original.status != "PENDING":
        raise Conflict("This entry is not awaiting approval.")
    await authorize(
        info,
        Principal.is_cadre_of,
        original.village_code,
        refusal="Only a cadre of the village decides its pending expenses.",
    )
    if original.recorded_by == principal.account_id:
        raise Forbidden("A second cadre must decide: not the one who recorded the entry.")
    row = await resolvers.finance.decide_entry(info.context.db, original, approve, reason)
    if row is None:
        raise Conflict("This entry was decided meanwhile.")
    return FinanceEntry.from_row(row)
