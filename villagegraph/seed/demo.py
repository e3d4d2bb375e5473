"""The demo of docs/API.md: Wenzhou's real counties and towns, twelve villages under four towns,
residents with tags, the demo accounts (password `demo`), and notices on every board.
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, timedelta, timezone
from importlib import resources

import asyncpg

from villagegraph.models import column_names, into
from villagegraph.models.accounts import Account, Grant
from villagegraph.models.hierarchy import OrgUnit
from villagegraph.models.notices import Notice, NoticeRead
from villagegraph.models.residents import Resident
from villagegraph.tenants.auth import hash_password

DEMO_PASSWORD = "demo"
DEMO_NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))

CITY = 330300000000
DEMO_TOWNS = (330302006000, 330302102000, 330381001000, 330381101000)

COMMUNITY_NAMES = ("县前社区", "墨池社区", "仓桥社区", "西山社区", "南塘社区", "河滨社区")
VILLAGE_NAMES = ("上岙村", "下垟村", "东岙村", "岭头村", "溪口村", "桥头村")

# phone, display name, role, unit (None: resident), household village of a resident
DEMO_ACCOUNTS = (
    ("13800000000", "温州市 政务员", "OFFICIAL", 330300000000),
    ("13800000001", "鹿城区 政务员", "OFFICIAL", 330302000000),
    ("13800000002", "五马街道 政务员", "OFFICIAL", 330302006000),
    ("13800000003", "县前社区 书记", "CADRE", 330302006001),
    ("13800000020", "温州市 数据分析员", "ANALYST", 330300000000),
)
DEMO_RESIDENTS: tuple[tuple[str, int, list[str]], ...] = (
    # phone, village, tags
    ("13800000010", 330302006001, ["党员"]),
    ("13800000011", 330302006002, ["低保"]),
    ("13800000012", 330381001001, []),
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗叶潘金郑"
GIVEN = "建国华明伟芳娟敏静丽强磊军洋勇艳杰娜涛超秀英霞平刚桂兰"
TAG_POOL = (
    ("党员", 0.12),
    ("老人", 0.2),
    ("低保", 0.06),
    ("残疾", 0.04),
    ("五保", 0.01),
    ("退役军人", 0.03),
)
BOARDS = (
    "ORGANIZATION",
    "PARTY_AFFAIRS",
    "FINANCE",
    "AFFAIRS",
    "NOTICE",
    "RULES",
    "HONORS",
    "POLICY",
    "SCIENCE",
    "REVITALIZATION",
)
BOARD_TITLES = {
    "ORGANIZATION": "组织公开",
    "PARTY_AFFAIRS": "党务公开",
    "FINANCE": "财务公开",
    "AFFAIRS": "事务公开",
    "NOTICE": "通知",
    "RULES": "制度公约",
    "HONORS": "荣誉榜",
    "POLICY": "政策法规",
    "SCIENCE": "科普教育",
    "REVITALIZATION": "乡村振兴",
}
RESIDENTS_PER_VILLAGE = 36


def demo_villages() -> list[tuple[int, str, int]]:
    """(code, name, town) for the twelve demo villages and communities."""
    villages = []
    for town in DEMO_TOWNS:
        is_street = (town // 1000) % 1000 < 100  # 街道 codes are 001-099, towns 100+
        for i in range(3):
            if is_street:
                villages.append((town + 1 + i, COMMUNITY_NAMES[(town // 1000 + i) % 6], town))
            else:
                villages.append((town + 201 + i, VILLAGE_NAMES[(town // 1000 + i) % 6], town))
    return villages


def wenzhou_divisions() -> list[tuple[int, str, str, int | None]]:
    """The real city, counties and towns (2022 statistical division codes)."""
    source = resources.files("villagegraph.data").joinpath("wenzhou-divisions.csv")
    with source.open(encoding="utf-8") as handle:
        return [
            (
                int(r["code"]),
                r["name"],
                r["level"],
                int(r["parent_code"]) if r["parent_code"] else None,
            )
            for r in csv.DictReader(handle)
        ]


async def seed_hierarchy(conn: asyncpg.Connection, rng: random.Random) -> None:
    units = wenzhou_divisions()
    units += [(code, name, "VILLAGE", town) for code, name, town in demo_villages()]
    await conn.copy_records_to_table(
        "org_units",
        schema_name="vg",
        records=units,
        columns=column_names(OrgUnit.code, OrgUnit.name, OrgUnit.level, OrgUnit.parent_code),
    )


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _id_number(village: int, birth: date, serial: int) -> str:
    return f"{str(village)[:6]}{birth:%Y%m%d}{serial % 1000:03d}{serial % 10}"


async def seed_people(conn: asyncpg.Connection, rng: random.Random) -> None:
    villages = [code for code, _, _ in demo_villages()]
    records = []
    serial = 0
    demo_by_village = {v: (phone, tags) for phone, v, tags in DEMO_RESIDENTS}
    for village in villages:
        for i in range(RESIDENTS_PER_VILLAGE):
            serial += 1
            birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 66))
            tags = [tag for tag, share in TAG_POOL if rng.random() < share]
            if date(2026, 11, 1).year - birth.year >= 60 and "老人" not in tags:
                tags.append("老人")
            residence, member = None, False
            phone = f"137{serial:08d}"
            if i == 0 and village in demo_by_village:
                # The demo residents live where they are registered.
                phone, tags = demo_by_village[village]
            elif i % 12 == 5:
                residence = villages[(villages.index(village) + 1) % len(villages)]
                member = i % 24 == 5
            records.append(
                (
                    village,
                    serial,
                    _person(rng),
                    rng.choice("MF"),
                    birth,
                    f"{village}-{i // 3:03d}",
                    residence,
                    member,
                    sorted(tags),
                    _id_number(village, birth, serial),
                    phone,
                )
            )
    await conn.copy_records_to_table(
        "residents",
        schema_name="vg",
        records=records,
        columns=column_names(
            Resident.village_code,
            Resident.id,
            Resident.name,
            Resident.gender,
            Resident.birth_date,
            Resident.household_no,
            Resident.residence_code,
            Resident.residence_member,
            Resident.tags,
            Resident.id_number,
            Resident.phone,
        ),
    )
    await conn.execute("select setval('vg.residents_id_seq', (select max(id) from vg.residents))")


async def seed_accounts(conn: asyncpg.Connection, rng: random.Random) -> None:
    password_hash = hash_password(DEMO_PASSWORD)
    for phone, name, role, unit in DEMO_ACCOUNTS:
        account = await conn.fetchval(
            f"insert into {into(Account.phone, Account.password_hash, Account.display_name)} values ($1, $2, $3)"
            " returning id",
            phone,
            password_hash,
            name,
        )
        await conn.execute(
            f"insert into {into(Grant.account_id, Grant.role, Grant.unit_code)} values ($1, $2, $3)",
            account,
            role,
            unit,
        )
    for phone, village, _ in DEMO_RESIDENTS:
        await conn.execute(
            f"""insert into {into(Account.phone, Account.password_hash, Account.display_name, Account.resident_village, Account.resident_id)}
               select $1, $2, name, village_code, id from vg.residents
                where village_code = $3 and phone = $1""",
            phone,
            password_hash,
            village,
        )
    # Two more cadres for every village (村委会 and 党支部), so cadre figures are real.
    for index, (village, name, _) in enumerate(demo_villages()):
        for seat in range(2):
            if village == 330302006001 and seat == 0:
                continue  # 13800000003 already holds this seat
            account = await conn.fetchval(
                f"insert into {into(Account.phone, Account.password_hash, Account.display_name)} values ($1, $2, $3)"
                " returning id",
                f"1390000{index:02d}{seat:02d}",
                password_hash,
                f"{name} {'主任' if seat else '书记'}",
            )
            await conn.execute(
                f"insert into {into(Grant.account_id, Grant.role, Grant.unit_code)} values ($1, 'CADRE', $2)",
                account,
                village,
            )


async def seed_notices(conn: asyncpg.Connection, rng: random.Random) -> None:
    """Every board at every demo tier; some members-only, some targeted to 低保 households."""
    counties = sorted({town - town % 1_000_000 for town in DEMO_TOWNS})
    publishers = [CITY, *counties, *DEMO_TOWNS, *(code for code, _, _ in demo_villages())]
    names = dict(await conn.fetch("select code, name from vg.org_units"))
    publisher_account = await conn.fetchval(
        "select id from vg.accounts where phone = '13800000000'"
    )
    records = []
    for publisher in publishers:
        for index, board in enumerate(BOARDS):
            audience = (
                "MEMBERS"
                if board in ("FINANCE", "PARTY_AFFAIRS") and publisher % 1000
                else "PUBLIC"
            )
            tags = ["低保"] if board == "POLICY" and publisher in DEMO_TOWNS else []
            published = DEMO_NOW - timedelta(days=rng.randrange(0, 90), minutes=index)
            title = f"{names[publisher]}{BOARD_TITLES[board]}：{published:%Y年%m月}"
            body = f"{names[publisher]}发布的{BOARD_TITLES[board]}内容。"
            records.append(
                (publisher, board, title, body, audience, tags, published, publisher_account)
            )
    await conn.copy_records_to_table(
        "notices",
        schema_name="vg",
        records=records,
        columns=column_names(
            Notice.publisher_code,
            Notice.board,
            Notice.title,
            Notice.body,
            Notice.audience,
            Notice.target_tags,
            Notice.published_at,
            Notice.published_by,
        ),
    )
    # About a third of residents read each untargeted public notice that reaches them.
    await conn.execute(
        f"""insert into {into(NoticeRead.resident_village, NoticeRead.resident_id, NoticeRead.notice_publisher, NoticeRead.notice_id, NoticeRead.read_at)}
           select r.village_code, r.id, n.publisher_code, n.id, n.published_at + interval '1 day'
             from vg.residents r
             join vg.notices n on n.publisher_code = any (vg.ancestors_or_self(r.village_code))
            where n.audience = 'PUBLIC' and cardinality(n.target_tags) = 0
              and (r.id + n.id) % 3 = 0"""
    )
