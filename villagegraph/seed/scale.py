"""Generated data at benchmark scale: `villagegraph seed --scale town|county|wenzhou`.

The real city, counties and towns of data/wenzhou-divisions.csv, and generated villages
under the towns of the scale's root (communities 001-199 under a 街道, villages 200-399
under a 镇/乡; 3,634 in all for the whole city), ~2,640 residents per village with tags,
households and birth dates, notices at every tier over two years, read receipts, and
accounts with grants for the benchmark principals.

Everything is computed in SQL from generate_series and a multiplicative hash of the row
number, so the data are deterministic and no row crosses the wire. Loading runs with
triggers and foreign-key checks off (session_replication_role = replica, when the
connection may set it) and with the secondary indexes of BULK_TABLES dropped, which are
rebuilt afterwards; the rollups are recomputed once at the end.

The domains follow, proportional to the villages and residents: cadres (two terms),
party members (from the 党员 tag) and households; monthly finance entries in six
categories over two years with reversals, and budgets; consultations with rolls and
ballots, the closed ones' results fixed from their ballots by the migration's own
functions; suggestions in every state with replies; tasks from towns and counties (on
time, late, overdue, escalated, open) with reminders; a Chinese-text ledger; shelters
and listings per town. Triggers that would refuse back-dated rows (the ballot window)
are off for the load only; what the others would compute is written explicitly.

Domains plug in by appending one generator to SCALE_GENERATORS (and their big tables to
BULK_TABLES). A generator gets the ScaleRun: the connection, the scale, the temporary
tables `scale_villages` (code, town, ordinal, residents, first_resident),
`scale_publishers` (code, level, notices, first_notice) and, after generate_staff,
`scale_staff` (code, account_id: each unit's generated official or cadre), and
`progress`. This module must not be imported by the service.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import asyncpg

from villagegraph.seed.demo import BOARD_TITLES, BOARDS, GIVEN, SURNAMES, wenzhou_divisions
from villagegraph.tenants.auth import hash_password

CITY = 330300000000
SCALE_END = datetime(2026, 11, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
SPAN_DAYS = 730  # two years of content
BENCH_PASSWORD = "bench"

# Notices per publisher by tier: ~1.02 M for the whole city.
NOTICES_PER_UNIT = {"CITY": 3000, "COUNTY": 2000, "TOWN": 800, "VILLAGE": 230}

VILLAGE_WORDS = "上下东西南北前后大小新老"
VILLAGE_ROOTS = "岙垟岭溪桥塘山湖洋坑头埠浦垄"


@dataclass(frozen=True)
class Scale:
    name: str
    root: int  # villages are generated under the towns of this unit's subtree
    villages_total: int  # villages in the whole city at this density (3,634)
    residents_mean: int = 2640  # per village: ≈ 9.6 M over 3,634
    notice_share: float = 1.0  # multiplies NOTICES_PER_UNIT
    towns_limit: int | None = None  # tests restrict a scale to a few towns
    villages_per_town_limit: int | None = None


SCALES = {
    "town": Scale("town", 330302006000, 3634),  # 五马街道
    "county": Scale("county", 330302000000, 3634),  # 鹿城区
    "wenzhou": Scale("wenzhou", CITY, 3634),
}


@dataclass
class Progress:
    """A one-line progress bar on stderr: step name, share done, elapsed time."""

    total_steps: int
    out: object = sys.stderr
    started: float = field(default_factory=time.monotonic)
    done: float = 0.0

    def advance(self, step: str, amount: float = 1.0) -> None:
        self.done += amount
        share = min(1.0, self.done / max(self.total_steps, 1))
        bar = "#" * int(share * 30)
        elapsed = time.monotonic() - self.started
        line = f"\r[{bar:<30}] {share:6.1%} {elapsed:7.1f}s  {step:<40}"
        print(line, end="", file=self.out, flush=True)  # type: ignore[call-overload]

    def finish(self) -> None:
        print(file=self.out, flush=True)  # type: ignore[call-overload]


@dataclass
class ScaleRun:
    conn: asyncpg.Connection
    scale: Scale
    progress: Progress
    timings: dict[str, float] = field(default_factory=dict)


ScaleGenerator = Callable[[ScaleRun], Awaitable[None]]

# (table, chunk column) of tables loaded in bulk: their secondary indexes are dropped for
# the load and rebuilt after it.
BULK_TABLES: list[str] = [
    "residents",
    "notices",
    "notice_reads",
    "party_members",
    "finance_entries",
    "consultation_electors",
    "ballots",
    "tasks",
    "ledger_entries",
]


def _hash(expr: str, salt: int) -> str:
    """A deterministic, well-mixed non-negative integer from an integer SQL expression."""
    return f"((({expr}) * 2654435761 + {salt}) % 1000000007)"


def plan_villages(scale: Scale) -> list[tuple[int, str, int, int, int]]:
    """(code, name, town, residents, first resident id) of every generated village."""
    towns = [(code, name) for code, name, level, _ in wenzhou_divisions() if level == "TOWN"]
    # The city's 3,634 villages spread over its 191 towns: 19 each, one more for the first.
    per_town, extra = divmod(scale.villages_total, len(towns))
    counts = {code: per_town + (1 if i < extra else 0) for i, (code, _) in enumerate(towns)}
    root_end = scale.root + _subtree_width(scale.root)
    chosen = [(code, name) for code, name in towns if scale.root <= code <= root_end]
    if scale.towns_limit is not None:
        chosen = chosen[: scale.towns_limit]
    villages = []
    first = 1
    for code, name in chosen:
        street = name.endswith("街道")
        count = counts[code]
        if scale.villages_per_town_limit is not None:
            count = min(count, scale.villages_per_town_limit)
        for i in range(count):
            ordinal = (1 if street else 200) + i
            village = code + ordinal
            word = VILLAGE_WORDS[village % len(VILLAGE_WORDS)]
            root = VILLAGE_ROOTS[(village // 7) % len(VILLAGE_ROOTS)]
            label = f"{word}{root}{'社区' if street else '村'}"
            spread = scale.residents_mean // 2
            residents = (
                scale.residents_mean - spread + (village * 2654435761 % 1000003) % (2 * spread + 1)
            )
            villages.append((village, label, code, residents, first))
            first += residents
    return villages


def _subtree_width(code: int) -> int:
    for width in (8, 6, 3):
        if code % 10**width == 0:
            return 10**width - 1
    return 0


async def generate_hierarchy(run: ScaleRun) -> None:
    villages = plan_villages(run.scale)
    units = [(c, n, lv, p) for c, n, lv, p in wenzhou_divisions()]
    units += [(code, name, "VILLAGE", town) for code, name, town, _, _ in villages]
    await run.conn.copy_records_to_table(
        "org_units",
        schema_name="vg",
        records=units,
        columns=["code", "name", "level", "parent_code"],
    )
    await run.conn.execute(
        """create temporary table scale_villages (
               code bigint primary key, town bigint, ordinal int, residents int,
               first_resident bigint)"""
    )
    await run.conn.copy_records_to_table(
        "scale_villages",
        records=[(v[0], v[2], i, v[3], v[4]) for i, v in enumerate(villages)],
        columns=["code", "town", "ordinal", "residents", "first_resident"],
    )
    # Publishers: the root's ancestors, and every unit inside the root with villages under it.
    towns = sorted({v[2] for v in villages})
    counties = sorted({t - t % 1_000_000 for t in towns})
    publishers: list[tuple[int, str]] = [(CITY, "CITY")]
    publishers += [(c, "COUNTY") for c in counties]
    publishers += [(t, "TOWN") for t in towns]
    publishers += [(v[0], "VILLAGE") for v in villages]
    rows: list[tuple[int, str, int, int, int]] = []
    first = 1
    for code, level in publishers:
        count = max(1, round(NOTICES_PER_UNIT[level] * run.scale.notice_share))
        rows.append((code, level, count, first, len(rows)))
        first += count
    await run.conn.execute(
        """create temporary table scale_publishers (
               code bigint primary key, level text, notices int, first_notice bigint,
               ordinal int)"""
    )
    await run.conn.copy_records_to_table(
        "scale_publishers",
        records=rows,
        columns=["code", "level", "notices", "first_notice", "ordinal"],
    )
    await run.conn.execute("analyze scale_villages; analyze scale_publishers")
    run.progress.advance("hierarchy")


async def _chunked(run: ScaleRun, label: str, sql: str, table: str = "scale_villages") -> None:
    """Run `sql` (with $1/$2 bounding `ordinal`) over the villages in ~20 chunks."""
    total = await run.conn.fetchval(f"select count(*) from {table}")
    chunk = max(1, -(-total // 20))
    steps = -(-total // chunk)
    for start in range(0, total, chunk):
        await run.conn.execute(sql, start, start + chunk - 1)
        run.progress.advance(f"{label} {min(start + chunk, total)}/{total}", 1 / steps)


async def generate_people(run: ScaleRun) -> None:
    h1, h2, h3 = _hash("r.id", 11), _hash("r.id", 23), _hash("r.id", 37)
    elder = "date '1966-11-01'"
    await _chunked(
        run,
        "residents",
        f"""insert into vg.residents (village_code, id, name, gender, birth_date, household_no,
                residence_code, residence_member, tags, id_number, phone, created_at)
            select v.code, r.id,
                   substr('{SURNAMES}', ({h1} % {len(SURNAMES)})::int + 1, 1)
                     || substr('{GIVEN}', ({h2} % {len(GIVEN)})::int + 1, 1)
                     || case when {h3} % 3 = 0 then ''
                        else substr('{GIVEN}', ({h3} / 7 % {len(GIVEN)})::int + 1, 1) end,
                   case when {h1} % 2 = 0 then 'M' else 'F' end,
                   r.birth,
                   v.code::text || '-' || lpad(((r.id - v.first_resident) / 3)::text, 4, '0'),
                   case when {h3} % 12 = 5 then n.code end,
                   n.code is not null and {h3} % 24 = 5,
                   array_remove(array[
                       case when {h1} % 100 < 12 then '党员' end,
                       case when r.birth < {elder} then '老人' end,
                       case when {h2} % 100 < 6 then '低保' end,
                       case when {h3} % 100 < 4 then '残疾' end,
                       case when {h1} % 1000 < 10 then '五保' end,
                       case when {h2} % 1000 < 30 then '退役军人' end], null),
                   substr(v.code::text, 1, 6) || to_char(r.birth, 'YYYYMMDD')
                     || lpad((r.id % 10000)::text, 4, '0'),
                   null,
                   timestamptz '2024-11-01 00:00+08' + (({h2} % 700) || ' days')::interval
              from scale_villages v
              left join scale_villages n on n.ordinal = v.ordinal + 1 and n.town = v.town
              cross join lateral (
                  select g as id, date '1940-01-01' + ((g * 2654435761 + 5) % 24090)::int as birth
                    from generate_series(v.first_resident, v.first_resident + v.residents - 1) g
              ) r
             where v.ordinal between $1 and $2""",
    )


def _published_at(notice_id: str, publisher: str) -> str:
    """When notice `notice_id` of `publisher` (a scale_publishers row) was published:
    spread evenly over two years back from SCALE_END, newest first."""
    return f"""(timestamptz '{SCALE_END.isoformat()}'
                - (({notice_id} - {publisher}.first_notice) * {SPAN_DAYS * 86400}
                   / {publisher}.notices + {_hash(notice_id, 41)} % 3600)
                  * interval '1 second')"""


async def generate_notices(run: ScaleRun) -> None:
    h = _hash("g", 41)
    boards = "array[" + ", ".join(f"'{b}'" for b in BOARDS) + "]"
    titles = "array[" + ", ".join(f"'{BOARD_TITLES[b]}'" for b in BOARDS) + "]"
    await _chunked(
        run,
        "notices",
        f"""insert into vg.notices (publisher_code, id, board, title, body, audience,
                target_tags, published_at, published_by)
            select p.code, g, ({boards})[({h} % 10)::int + 1],
                   ({titles})[({h} % 10)::int + 1] || ' 第' || (g - p.first_notice + 1) || '期',
                   repeat('为进一步做好村社公开工作，现将有关事项公告如下。', 1 + ({h} % 4)::int),
                   case when {h} % 5 = 0 then 'MEMBERS' else 'PUBLIC' end,
                   case when {h} % 20 = 1 then array['低保']
                        when {h} % 20 = 2 then array['党员'] else '{{}}' end,
                   {_published_at("g", "p")},
                   null
              from scale_publishers p,
                   generate_series(p.first_notice, p.first_notice + p.notices - 1) g
             where p.ordinal between $1 and $2""",
        table="scale_publishers",
    )


async def generate_reads(run: ScaleRun) -> None:
    """Each resident reads 0-4 (2.1 on average) of its village's 40 newest notices."""
    h = _hash("r", 53)
    await _chunked(
        run,
        "read receipts",
        f"""insert into vg.notice_reads
                (resident_village, resident_id, notice_publisher, notice_id, read_at)
            select v.code, r, v.code, k.id,
                   {_published_at("k.id", "p")} + ((({h} + j) % 72) * interval '1 hour')
              from scale_villages v
              join scale_publishers p on p.code = v.code
              cross join generate_series(v.first_resident,
                                         v.first_resident + v.residents - 1) r
              cross join lateral generate_series(
                  1, least(p.notices, ({h} % 5)::int + (({h} / 5) % 10 = 0)::int)) j
              cross join lateral (
                  select p.first_notice + (({h} % 40) + j) % p.notices as id
              ) k
             where v.ordinal between $1 and $2""",
    )


async def generate_accounts(run: ScaleRun) -> None:
    """Officials of every unit with villages, a cadre per village, two residents per village,
    and a city analyst; every password is `bench`."""
    password = hash_password(BENCH_PASSWORD)
    conn = run.conn
    await conn.execute(
        """insert into vg.accounts (phone, password_hash, display_name)
           select '18' || lpad(row_number() over (order by code)::text, 9, '0'), $1,
                  code::text || ' 政务员'
             from scale_publishers where level <> 'VILLAGE'
           union all
           select '16' || lpad((ordinal + 1)::text, 9, '0'), $1, code::text || ' 书记'
             from scale_villages
           union all
           select '19900000000', $1, '数据分析员'""",
        password,
    )
    await conn.execute(
        """insert into vg.grants (account_id, role, unit_code, granted_at)
           select a.id,
                  case when a.phone = '19900000000' then 'ANALYST'
                       when a.phone like '16%' then 'CADRE' else 'OFFICIAL' end,
                  case when a.phone = '19900000000' then 330300000000
                       else split_part(a.display_name, ' ', 1)::bigint end,
                  timestamptz '2024-01-01 00:00+08'
             from vg.accounts a where a.resident_id is null"""
    )
    await conn.execute(
        """insert into vg.accounts (phone, password_hash, display_name, resident_village,
                                    resident_id)
           select '17' || lpad((v.ordinal * 2 + k)::text, 9, '0'), $1, r.name, v.code, r.id
             from scale_villages v
             cross join generate_series(0, 1) k
             join vg.residents r on r.village_code = v.code and r.id = v.first_resident + k""",
        password,
    )
    run.progress.advance("accounts")


async def finish_sequences(run: ScaleRun) -> None:
    for sequence, table in (("residents_id_seq", "residents"), ("notices_id_seq", "notices")):
        await run.conn.execute(
            f"select setval('vg.{sequence}', coalesce((select max(id) from vg.{table}), 1))"
        )
    run.progress.advance("sequences")


# --- the domains: people, affairs, supervision, local services --------------------------
# Ids are explicit (a village's ordinal times a fixed slot count), so they do not depend
# on the order rows are written in; the sequences continue after them (finish_domains).

MONTHS = 24  # finance: Nov 2024 to Oct 2026
INCOME = ("集体经营收入", "上级补助收入", "资产发包收入")
EXPENSE = ("管理费用", "公益事业支出", "干部报酬")
CONSULTATION_TOPICS = ("村道硬化工程", "文化礼堂修缮", "集体资产发包", "垃圾分类积分方案")
TASK_TOPICS = (
    "防汛防台隐患排查",
    "人居环境整治",
    "垃圾分类督查",
    "安全生产检查",
    "村务公开整改",
    "低保对象复核",
    "森林防火巡查",
    "反诈宣传进村",
)
TASKS_PER_VILLAGE = 40  # 30 from the town, 10 from the county, over two years
LEDGER_PER_VILLAGE = 40
LEDGER_CATEGORIES = ("安全巡查", "环境整治", "矛盾调解", "防汛防台", "民生服务", "党建活动")
LEDGER_WHO = ("村干部", "网格员", "志愿者", "党员先锋队", "村监委")
LEDGER_WHAT = (
    "开展河道清理",
    "排查独居老人安全",
    "调解邻里纠纷",
    "检查消防通道",
    "整治垃圾分类",
    "清点防汛物资",
    "走访困难家庭",
    "巡查危房",
    "宣传反诈知识",
    "修缮文化礼堂",
)
LEDGER_OUTCOME = ("，已登记在册。", "，发现问题已现场整改。", "，情况良好。", "，群众反映良好。")
SUGGESTION_TOPICS = ("路灯维修", "增设健身器材", "河道保洁", "停车难", "垃圾清运", "老年食堂")
SUGGESTION_SLOTS = 48  # at most 6 + 3,960 / 100 suggestions per village
CADRE_SEATS = (  # (body, position): the 书记 also chairs the committee (一肩挑)
    ("PARTY_BRANCH", "党支部书记"),
    ("PARTY_BRANCH", "党支部副书记"),
    ("PARTY_BRANCH", "党支部委员"),
    ("COMMITTEE", "村委会主任"),
    ("COMMITTEE", "村委会副主任"),
    ("COMMITTEE", "村委会委员"),
    ("COMMITTEE", "妇女委员"),
)
TERMS = (("2021-04-01", "2026-04-01"), ("2026-04-01", None))


def _array(values: tuple[str, ...]) -> str:
    return "array[" + ", ".join(f"'{v}'" for v in values) + "]"


def _pick(values: tuple[str, ...], hashed: str) -> str:
    return f"({_array(values)})[({hashed} % {len(values)})::int + 1]"


async def generate_staff(run: ScaleRun) -> None:
    """scale_staff: the one generated staff account of each unit (official or cadre)."""
    await run.conn.execute(
        """create temporary table scale_staff (code bigint primary key, account_id bigint);
           insert into scale_staff
           select unit_code, min(account_id) from vg.grants
            where role in ('OFFICIAL', 'CADRE') group by unit_code;
           analyze scale_staff"""
    )
    run.progress.advance("staff")


async def generate_cadres(run: ScaleRun) -> None:
    """Two terms of the village committee and party branch, party members from the 党员
    tag, and the household register from the residents' household numbers."""
    seats = len(CADRE_SEATS)
    bodies = _array(tuple(b for b, _ in CADRE_SEATS))
    positions = _array(tuple(p for _, p in CADRE_SEATS))
    await run.conn.execute(
        f"""insert into vg.cadres (village_code, id, name, body, position, resident_village,
                resident_id, account_id, term_start, term_end, appointed_by)
            select v.code, v.ordinal * {seats * 2} + t.n * {seats} + k + 1, r.name,
                   ({bodies})[k + 1], ({positions})[k + 1], r.village_code, r.id,
                   case when t.n = 1 and k = 0 then s.account_id end,
                   t.term_start, t.term_end, null
              from scale_villages v
              join scale_staff s on s.code = v.code
              cross join (values (0, date '{TERMS[0][0]}', date '{TERMS[0][1]}'),
                                 (1, date '{TERMS[1][0]}', null::date)) t (n, term_start, term_end)
              cross join generate_series(0, {seats - 1}) k
              join vg.residents r on r.village_code = v.code
               and r.id = v.first_resident + (t.n * {seats} + case when k = 3 then 0 else k end)
                          % v.residents"""
    )
    joined = _hash("r.id", 67)
    await _chunked(
        run,
        "party members",
        f"""insert into vg.party_members (village_code, resident_id, joined_on, branch_code)
            select r.village_code, r.id,
                   least(date '2026-09-01',
                         r.birth_date + ((20 + {joined} % 30) * 365 + {joined} % 300)::int),
                   r.village_code
              from scale_villages v
              join vg.residents r on r.village_code = v.code
             where v.ordinal between $1 and $2 and '党员' = any (r.tags)""",
    )
    await _chunked(
        run,
        "households",
        """insert into vg.households (village_code, household_no, head_resident_id, address,
                registered_on)
           select r.village_code, r.household_no, min(r.id),
                  min(o.name) || split_part(r.household_no, '-', 2) || '号',
                  min(r.created_at)::date
             from scale_villages v
             join vg.org_units o on o.code = v.code
             join vg.residents r on r.village_code = v.code
            where v.ordinal between $1 and $2
            group by r.village_code, r.household_no""",
    )


async def generate_finance(run: ScaleRun) -> None:
    """Six categories a month for two years per village, one entry in 40 reversed, and
    yearly budgets."""
    categories = INCOME + EXPENSE
    per_village = MONTHS * len(categories)
    entries = await run.conn.fetchval("select count(*) from scale_villages") * per_village
    n = f"(v.ordinal * {per_village} + m * {len(categories)} + k)"
    h = _hash(n, 61)
    await _chunked(
        run,
        "finance entries",
        f"""insert into vg.finance_entries (village_code, id, period, direction, category,
                amount, memo, voucher_no, reverses_id, recorded_by, recorded_at)
            select v.code, {n} + 1,
                   to_char(date '2024-11-01' + make_interval(months => m), 'YYYY-MM'),
                   case when k < {len(INCOME)} then 'INCOME' else 'EXPENSE' end,
                   ({_array(categories)})[k + 1],
                   (1000 + {h} % 80000 + ({h} / 80000 % 100) / 100.0)::numeric(14, 2),
                   ({_array(categories)})[k + 1] || '（' ||
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
    await _chunked(
        run,
        "finance reversals",
        f"""insert into vg.finance_entries (village_code, id, period, direction, category,
                amount, memo, voucher_no, reverses_id, recorded_by, recorded_at)
            select e.village_code, {entries} + e.id, e.period, e.direction, e.category,
                   -e.amount, '冲销：' || e.voucher_no || ' 金额有误', e.voucher_no || '-冲',
                   e.id, e.recorded_by, e.recorded_at + interval '2 days'
              from scale_villages v
              join vg.finance_entries e on e.village_code = v.code
             where v.ordinal between $1 and $2 and {_hash("e.id", 71)} % 40 = 0""",
    )
    await run.conn.execute(
        f"""insert into vg.finance_budgets (village_code, id, year, direction, category, amount,
                set_by, set_at)
            select v.code, v.ordinal * {2 * len(categories)} + y * {len(categories)} + k + 1,
                   2025 + y, case when k < {len(INCOME)} then 'INCOME' else 'EXPENSE' end,
                   ({_array(categories)})[k + 1],
                   (12 * (20000 + {_hash("v.ordinal * 12 + y * 6 + k", 73)} % 40000))::numeric,
                   s.account_id, make_timestamptz(2024 + y, 12, 20, 9, 0, 0, 'Asia/Shanghai')
              from scale_villages v
              join scale_staff s on s.code = v.code
              cross join generate_series(0, 1) y
              cross join generate_series(0, {len(categories) - 1}) k"""
    )


async def generate_consultations(run: ScaleRun) -> None:
    """Four per village: three representatives' meetings, closed, with their results fixed
    from their ballots, and one village poll still open; rolls and ballots."""
    conn = run.conn
    end = f"timestamptz '{SCALE_END.isoformat()}'"
    h = _hash("v.ordinal * 4 + c", 79)
    await conn.execute(
        f"""insert into vg.consultations (village_code, id, title, description, options,
                opens_at, closes_at, rule, eligibility, created_by, created_at)
            select v.code, v.ordinal * 4 + c + 1,
                   ({_array(CONSULTATION_TOPICS)})[c + 1] || '表决',
                   '经村两委研究，提请' || case when c < 3 then '村民代表会议' else '全体村民' end
                     || '表决' || ({_array(CONSULTATION_TOPICS)})[c + 1] || '事项。',
                   array['同意', '不同意', '弃权'], w.opens_at,
                   case when c < 3 then w.opens_at + interval '7 days'
                        else {end} + interval '120 days' end,
                   case when c < 3 then 'REPRESENTATIVES_MEETING' else 'SIMPLE_MAJORITY' end,
                   case when c < 3 then 'REPRESENTATIVES' else 'VILLAGERS' end,
                   s.account_id, w.opens_at - interval '1 day'
              from scale_villages v
              join scale_staff s on s.code = v.code
              cross join generate_series(0, 3) c
              cross join lateral (
                  select {end} - (case when c < 3 then (2 - c) * 230 + 20 + {h} % 40
                                       else 5 end) * interval '1 day' as opens_at) w"""
    )
    # The roll: every 50th resident for the representatives, every 8th for the poll.
    await _chunked(
        run,
        "electors",
        """insert into vg.consultation_electors (village_code, consultation_id, resident_village,
                resident_id, household)
           select c.village_code, c.id, r.village_code, r.id, r.household_no
             from scale_villages v
             join vg.consultations c on c.village_code = v.code
             cross join lateral generate_series(
                 v.first_resident + (c.id % 4)::int, v.first_resident + v.residents - 1,
                 case when c.rule = 'SIMPLE_MAJORITY' then 8 else 50 end) g
             join vg.residents r on r.village_code = v.code and r.id = g
            where v.ordinal between $1 and $2""",
    )
    hb = _hash("e.resident_id + e.consultation_id * 7919", 83)
    await conn.execute("alter table vg.ballots disable trigger ballots_window")
    await _chunked(
        run,
        "ballots",
        f"""insert into vg.ballots (village_code, consultation_id, resident_village, resident_id,
                option_index, cast_at)
            select e.village_code, e.consultation_id, e.resident_village, e.resident_id,
                   case when {hb} % 10 < 6 then 0 when {hb} % 10 < 9 then 1 else 2 end,
                   c.opens_at + ({hb} / 10 % case when c.closes_at < {end} then 6 * 86400
                                                 else 4 * 86400 end) * interval '1 second'
              from scale_villages v
              join vg.consultations c on c.village_code = v.code
              join vg.consultation_electors e
                on e.village_code = c.village_code and e.consultation_id = c.id
             where v.ordinal between $1 and $2
               and {hb} / 1000 % 100 < case when c.closes_at < {end} then 80 else 40 end""",
    )
    await conn.execute("alter table vg.ballots enable trigger ballots_window")
    # Closing fixes each result from the ballots through the migration's own functions (the
    # closing trigger computes the same when triggers are on).
    await _chunked(
        run,
        "consultation results",
        f"""update vg.consultations c
               set closed_at = c.closes_at, eligible_count = t.electors,
                   eligible_households = t.elector_households, ballots_cast = t.ballots,
                   households_voted = t.households, votes = t.votes::integer[],
                   quorum_met = d.quorum_met, winning_option = d.winning_option,
                   passed = d.passed
              from vg.count_ballots(array(
                       select x.id from vg.consultations x
                         join scale_villages v on v.code = x.village_code
                        where v.ordinal between $1 and $2 and x.closes_at < {end})) t
              join vg.consultations r on r.id = t.consultation_id
              cross join lateral vg.consultation_decision(r.rule, t.votes, t.ballots,
                  t.households, t.electors, t.elector_households) d
             where c.village_code = r.village_code and c.id = r.id""",
    )


async def generate_suggestions(run: ScaleRun) -> None:
    """About one suggestion per hundred residents over two years, in every state, with the
    cadre's replies to the answered ones (the first reply's time is first_answered_at)."""
    end = f"timestamptz '{SCALE_END.isoformat()}'"
    n = f"(v.ordinal * {SUGGESTION_SLOTS} + k)"
    h = _hash(n, 89)
    # The newest four are still being handled, one in ten of the older ones was rejected.
    states = f"""case 5 + v.residents / 100 - k
                     when 0 then 'SUBMITTED' when 1 then 'ACKNOWLEDGED'
                     when 2 then 'IN_PROGRESS' when 3 then 'ANSWERED'
                     else case when (5 + v.residents / 100 - k) % 10 = 4 then 'REJECTED'
                               when {h} % 10 < 3 then 'ANSWERED' else 'CLOSED' end end"""
    await _chunked(
        run,
        "suggestions",
        f"""insert into vg.suggestions (village_code, id, resident_id, submitted_by, title, body,
                status, reason, submitted_at, first_answered_at, updated_at)
            select v.code, {n} + 1, v.first_resident + {h} % v.residents, null,
                   '关于' || {_pick(SUGGESTION_TOPICS, h)} || '的建议',
                   '建议村里尽快研究解决' || {_pick(SUGGESTION_TOPICS, h)} || '问题，方便群众生活。',
                   x.status,
                   case when x.status = 'REJECTED' then '不属于村务范围，已转交镇相关部门' end,
                   x.submitted_at,
                   case when x.status in ('ANSWERED', 'CLOSED') then x.answered_at end,
                   case when x.status in ('ANSWERED', 'CLOSED') then x.answered_at
                        when x.status = 'SUBMITTED' then x.submitted_at
                        else x.submitted_at + interval '1 day' end
              from scale_villages v
              cross join lateral generate_series(0, 5 + v.residents / 100) k
              cross join lateral (
                  select {states} as status,
                         {end} - ((5 + v.residents / 100 - k) * 700 / (6 + v.residents / 100)
                                  + {h} % 5) * interval '1 day'
                               - ({h} % 36000) * interval '1 second' as submitted_at,
                         {end} - ((5 + v.residents / 100 - k) * 700 / (6 + v.residents / 100)
                                  + {h} % 5) * interval '1 day'
                               + (1 + {h} / 20 % 10) * interval '1 day' as answered_at
              ) x
             where v.ordinal between $1 and $2""",
    )
    await _chunked(
        run,
        "suggestion replies",
        """insert into vg.suggestion_replies (village_code, suggestion_id, id, body, replied_by,
                replied_at)
           select s.village_code, s.id, s.id * 2 + j,
                  case when j = 0 then '您的建议已收悉，村两委已研究并安排落实。'
                       else '相关事项已办结，感谢您的监督。' end,
                  st.account_id, s.first_answered_at + j * interval '2 days'
             from scale_villages v
             join scale_staff st on st.code = v.code
             join vg.suggestions s on s.village_code = v.code
             cross join generate_series(0, (s.id % 2)::int) j
            where v.ordinal between $1 and $2 and s.first_answered_at is not null""",
    )


async def generate_tasks(run: ScaleRun) -> None:
    """Tasks from the town (30) and the county (10) to each village over two years: done on
    time, done late, overdue, escalated to the issuer's superior, and open; reminders."""
    end = f"timestamptz '{SCALE_END.isoformat()}'"
    n = f"(v.ordinal * {TASKS_PER_VILLAGE} + k)"
    h = _hash(n, 97)
    await _chunked(
        run,
        "tasks",
        f"""insert into vg.tasks (assignee_code, id, issuer_code, issued_by, title, body, due_at,
                supervised, acknowledged_at, acknowledged_by, completed_at, completed_by,
                completion_note, escalated_to, escalated_at, created_at)
            select v.code, {n} + 1, x.issuer, si.account_id,
                   {_pick(TASK_TOPICS, h)} || '（' || to_char(x.created_at, 'YYYY年MM月') || '）',
                   '请按要求完成' || {_pick(TASK_TOPICS, h)} || '，并于期限内上报结果。',
                   x.due_at, x.state = 'ESCALATED' or {h} % 5 = 0,
                   case when x.state in ('ON_TIME', 'LATE') then x.created_at + interval '2 hours' end,
                   case when x.state in ('ON_TIME', 'LATE') then sv.account_id end,
                   case x.state when 'ON_TIME' then x.due_at - (1 + {h} % 3) * interval '1 day'
                                when 'LATE' then x.due_at + (1 + {h} % 5) * interval '1 day' end,
                   case when x.state in ('ON_TIME', 'LATE') then sv.account_id end,
                   case when x.state in ('ON_TIME', 'LATE') then '已按要求完成，材料已上传。' end,
                   case when x.state = 'ESCALATED' then x.issuer - x.issuer % x.parent_divisor end,
                   case when x.state = 'ESCALATED' then x.due_at + interval '3 days' end,
                   x.created_at
              from scale_villages v
              join scale_staff sv on sv.code = v.code
              cross join generate_series(0, {TASKS_PER_VILLAGE - 1}) k
              cross join lateral (
                  select case when k < 30 then v.town else v.town - v.town % 1000000 end as issuer,
                         case when k < 30 then 1000000 else 100000000 end as parent_divisor,
                         c.created_at, c.created_at + (7 + {h} % 14) * interval '1 day' as due_at,
                         case when c.created_at + (7 + {h} % 14) * interval '1 day' > {end}
                                   then 'OPEN'
                              when {h} / 7 % 20 < 13 then 'ON_TIME'
                              when {h} / 7 % 20 < 16 then 'LATE'
                              when {h} / 7 % 20 < 18
                               and c.created_at + (10 + {h} % 14) * interval '1 day' < {end}
                                   then 'ESCALATED'
                              else 'OVERDUE' end as state
                    from (select {end} - ((({TASKS_PER_VILLAGE} - 1 - k) * 17 + {h} % 4) * 86400
                                          + {h} % 30000) * interval '1 second' as created_at) c
              ) x
              join scale_staff si on si.code = x.issuer
             where v.ordinal between $1 and $2""",
    )
    await _chunked(
        run,
        "task reminders",
        f"""insert into vg.task_reminders (assignee_code, task_id, kind, due_at, sent_at)
            select t.assignee_code, t.id, r.kind, t.due_at, r.sent_at
              from scale_villages v
              join vg.tasks t on t.assignee_code = v.code
              cross join lateral (values
                  ('DUE_SOON', t.due_at - interval '24 hours'),
                  ('OVERDUE', t.due_at + interval '1 hour'),
                  ('ESCALATED', t.escalated_at)) r (kind, sent_at)
             where v.ordinal between $1 and $2 and r.sent_at is not null and r.sent_at < {end}
               and (t.completed_at is null or t.completed_at > r.sent_at)""",
    )


async def generate_ledger(run: ScaleRun) -> None:
    """Forty ledger entries per village over two years, in Chinese (河道, 防汛 ... occur)."""
    n = f"(v.ordinal * {LEDGER_PER_VILLAGE} + k)"
    h = _hash(n, 101)
    await _chunked(
        run,
        "ledger",
        f"""insert into vg.ledger_entries (village_code, id, category, occurred_on, text,
                recorded_by, recorded_at)
            select v.code, {n} + 1, {_pick(LEDGER_CATEGORIES, h)}, d.day,
                   to_char(d.day, 'MM月DD日') || {_pick(LEDGER_WHO, f"({h} / 7)")}
                     || {_pick(LEDGER_WHAT, f"({h} / 11)")}
                     || '，参与' || (3 + {h} % 20) || '人次'
                     || {_pick(LEDGER_OUTCOME, f"({h} / 13)")},
                   s.account_id, (d.day + time '18:00') at time zone 'Asia/Shanghai'
              from scale_villages v
              join scale_staff s on s.code = v.code
              cross join generate_series(0, {LEDGER_PER_VILLAGE - 1}) k
              cross join lateral (
                  select date '2024-11-01' + (k * {SPAN_DAYS // LEDGER_PER_VILLAGE}
                                              + {h} % 18)::int as day) d
             where v.ordinal between $1 and $2""",
    )


async def generate_services(run: ScaleRun) -> None:
    """Three shelters per town and five listings (名特优, 农家乐) in each town's villages."""
    await run.conn.execute(
        f"""insert into vg.shelters (unit_code, id, name, address, lat, lng, capacity,
                facilities, contact, status, updated_at, updated_by)
            select t.town, t.n * 3 + k + 1,
                   (array['文化礼堂', '中心小学', '体育馆'])[k + 1] || '避灾安置点',
                   o.name || (array['文化礼堂', '中心小学', '体育馆'])[k + 1],
                   27.5 + ({_hash("t.n * 3 + k", 103)} % 100000) / 100000.0,
                   120.2 + ({_hash("t.n * 3 + k", 107)} % 100000) / 100000.0,
                   100 + {_hash("t.n * 3 + k", 109)} % 400,
                   array['饮用水', '医疗点', '发电机'], '0577-' || (88000000 + t.n * 3 + k),
                   case when k = 0 and t.n % 5 = 0 then 'OPEN' else 'STANDBY' end,
                   timestamptz '2026-06-01 09:00+08', s.account_id
              from (select town, (row_number() over (order by town) - 1)::int as n
                      from (select distinct town from scale_villages) d) t
              join vg.org_units o on o.code = t.town
              join scale_staff s on s.code = t.town
              cross join generate_series(0, 2) k"""
    )
    await run.conn.execute(
        """insert into vg.listings (village_code, id, kind, name, description, price, contact,
                rooms, capacity, status, review_reason, applicant_id, applied_by, applied_at,
                reviewed_by, reviewed_at)
           select v.code, t.n * 5 + k + 1, x.kind,
                  o.name || case when x.kind = 'FARM_STAY' then '农家乐' else '土特产' end,
                  case when x.kind = 'FARM_STAY' then '山水田园，农家菜，可住宿。'
                       else '本村自产，绿色生态。' end,
                  (38 + k * 20)::numeric, '138' || lpad((v.ordinal * 5 + k)::text, 8, '0'),
                  case when x.kind = 'FARM_STAY' then 4 + k end,
                  case when x.kind = 'FARM_STAY' then 8 + 2 * k end,
                  x.status, case when x.status = 'REJECTED' then '材料不全' end,
                  v.first_resident + 20 % v.residents, null,
                  timestamptz '2026-05-01 10:00+08' + k * interval '3 days',
                  case when x.status <> 'PENDING' then s.account_id end,
                  case when x.status <> 'PENDING'
                       then timestamptz '2026-05-10 10:00+08' + k * interval '3 days' end
             from (select town, (row_number() over (order by town) - 1)::int as n
                     from (select distinct town from scale_villages) d) t
             cross join generate_series(0, 4) k
             join lateral (select * from scale_villages v where v.town = t.town
                            order by v.ordinal
                           offset k % (select count(*) from scale_villages w
                                        where w.town = t.town) limit 1) v on true
             join vg.org_units o on o.code = v.code
             join scale_staff s on s.code = v.code
             cross join lateral (
                 select case when k % 2 = 0 then 'FARM_STAY' else 'SPECIALTY_PRODUCT' end as kind,
                        case k when 3 then 'PENDING' when 4 then 'REJECTED'
                               else 'APPROVED' end as status) x"""
    )
    run.progress.advance("shelters and listings")


DOMAIN_SEQUENCES = {
    "cadres": "cadres_id_seq",
    "finance_entries": "finance_entries_id_seq",
    "finance_budgets": "finance_budgets_id_seq",
    "consultations": "consultations_id_seq",
    "suggestions": "suggestions_id_seq",
    "suggestion_replies": "suggestion_replies_id_seq",
    "tasks": "tasks_id_seq",
    "ledger_entries": "ledger_entries_id_seq",
    "shelters": "shelters_id_seq",
    "listings": "listings_id_seq",
}


async def finish_domains(run: ScaleRun) -> None:
    for table, sequence in DOMAIN_SEQUENCES.items():
        await run.conn.execute(
            f"select setval('vg.{sequence}', coalesce((select max(id) from vg.{table}), 1))"
        )
    run.progress.advance("domain sequences")


# Every domain's generator, in order; each new domain appends one line.
SCALE_GENERATORS: list[ScaleGenerator] = [
    generate_hierarchy,
    generate_people,
    generate_notices,
    generate_reads,
    generate_accounts,
    finish_sequences,
    generate_staff,
    generate_cadres,
    generate_finance,
    generate_consultations,
    generate_suggestions,
    generate_tasks,
    generate_ledger,
    generate_services,
    finish_domains,
]


@dataclass
class ScaleSummary:
    scale: str
    seconds: float
    database_bytes: int
    rows: dict[str, int]
    bytes_by_table: dict[str, int]
    timings: dict[str, float]

    def text(self) -> str:
        lines = [
            f"scale {self.scale}: {self.seconds:.1f} s, {self.database_bytes / 2**20:,.0f} MiB"
        ]
        for table, rows in self.rows.items():
            size = self.bytes_by_table.get(table, 0) / 2**20
            lines.append(f"  {table:<28} {rows:>12,} rows {size:>10,.1f} MiB")
        for step, seconds in self.timings.items():
            lines.append(f"  step {step:<23} {seconds:>8.1f} s")
        return "\n".join(lines)


async def _drop_secondary_indexes(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        """select i.indexname, i.indexdef from pg_indexes i
            where i.schemaname = 'vg' and i.tablename = any($1::text[])
              and not exists (select 1 from pg_constraint c
                               where c.conname = i.indexname and c.connamespace = 'vg'::regnamespace)""",
        BULK_TABLES,
    )
    for row in rows:
        await conn.execute(f'drop index vg."{row["indexname"]}"')
    return [row["indexdef"] for row in rows]


async def _replica_mode(conn: asyncpg.Connection) -> bool:
    """Skip triggers and foreign-key checks for the load, when this connection may."""
    try:
        await conn.execute("set session_replication_role = replica")
    except asyncpg.InsufficientPrivilegeError:
        return False
    return True


async def seed_scale(
    dsn: str, scale: Scale, progress_out: object = sys.stderr
) -> ScaleSummary | None:
    """Generate `scale` into the empty database at `dsn`; None when it already holds data."""
    started = time.monotonic()
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("select exists (select 1 from vg.org_units)"):
            return None
        replica = await _replica_mode(conn)
        await conn.execute(
            "set search_path = vg, public; set maintenance_work_mem = '512MB';"
            " set synchronous_commit = off"
        )
        steps = len(SCALE_GENERATORS) + 3
        run = ScaleRun(conn, scale, Progress(steps, out=progress_out))
        async with conn.transaction():
            index_definitions = await _drop_secondary_indexes(conn)
            for generator in SCALE_GENERATORS:
                began = time.monotonic()
                await generator(run)
                run.timings[generator.__name__.removeprefix("generate_")] = time.monotonic() - began
            began = time.monotonic()
            for definition in index_definitions:
                await conn.execute(definition)
            run.progress.advance("indexes")
            run.timings["indexes"] = time.monotonic() - began
            began = time.monotonic()
            await conn.execute("select vg.rebuild_rollups()")
            run.progress.advance("rollups")
            run.timings["rollups"] = time.monotonic() - began
        if replica:
            await conn.execute("set session_replication_role = origin")
        began = time.monotonic()
        await conn.execute("vacuum (analyze)")
        run.timings["vacuum"] = time.monotonic() - began
        run.progress.advance("vacuum analyze")
        run.progress.finish()
        tables = await conn.fetch(
            """select relname from pg_class where relnamespace = 'vg'::regnamespace
                 and relkind = 'r' order by reltuples desc"""
        )
        rows = {
            t["relname"]: int(await conn.fetchval(f'select count(*) from vg."{t["relname"]}"'))
            for t in tables
        }
        sizes = {
            row["relname"]: int(row["size"])
            for row in await conn.fetch(
                """select c.relname, pg_total_relation_size(c.oid) as size from pg_class c
                    where c.relnamespace = 'vg'::regnamespace and c.relkind = 'r'"""
            )
        }
        database_bytes = int(await conn.fetchval("select pg_database_size(current_database())"))
        return ScaleSummary(
            scale.name, time.monotonic() - started, database_bytes, rows, sizes, run.timings
        )
    finally:
        await conn.close()
