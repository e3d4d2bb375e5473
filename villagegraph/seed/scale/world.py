"""The world every domain's generator builds on: divisions and generated villages, residents,
notices and read receipts, accounts with grants, and `scale_staff`.

WORLD runs first, in its order (accounts read the residents and the publishers); it leaves
the temporary tables `scale_villages`, `scale_publishers` and `scale_staff` (see
villagegraph/seed/scale/__init__.py).
"""

from __future__ import annotations

from villagegraph.models import column_names, into
from villagegraph.models.accounts import Account, Grant
from villagegraph.models.hierarchy import OrgUnit
from villagegraph.models.notices import Notice, NoticeRead
from villagegraph.models.residents import Resident
from villagegraph.seed.demo import BOARD_TITLES, BOARDS, GIVEN, SURNAMES, wenzhou_divisions
from villagegraph.seed.scale.core import (
    BENCH_PASSWORD,
    CITY,
    SCALE_END,
    SPAN_DAYS,
    Scale,
    ScaleGenerator,
    ScaleRun,
    chunked,
    sql_hash,
)
from villagegraph.tenants.auth import hash_password

# Notices per publisher by tier: ~1.02 M for the whole city.
NOTICES_PER_UNIT = {"CITY": 3000, "COUNTY": 2000, "TOWN": 800, "VILLAGE": 230}


VILLAGE_WORDS = "上下东西南北前后大小新老"


VILLAGE_ROOTS = "岙垟岭溪桥塘山湖洋坑头埠浦垄"


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
        columns=column_names(OrgUnit.code, OrgUnit.name, OrgUnit.level, OrgUnit.parent_code),
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


async def generate_people(run: ScaleRun) -> None:
    h1, h2, h3 = sql_hash("r.id", 11), sql_hash("r.id", 23), sql_hash("r.id", 37)
    elder = "date '1966-11-01'"
    await chunked(
        run,
        "residents",
        f"""insert into {into(Resident.village_code, Resident.id, Resident.name, Resident.gender, Resident.birth_date, Resident.household_no, Resident.residence_code, Resident.residence_member, Resident.tags, Resident.id_number, Resident.phone, Resident.created_at)}
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
                   / {publisher}.notices + {sql_hash(notice_id, 41)} % 3600)
                  * interval '1 second')"""


async def generate_notices(run: ScaleRun) -> None:
    h = sql_hash("g", 41)
    boards = "array[" + ", ".join(f"'{b}'" for b in BOARDS) + "]"
    titles = "array[" + ", ".join(f"'{BOARD_TITLES[b]}'" for b in BOARDS) + "]"
    await chunked(
        run,
        "notices",
        f"""insert into {into(Notice.publisher_code, Notice.id, Notice.board, Notice.title, Notice.body, Notice.audience, Notice.target_tags, Notice.published_at, Notice.published_by)}
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
    h = sql_hash("r", 53)
    await chunked(
        run,
        "read receipts",
        f"""insert into {into(NoticeRead.resident_village, NoticeRead.resident_id, NoticeRead.notice_publisher, NoticeRead.notice_id, NoticeRead.read_at)}
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
        f"""insert into {into(Account.phone, Account.password_hash, Account.display_name)}
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
        f"""insert into {into(Grant.account_id, Grant.role, Grant.unit_code, Grant.granted_at)}
           select a.id,
                  case when a.phone = '19900000000' then 'ANALYST'
                       when a.phone like '16%' then 'CADRE' else 'OFFICIAL' end,
                  case when a.phone = '19900000000' then 330300000000
                       else split_part(a.display_name, ' ', 1)::bigint end,
                  timestamptz '2024-01-01 00:00+08'
             from vg.accounts a where a.resident_id is null"""
    )
    await conn.execute(
        f"""insert into {into(Account.phone, Account.password_hash, Account.display_name, Account.resident_village, Account.resident_id)}
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


WORLD: list[ScaleGenerator] = [
    generate_hierarchy,
    generate_people,
    generate_notices,
    generate_reads,
    generate_accounts,
    finish_sequences,
    generate_staff,
]
