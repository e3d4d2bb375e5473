"""Scale data of finance: monthly entries on six subjects of the national chart of accounts
(0020_accounts_disclosures) with reversals, and budgets."""

from __future__ import annotations

from villagegraph.models import into
from villagegraph.models.finance import FinanceBudget, FinanceEntry
from villagegraph.seed.scale.core import ScaleRun, chunked, sql_array, sql_hash

# Tables whose id sequence continues after the generated ids (finish_domains).
SEQUENCES = ("finance_entries", "finance_budgets")


MONTHS = 24  # finance: Nov 2024 to Oct 2026


INCOME = ("经营收入", "补助收入", "发包及上交收入")


EXPENSE = ("经营支出", "管理费用", "其他支出")

SUBJECT_CODES = ("501", "522", "511", "502", "551", "552")


async def generate_finance(run: ScaleRun) -> None:
    """Six categories a month for two years per village, one entry in 40 reversed, and
    yearly budgets."""
    categories = INCOME + EXPENSE
    per_village = MONTHS * len(categories)
    entries = await run.conn.fetchval("select count(*) from scale_villages") * per_village
    n = f"(v.ordinal * {per_village} + m * {len(categories)} + k)"
    h = sql_hash(n, 61)
    await chunked(
        run,
        "finance entries",
        f"""insert into {into(FinanceEntry.village_code, FinanceEntry.id, FinanceEntry.period, FinanceEntry.direction, FinanceEntry.category, FinanceEntry.subject_code, FinanceEntry.amount, FinanceEntry.memo, FinanceEntry.voucher_no, FinanceEntry.reverses_id, FinanceEntry.recorded_by, FinanceEntry.recorded_at)}
            select v.code, {n} + 1,
                   to_char(date '2024-11-01' + make_interval(months => m), 'YYYY-MM'),
                   case when k < {len(INCOME)} then 'INCOME' else 'EXPENSE' end,
                   ({sql_array(categories)})[k + 1], ({sql_array(SUBJECT_CODES)})[k + 1],
                   (1000 + {h} % 80000 + ({h} / 80000 % 100) / 100.0)::numeric(14, 2),
                   ({sql_array(categories)})[k + 1] || '（' ||
                     to_char(date '2024-11-01' + make_interval(months => m), 'YYYY年MM月') || '）',
                   'PZ' || to_char(date '2024-11-01' + make_interval(months => m), 'YYYYMM')
                     || '-' || lpad((k + 1)::text, 3, '0'),
                   null, s.account_id,
                   timestamptz '2024-12-03 09:00+08' + make_interval(months => m)
                     + ({h} % 20000) * interval '1 second'
              from scale_villages v
              join scale_staff s on s.code = v.code
              cross join generate_series(0, {MONTHS - 1}) m
              cross join generate_series(0, {len(categories) - 1}) k
             where v.ordinal between $1 and $2""",
    )
    await chunked(
        run,
        "finance reversals",
        f"""insert into {into(FinanceEntry.village_code, FinanceEntry.id, FinanceEntry.period, FinanceEntry.direction, FinanceEntry.category, FinanceEntry.subject_code, FinanceEntry.amount, FinanceEntry.memo, FinanceEntry.voucher_no, FinanceEntry.reverses_id, FinanceEntry.recorded_by, FinanceEntry.recorded_at)}
            select e.village_code, {entries} + e.id, e.period, e.direction, e.category,
                   e.subject_code,
                   -e.amount, '冲销：' || e.voucher_no || ' 金额有误', e.voucher_no || '-冲',
                   e.id, e.recorded_by, e.recorded_at + interval '2 days'
              from scale_villages v
              join vg.finance_entries e on e.village_code = v.code
             where v.ordinal between $1 and $2 and {sql_hash("e.id", 71)} % 40 = 0""",
    )
    await run.conn.execute(
        f"""insert into {into(FinanceBudget.village_code, FinanceBudget.id, FinanceBudget.year, FinanceBudget.direction, FinanceBudget.category, FinanceBudget.amount, FinanceBudget.set_by, FinanceBudget.set_at)}
            select v.code, v.ordinal * {2 * len(categories)} + y * {len(categories)} + k + 1,
                   2025 + y, case when k < {len(INCOME)} then 'INCOME' else 'EXPENSE' end,
                   ({sql_array(categories)})[k + 1],
                   (12 * (20000 + {sql_hash("v.ordinal * 12 + y * 6 + k", 73)} % 40000))::numeric,
                   s.account_id, make_timestamptz(2024 + y, 12, 20, 9, 0, 0, 'Asia/Shanghai')
              from scale_villages v
              join scale_staff s on s.code = v.code
              cross join generate_series(0, 1) y
              cross join generate_series(0, {len(categories) - 1}) k"""
    )
