"""Demo data for the villagers-only affairs: twelve months of accounts on the chart of
accounts (Wenzhou's detail subjects included) and a year's budget for every demo village,
Wenzhou's approval threshold with one expense awaiting a second cadre, villagers'
representatives, open and closed consultations with ballots (closed through the same code
as the worker's), suggestions in every state.

Deterministic: dates are fixed around DEMO_NOW and choices come from the seeded `rng`.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from villagegraph.models import into
from villagegraph.models.consultations import Ballot, Consultation, ConsultationElector
from villagegraph.models.finance import AccountSubject, FinanceBudget, FinanceEntry, FinanceRule
from villagegraph.models.residents import Cadre
from villagegraph.models.suggestions import Suggestion, SuggestionReply
from villagegraph.resolvers.consultations import ELECTORS_SQL, VOTING_AGE, close
from villagegraph.seed.demo import CITY, DEMO_NOW, demo_villages

MONTHS = [f"{2025 + (11 + i) // 12}-{(11 + i) % 12 + 1:02d}" for i in range(12)]  # 2025-12..2026-11
# Wenzhou's own detail subjects (明细科目) under the national chart of 0020_accounts_disclosures.
CITY_SUBJECTS = (
    # code, name, parent
    ("501003", "租赁收入", "501"),
    ("551001", "干部报酬", "551"),
    ("551002", "办公费", "551"),
    ("552001", "基础设施维护支出", "552"),
    ("552002", "公益事业支出", "552"),
)
# (subject name, code, monthly amount)
INCOME = (("补助收入", "522", 40000), ("租赁收入", "501003", 25000), ("经营收入", "501", 15000))
EXPENSE = (
    ("干部报酬", "551001", 30000),
    ("办公费", "551002", 6000),
    ("基础设施维护支出", "552001", 20000),
    ("公益事业支出", "552002", 10000),
)
# 小微权力清单: Wenzhou's threshold; the demo village's cadre books one expense above it,
# which waits for the village's second cadre (13900000001, 县前社区 主任).
APPROVAL_THRESHOLD = Decimal("5000.00")
DEMO_VILLAGE = 330302006001
CONSULTATIONS = (
    # title, options, rule, eligibility, opens (days from DEMO_NOW), days open
    ("村道硬化工程是否实施", ["同意", "不同意"], "VILLAGERS_ASSEMBLY", "VILLAGERS", -60, 14),
    (
        "集体资产出租方案",
        ["方案一", "方案二", "均不同意"],
        "REPRESENTATIVES_MEETING",
        "REPRESENTATIVES",
        -40,
        7,
    ),
    (
        "文化礼堂开放时间",
        ["上午", "下午", "晚上"],
        "SIMPLE_MAJORITY",
        "VILLAGERS_AND_RESIDENTS",
        -3,
        240,
    ),
    ("垃圾分类积分奖励办法", ["同意", "不同意"], "VILLAGERS_ASSEMBLY", "VILLAGERS", -1, 240),
)
SUGGESTIONS = (
    ("路灯损坏", "村口路灯坏了两周，晚上出行不便，建议尽快维修。"),
    ("增设健身器材", "建议在文化广场增设一些健身器材。"),
    ("河道清理", "村前小河垃圾较多，建议组织清理。"),
    ("停车难", "村内停车位不足，建议规划停车区域。"),
    ("老年食堂", "建议开办老年食堂，方便独居老人就餐。"),
    ("快递代收点", "建议设立快递代收点。"),
)
# state, days to first answer (None: not answered)
SUGGESTION_STATES = (
    ("SUBMITTED", None),
    ("ACKNOWLEDGED", None),
    ("IN_PROGRESS", None),
    ("ANSWERED", 2),
    ("CLOSED", 5),
    ("REJECTED", None),
)


async def seed_affairs(conn: asyncpg.Connection, rng: random.Random) -> None:
    cadres = dict(
        await conn.fetch(
            """select unit_code, min(account_id) from vg.grants
                where role = 'CADRE' and revoked_at is null group by unit_code"""
        )
    )
    await conn.executemany(
        f"""insert into {into(AccountSubject.city_code, AccountSubject.code, AccountSubject.name, AccountSubject.class_, AccountSubject.direction, AccountSubject.parent_code)}
           select $1, $2, $3, p.class, p.direction, p.code
             from vg.account_subjects p where p.city_code is null and p.code = $4""",
        [(CITY, code, name, parent) for code, name, parent in CITY_SUBJECTS],
    )
    for village, _, _ in demo_villages():
        await _seed_finance(conn, rng, village, cadres[village])
        await _seed_representatives(conn, village)
        await _seed_consultations(conn, rng, village, cadres[village])
        await _seed_suggestions(conn, rng, village, cadres[village])
    await _seed_pending_expense(conn, DEMO_VILLAGE, cadres[DEMO_VILLAGE])


async def _seed_finance(
    conn: asyncpg.Connection, rng: random.Random, village: int, cadre: int
) -> None:
    records: list[tuple[object, ...]] = []
    for month in MONTHS:
        for direction, lines in (("INCOME", INCOME), ("EXPENSE", EXPENSE)):
            for category, code, monthly in lines:
                amount = Decimal(monthly * rng.uniform(0.6, 1.3)).quantize(Decimal("0.01"))
                voucher = f"{month.replace('-', '')}-{len(records) + 1:03d}"
                records.append((village, month, direction, category, code, amount, voucher, cadre))
    await conn.executemany(
        f"""insert into {into(FinanceEntry.village_code, FinanceEntry.period, FinanceEntry.direction, FinanceEntry.category, FinanceEntry.subject_code, FinanceEntry.amount, FinanceEntry.voucher_no, FinanceEntry.recorded_by, FinanceEntry.memo)}
           values ($1, $2, $3, $4, $5, $6, $7, $8, $4 || ' ' || $2)""",
        records,
    )
    # One correction per village: a mistyped expense and its reversing entry.
    wrong = await conn.fetchval(
        f"""insert into {into(FinanceEntry.village_code, FinanceEntry.period, FinanceEntry.direction, FinanceEntry.category, FinanceEntry.subject_code, FinanceEntry.amount, FinanceEntry.voucher_no, FinanceEntry.recorded_by, FinanceEntry.memo)}
           values ($1, $2, 'EXPENSE', '办公费', '551002', 9999.00, 'ERR-001', $3, '录入错误')
           returning id""",
        village,
        MONTHS[6],
        cadre,
    )
    await conn.execute(
        f"""insert into {into(FinanceEntry.village_code, FinanceEntry.period, FinanceEntry.direction, FinanceEntry.category, FinanceEntry.subject_code, FinanceEntry.amount, FinanceEntry.voucher_no, FinanceEntry.reverses_id, FinanceEntry.recorded_by, FinanceEntry.memo)}
           values ($1, $2, 'EXPENSE', '办公费', '551002', -9999.00, 'ERR-001', $3, $4,
                   '冲销录入错误')""",
        village,
        MONTHS[6],
        wrong,
        cadre,
    )
    await conn.executemany(
        f"""insert into {into(FinanceBudget.village_code, FinanceBudget.year, FinanceBudget.direction, FinanceBudget.category, FinanceBudget.amount, FinanceBudget.set_by)}
           values ($1, 2026, $2, $3, $4, $5)""",
        [
            (village, direction, category, Decimal(monthly * 12), cadre)
            for direction, lines in (("INCOME", INCOME), ("EXPENSE", EXPENSE))
            for category, _, monthly in lines
        ],
    )


async def _seed_pending_expense(conn: asyncpg.Connection, village: int, cadre: int) -> None:
    """Wenzhou's threshold, then an expense above it: the insert trigger makes it PENDING."""
    await conn.execute(
        f"insert into {into(FinanceRule.city_code, FinanceRule.approval_threshold)} values ($1, $2)",
        CITY,
        APPROVAL_THRESHOLD,
    )
    await conn.execute(
        f"""insert into {into(FinanceEntry.village_code, FinanceEntry.period, FinanceEntry.direction, FinanceEntry.category, FinanceEntry.subject_code, FinanceEntry.amount, FinanceEntry.voucher_no, FinanceEntry.recorded_by, FinanceEntry.memo)}
           values ($1, $2, 'EXPENSE', '基础设施维护支出', '552001', 18600.00, $3, $4,
                   '村道路灯更换工程款（待第二名村干部审批）')""",
        village,
        MONTHS[-1],
        f"{MONTHS[-1].replace('-', '')}-900",
        cadre,
    )


async def _seed_representatives(conn: asyncpg.Connection, village: int) -> None:
    """Representatives (村民代表, art. 25) appointed for the term from 2024: as many as the
    law allows (one per five households), each of a different household."""
    await conn.execute(
        f"""with households as (
                select count(distinct coalesce(household_no, id::text)) as n
                  from vg.residents where village_code = $1
            ), candidates as (
                select distinct on (coalesce(r.household_no, r.id::text)) r.id, r.name
                  from vg.residents r
                 where r.village_code = $1
                   and r.birth_date <= date '2024-01-01' - interval '{VOTING_AGE} years'
                 order by coalesce(r.household_no, r.id::text), r.id
            )
            insert into {into(Cadre.village_code, Cadre.name, Cadre.body, Cadre.position, Cadre.resident_village, Cadre.resident_id, Cadre.term_start)}
            select $1, c.name, 'REPRESENTATIVES', '村民代表', $1, c.id, date '2024-01-01'
              from (select * from candidates order by id
                     limit (select greatest(1, n / 5) from households)) c""",
        village,
    )


async def _seed_consultations(
    conn: asyncpg.Connection, rng: random.Random, village: int, cadre: int
) -> None:
    for title, options, rule, eligibility, opens, days in CONSULTATIONS:
        opens_at = DEMO_NOW + timedelta(days=opens)
        closes_at = opens_at + timedelta(days=days)
        closed = closes_at < DEMO_NOW
        # Ballots of past consultations go in while the window is still open (the ballot
        # trigger checks it against the clock); the window is then set to its real end.
        consultation = await conn.fetchval(
            f"""insert into {into(Consultation.village_code, Consultation.title, Consultation.description, Consultation.options, Consultation.opens_at, Consultation.closes_at, Consultation.rule, Consultation.eligibility, Consultation.created_by, Consultation.created_at)}
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $5::timestamptz - interval '1 day')
               returning id""",
            village,
            title,
            f"关于“{title}”的协商，请符合条件的村民在规定时间内表决。",
            options,
            opens_at,
            closes_at if not closed else DEMO_NOW + timedelta(days=3650),
            rule,
            eligibility,
            cadre,
        )
        electors = await _enrol_electors(conn, village, consultation, eligibility)
        await _cast_demo_ballots(
            conn, rng, village, consultation, electors, len(options), opens_at, days, closed
        )
        if closed:
            await _close_past(conn, consultation, closes_at)


async def _enrol_electors(
    conn: asyncpg.Connection, village: int, consultation: int, eligibility: str
) -> list[Any]:
    """The roll, as the migration's eligibility rule draws it at opening."""
    await conn.execute(
        f"""insert into {into(ConsultationElector.village_code, ConsultationElector.consultation_id, ConsultationElector.resident_village, ConsultationElector.resident_id, ConsultationElector.household)}
            select c.village_code, c.id, r.village_code, r.id,
                   coalesce(r.household_no, r.village_code || '/' || r.id)
              from vg.consultations c
              join vg.residents r on {ELECTORS_SQL[eligibility]}
             where c.village_code = $1 and c.id = $2
               and r.birth_date <= ((c.opens_at at time zone 'Asia/Shanghai')::date
                                    - interval '{VOTING_AGE} years')""",
        village,
        consultation,
    )
    electors = await conn.fetch(
        """select resident_village, resident_id from vg.consultation_electors
            where village_code = $1 and consultation_id = $2
            order by resident_village, resident_id""",
        village,
        consultation,
    )
    return electors


async def _cast_demo_ballots(
    conn: asyncpg.Connection,
    rng: random.Random,
    village: int,
    consultation: int,
    electors: list[Any],
    option_count: int,
    opens_at: datetime,
    days: int,
    closed: bool,
) -> None:
    turnout = 0.75 if closed else 0.3
    # The demo residents (accounts 138000000xx) keep their ballot for the demo.
    ballots = [
        (
            village,
            consultation,
            e["resident_village"],
            e["resident_id"],
            0 if rng.random() < 0.7 else rng.randrange(option_count),
            opens_at + timedelta(hours=rng.randrange(1, days * 24)),
        )
        for e in electors
        if rng.random() < turnout
        and not await conn.fetchval(
            "select exists (select 1 from vg.accounts where resident_village = $1"
            " and resident_id = $2)",
            e["resident_village"],
            e["resident_id"],
        )
    ]
    await conn.executemany(
        f"""insert into {into(Ballot.village_code, Ballot.consultation_id, Ballot.resident_village, Ballot.resident_id, Ballot.option_index, Ballot.cast_at)}
           values ($1, $2, $3, $4, $5, least($6, now()))""",
        ballots,
    )


async def _close_past(conn: asyncpg.Connection, consultation: int, closes_at: datetime) -> None:
    """Set the window to its real end, close it as staff would, and mark its messages sent."""
    await conn.execute(
        "update vg.consultations set closes_at = $2 where id = $1", consultation, closes_at
    )
    await close(conn, consultation, None, closes_at)
    await conn.execute(
        "update vg.outbox set status = 'SENT', sent_at = $2 where idempotency_key like $1",
        f"consultation.%:{consultation}",
        closes_at,
    )


async def _seed_suggestions(
    conn: asyncpg.Connection, rng: random.Random, village: int, cadre: int
) -> None:
    submitters = await conn.fetch(
        """select r.village_code, r.id, a.id as account from vg.residents r
             left join vg.accounts a on a.resident_village = r.village_code and a.resident_id = r.id
            where r.village_code = $1 order by a.id nulls last, r.id limit 6""",
        village,
    )
    for index, ((title, body), (state, answer_days)) in enumerate(
        zip(SUGGESTIONS, SUGGESTION_STATES, strict=True)
    ):
        submitter = submitters[index % len(submitters)]
        submitted_at = DEMO_NOW - timedelta(days=rng.randrange(5, 60), hours=index)
        answered_at = (
            submitted_at + timedelta(days=answer_days, hours=rng.randrange(0, 24))
            if answer_days is not None
            else None
        )
        suggestion = await conn.fetchval(
            f"""insert into {into(Suggestion.village_code, Suggestion.resident_id, Suggestion.submitted_by, Suggestion.title, Suggestion.body, Suggestion.status, Suggestion.reason, Suggestion.submitted_at, Suggestion.first_answered_at, Suggestion.updated_at)}
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($9::timestamptz, $8::timestamptz))
               returning id""",
            village,
            submitter["id"],
            submitter["account"],
            title,
            body,
            state,
            "不属于村级事务，已转交街道办理。" if state == "REJECTED" else None,
            submitted_at,
            answered_at,
        )
        if answered_at is not None:
            await conn.execute(
                f"""insert into {into(SuggestionReply.village_code, SuggestionReply.suggestion_id, SuggestionReply.body, SuggestionReply.replied_by, SuggestionReply.replied_at)}
                   values ($1, $2, $3, $4, $5)""",
                village,
                suggestion,
                f"感谢您的建议，关于“{title}”，村委会已研究并安排落实。",
                cadre,
                answered_at,
            )
