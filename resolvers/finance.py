"""Finance disclosure (财务公开): entries, reversing entries, approvals, budgets, the chart
of accounts (会计科目) and the report's sums.

Entries are append-only (the request role updates only a pending entry's decision); a
correction is a reversing entry. Only BOOKED entries count in any sum: a PENDING expense
(above the city's threshold, awaiting a second cadre) or a REJECTED one is shown to staff
but neither totalled nor disclosed. Totals, per-period and per-category sums are computed in
SQL. Who may read a village's finance is decided by RLS, never here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from asyncpg import Record

from villagegraph.models import from_record, from_records
from villagegraph.models.finance import (
    AccountSubject,
    FinanceBudget,
    FinanceEntryBase,
    FinanceRule,
)
from villagegraph.resolvers.measure import Measure
from villagegraph.tenants.session import ScopedSession

ENTRY_COLUMNS = (
    "e.id, e.village_code, e.period, e.direction, e.category, e.amount, e.memo, e.voucher_no, "
    "e.reverses_id, e.recorded_by, e.recorded_at, e.subject_code, e.status, e.decided_by, "
    "e.decided_at, "
    "e.decision_reason, "
    "exists (select 1 from vg.finance_entries r where r.village_code = e.village_code "
    "and r.reverses_id = e.id) as reversed"
)


class FinanceEntryWithReversal(FinanceEntryBase):
    """An entry as ENTRY_COLUMNS reads it: its columns and whether a later entry reverses it."""

    reversed: bool


class FinanceSum(NamedTuple):
    """A row of sums(): income and expense of one (period) or (category, direction) group,
    or of all (`by` is 'period', 'category' or 'total'; the other keys are None)."""

    by: str
    period: str | None
    category: str | None
    direction: str | None
    income: Decimal
    expense: Decimal


class BudgetAndActual(NamedTuple):
    """A row of budget_lines(): the budget in force (None: none set) and the actual amount."""

    year: int
    direction: str
    category: str
    budget: Decimal | None
    actual: Decimal


async def record_entry(
    db: ScopedSession,
    village: int,
    period: str,
    direction: str,
    subject: AccountSubject,
    amount: Decimal,
    memo: str | None,
    voucher_no: str | None,
    account_id: int,
) -> FinanceEntryWithReversal:
    """Record an entry under a chart subject; the database decides whether it is PENDING."""
    record = await db.fetchrow(
        f"""insert into vg.finance_entries as e
                (village_code, period, direction, category, subject_code, amount, memo,
                 voucher_no, recorded_by)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            returning {ENTRY_COLUMNS}""",
        village,
        period,
        direction,
        subject.name,
        subject.code,
        amount,
        memo,
        voucher_no,
        account_id,
    )
    assert record is not None
    row = from_record(FinanceEntryWithReversal, record)
    await db.audit(
        "finance.record",
        village,
        "finance_entry",
        row.id,
        {
            "period": period,
            "direction": direction,
            "category": subject.name,
            "subject": subject.code,
            "amount": amount,
            "status": row.status,
        },
    )
    return row


async def decide_entry(
    db: ScopedSession, entry: FinanceEntryBase, approve: bool, reason: str | None
) -> FinanceEntryWithReversal | None:
    """Book or reject a pending entry (a second cadre of the village; RLS and the trigger
    decide who may); None when this caller may not decide it."""
    status = "BOOKED" if approve else "REJECTED"
    row = await db.fetchrow(
        f"""update vg.finance_entries as e set status = $3, decision_reason = $4
             where e.village_code = $1 and e.id = $2 and e.status = 'PENDING'
            returning {ENTRY_COLUMNS}""",
        entry.village_code,
        entry.id,
        status,
        reason,
    )
    if row is None:
        return None
    await db.audit(
        "finance.approve" if approve else "finance.reject",
        entry.village_code,
        "finance_entry",
        entry.id,
        {"status": status, "amount": entry.amount, "reason": reason},
    )
    return from_record(FinanceEntryWithReversal, row)


SUBJECT_COLUMNS = "s.city_code, s.code, s.name, s.class, s.direction, s.parent_code"


def _subject(record: Record) -> AccountSubject:
    """A row of SUBJECT_COLUMNS: the model calls the column `class` class_."""
    values = dict(record)
    values["class_"] = values.pop("class")
    return from_record(AccountSubject, values)


async def subjects(db: ScopedSession, city: int | None) -> list[AccountSubject]:
    """The national chart and, given a city, its own detail subjects, in code order."""
    rows = await db.fetch(
        f"""select {SUBJECT_COLUMNS} from vg.account_subjects s
             where s.city_code is null or s.city_code = $1
             order by s.code, s.city_code nulls first""",
        city,
    )
    return [_subject(row) for row in rows]


async def add_subject(
    db: ScopedSession, city: int, code: str, name: str, parent: AccountSubject, account_id: int
) -> AccountSubject:
    row = await db.fetchrow(
        f"""insert into vg.account_subjects as s
                (city_code, code, name, class, direction, parent_code, added_by)
            values ($1, $2, $3, $4, $5, $6, $7)
            returning {SUBJECT_COLUMNS}""",
        city,
        code,
        name,
        parent.class_,
        parent.direction,
        parent.code,
        account_id,
    )
    assert row is not None
    await db.audit(
        "finance.subject", city, "account_subject", code, {"name": name, "parent": parent.code}
    )
    return _subject(row)


async def finance_rule(db: ScopedSession, city: int) -> FinanceRule | None:
    """The city's rule (city_code, approval_threshold), or None."""
    row = await db.fetchrow(
        "select city_code, approval_threshold from vg.finance_rules where city_code = $1", city
    )
    return None if row is None else from_record(FinanceRule, row)


async def set_finance_rule(
    db: ScopedSession, city: int, threshold: Decimal | None, account_id: int
) -> FinanceRule:
    row = await db.fetchrow(
        """insert into vg.finance_rules as r (city_code, approval_threshold, set_by)
           values ($1, $2, $3)
           on conflict (city_code) do update
              set approval_threshold = excluded.approval_threshold, set_by = excluded.set_by
           returning city_code, approval_threshold""",
        city,
        threshold,
        account_id,
    )
    assert row is not None
    await db.audit("finance.rules", city, "finance_rules", city, {"approval_threshold": threshold})
    return from_record(FinanceRule, row)


async def reverse_entry(
    db: ScopedSession, original: FinanceEntryBase, memo: str, account_id: int
) -> FinanceEntryWithReversal:
    """Book the negated entry in the original's period; the unique index allows one."""
    record = await db.fetchrow(
        f"""insert into vg.finance_entries as e
                (village_code, period, direction, category, subject_code, amount, memo,
                 voucher_no, reverses_id, recorded_by)
            values ($1, $2, $3, $4, $10, -$5::numeric, $6, $7, $8, $9)
            returning {ENTRY_COLUMNS}""",
        original.village_code,
        original.period,
        original.direction,
        original.category,
        original.amount,
        memo,
        original.voucher_no,
        original.id,
        account_id,
        original.subject_code,
    )
    assert record is not None
    row = from_record(FinanceEntryWithReversal, record)
    await db.audit(
        "finance.reverse",
        original.village_code,
        "finance_entry",
        row.id,
        {"reverses": original.id, "amount": -original.amount, "memo": memo},
    )
    return row


async def entry(db: ScopedSession, entry_id: int) -> FinanceEntryWithReversal | None:
    row = await db.fetchrow(
        f"select {ENTRY_COLUMNS} from vg.finance_entries e where e.id = $1", entry_id
    )
    return None if row is None else from_record(FinanceEntryWithReversal, row)


async def set_budget(
    db: ScopedSession,
    village: int,
    year: int,
    direction: str,
    category: str,
    amount: Decimal,
    account_id: int,
) -> FinanceBudget:
    """The new budget revision (village_code, year, direction, category, amount)."""
    row = await db.fetchrow(
        """insert into vg.finance_budgets (village_code, year, direction, category, amount, set_by)
           values ($1, $2, $3, $4, $5, $6)
           returning village_code, year, direction, category, amount""",
        village,
        year,
        direction,
        category,
        amount,
        account_id,
    )
    assert row is not None
    await db.audit(
        "finance.budget",
        village,
        "finance_budget",
        f"{year}/{direction}/{category}",
        {"amount": amount},
    )
    return from_record(FinanceBudget, row)


async def entries(
    db: ScopedSession, village: int, since: str | None, until: str | None
) -> list[FinanceEntryWithReversal]:
    rows = await db.fetch(
        f"""select {ENTRY_COLUMNS} from vg.finance_entries e
             where e.village_code = $1
               and ($2::text is null or e.period >= $2) and ($3::text is null or e.period <= $3)
             order by e.period, e.id""",
        village,
        since,
        until,
    )
    return from_records(FinanceEntryWithReversal, rows)


async def sums(
    db: ScopedSession, village: int, since: str | None, until: str | None
) -> list[FinanceSum]:
    """Booked income and expense by (period, category) with subtotals per period, per
    category and overall, in one statement; `by` says which grouping a row belongs to."""
    rows = await db.fetch(
        """select case
                      when grouping(period) = 1 and grouping(category) = 1 then 'total'
                      when grouping(category) = 1 then 'period'
                      else 'category'
                  end as by,
                  period, category, direction,
                  coalesce(sum(amount) filter (where direction = 'INCOME'), 0.00) as income,
                  coalesce(sum(amount) filter (where direction = 'EXPENSE'), 0.00) as expense
             from vg.finance_entries
            where village_code = $1 and status = 'BOOKED'
              and ($2::text is null or period >= $2) and ($3::text is null or period <= $3)
            group by grouping sets ((), (period), (category, direction))
            order by by, period, category, direction""",
        village,
        since,
        until,
    )
    return [FinanceSum(**row) for row in rows]


async def budget_lines(db: ScopedSession, village: int, years: list[int]) -> list[BudgetAndActual]:
    """The budget in force per (year, direction, category) with the year's actual amount."""
    rows = await db.fetch(
        """with budget as (
               select distinct on (year, direction, category) year, direction, category, amount
                 from vg.finance_budgets
                where village_code = $1 and year = any ($2::int[])
                order by year, direction, category, id desc
           ), actual as (
               select left(period, 4)::int as year, direction, category, sum(amount) as amount
                 from vg.finance_entries
                where village_code = $1 and status = 'BOOKED'
                  and left(period, 4)::int = any ($2::int[])
                group by 1, 2, 3
           )
           select coalesce(b.year, a.year) as year,
                  coalesce(b.direction, a.direction) as direction,
                  coalesce(b.category, a.category) as category,
                  b.amount as budget, coalesce(a.amount, 0) as actual
             from budget b full join actual a using (year, direction, category)
            order by 1, 2, 3""",
        village,
        years,
    )
    return [BudgetAndActual(**row) for row in rows]


# --- analytics measures (resolvers/analytics.py) ---------------------------------------

FINANCE_INCOME = Measure(
    name="FINANCE_INCOME",
    description="Income booked (reversals net out; pending and rejected entries do not"
    " count), by village and period; category: the entry's chart subject.",
    source="(select * from vg.finance_entries where status = 'BOOKED') f",
    tenant="f.village_code",
    time="((f.period || '-01')::timestamp at time zone 'Asia/Shanghai')",
    category="f.category",
    value="coalesce(sum(f.amount) filter (where f.direction = 'INCOME'), 0)",
    integral=False,
)


FINANCE_EXPENSE = Measure(
    name="FINANCE_EXPENSE",
    description="Expense booked (reversals net out; pending and rejected entries do not"
    " count), by village and period; category: the entry's chart subject.",
    source="(select * from vg.finance_entries where status = 'BOOKED') f",
    tenant="f.village_code",
    time="((f.period || '-01')::timestamp at time zone 'Asia/Shanghai')",
    category="f.category",
    value="coalesce(sum(f.amount) filter (where f.direction = 'EXPENSE'), 0)",
    integral=False,
)


def _budgets_in_force(direction: str) -> str:
    """The budget lines in force of a direction: the latest revision of each (village, year,
    category)."""
    return f"""(select distinct on (village_code, year, category)
                       village_code, year, category, amount
                  from vg.finance_budgets where direction = '{direction}'
                 order by village_code, year, category, id desc) b"""


FINANCE_BUDGET_INCOME = Measure(
    name="FINANCE_BUDGET_INCOME",
    description="Budgeted income (the latest revision of each line), by village and budget"
    " year (its first month); category: the line's chart subject. Compare FINANCE_INCOME.",
    source=_budgets_in_force("INCOME"),
    tenant="b.village_code",
    time="(make_date(b.year, 1, 1)::timestamp at time zone 'Asia/Shanghai')",
    category="b.category",
    value="coalesce(sum(b.amount), 0)",
)


FINANCE_BUDGET_EXPENSE = Measure(
    name="FINANCE_BUDGET_EXPENSE",
    description="Budgeted expense (the latest revision of each line), by village and budget"
    " year (its first month); category: the line's chart subject. Compare FINANCE_EXPENSE.",
    source=_budgets_in_force("EXPENSE"),
    tenant="b.village_code",
    time="(make_date(b.year, 1, 1)::timestamp at time zone 'Asia/Shanghai')",
    category="b.category",
    value="coalesce(sum(b.amount), 0)",
)
