"""The people and services part of the demo: households, a history that starts in 2019
(with a 低保 change in March 2026), party members, cadres with terms (one finished term
per village), listings in every review state, and shelters around Wenzhou.

Runs after the core seeders (residents and accounts exist), as the owner role.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import asyncpg

from villagegraph.models import into
from villagegraph.models.listings import Listing
from villagegraph.models.residents import (
    Cadre,
    Household,
    MembershipRequest,
    PartyMember,
    ResidentHistory,
)
from villagegraph.models.shelters import Shelter
from villagegraph.seed.demo import DEMO_NOW, DEMO_TOWNS, demo_villages

HISTORY_START = date(2019, 1, 1)
# 低保 was granted to the demo's 低保 households on this date (earlier months lack it).
LOW_INCOME_SINCE = date(2026, 3, 1)
TERM_START = date(2021, 1, 15)  # the 2021 村社组织换届
PREVIOUS_TERM_START = date(2017, 12, 20)

PRODUCTS = (
    ("瓯柑", "温州特产瓯柑，皮薄汁多，清甜微苦。", "8.00"),
    ("茶山杨梅", "茶山东魁杨梅，个大味甜，当天采摘。", "60.00"),
    ("楠溪江田鱼干", "稻田养殖田鱼，古法晒制。", "120.00"),
    ("雁荡山铁皮石斛", "林下仿野生铁皮石斛鲜条。", "380.00"),
    ("瑞安马蹄笋", "清明前后的鲜笋，脆嫩爽口。", "15.00"),
    ("泽雅手工纸", "四连碓造纸技艺制作的屏纸。", "30.00"),
)
FARM_STAYS = (
    ("溪边人家农家乐", "临溪木屋，提供农家土菜与垂钓。", "280.00", 6, 16),
    ("山顶云舍民宿", "山顶观云海，可住可餐。", "420.00", 8, 20),
    ("老宅院农家乐", "百年老宅改造，体验乡村慢生活。", "198.00", 4, 10),
)
FACILITIES = ("饮用水", "应急照明", "医疗箱", "发电机", "床铺", "无障碍通道", "广播")

# Demo centres of the four towns (WGS-84, kept inside 27.9-28.1 N, 120.6-120.8 E, around
# Wenzhou's urban area); shelters scatter within about 2 km of them.
TOWN_CENTRES = {
    330302006000: (28.0165, 120.6555),  # 五马街道
    330302102000: (28.0450, 120.6150),  # 藤桥镇
    330381001000: (27.9300, 120.6600),  # 安阳街道
    330381101000: (27.9150, 120.7300),  # 塘下镇
}


async def seed_people(conn: asyncpg.Connection, rng: random.Random) -> None:
    await _seed_history(conn)
    await _seed_households(conn)
    await _seed_party_members(conn)
    await _seed_cadres(conn, rng)
    await _seed_listings(conn, rng)
    await _seed_shelters(conn, rng)
    await _seed_membership_requests(conn)


async def _seed_history(conn: asyncpg.Connection) -> None:
    # The registry was digitised in 2019; the trigger dated every version today.
    await conn.execute(
        "update vg.resident_history set valid_from = $1 where valid_to is null", HISTORY_START
    )
    # Before LOW_INCOME_SINCE the demo's 低保 residents were not yet 低保.
    await conn.execute(
        f"""with changed as (
               update vg.resident_history set valid_from = $2
                where valid_to is null and '低保' = any (tags)
            returning village_code, resident_id, residence_code, household_no, gender,
                      birth_date, tags)
           insert into {into(ResidentHistory.village_code, ResidentHistory.resident_id, ResidentHistory.valid_from, ResidentHistory.valid_to, ResidentHistory.residence_code, ResidentHistory.household_no, ResidentHistory.gender, ResidentHistory.birth_date, ResidentHistory.tags)}
           select village_code, resident_id, $1, $2, residence_code, household_no, gender,
                  birth_date, array_remove(tags, '低保')
             from changed""",
        HISTORY_START,
        LOW_INCOME_SINCE,
    )


async def _seed_households(conn: asyncpg.Connection) -> None:
    await conn.execute(
        f"""insert into {into(Household.village_code, Household.household_no, Household.head_resident_id, Household.address, Household.registered_on)}
           select r.village_code, r.household_no, min(r.id),
                  u.name || (substr(r.household_no, length(r.household_no) - 2)::int + 1) || '号',
                  $1
             from vg.residents r join vg.org_units u on u.code = r.village_code
            where r.household_no is not null
            group by r.village_code, r.household_no, u.name""",
        HISTORY_START,
    )


async def _seed_party_members(conn: asyncpg.Connection) -> None:
    # Everyone tagged 党员 joined the village's branch before the history starts.
    await conn.execute(
        f"""insert into {into(PartyMember.village_code, PartyMember.resident_id, PartyMember.joined_on, PartyMember.branch_code)}
           select village_code, id,
                  least(greatest(birth_date + interval '20 years', date '1975-07-01')
                        + (id % 2000) * interval '1 day', date '2018-07-01')::date,
                  village_code
             from vg.residents where '党员' = any (tags)"""
    )


async def _seed_cadres(conn: asyncpg.Connection, rng: random.Random) -> None:
    """The 书记 and 主任 seats held by the demo cadre accounts, two 委员 from the party
    members, and each village's previous 书记 whose term ended at the 2021 换届."""
    for index, (village, name, _) in enumerate(demo_villages()):
        phones = [f"1390000{index:02d}{seat:02d}" for seat in range(2)]
        if village == 330302006001:
            phones[0] = "13800000003"
        accounts = await conn.fetch(
            "select id, phone from vg.accounts where phone = any($1::text[])", phones
        )
        by_phone = {row["phone"]: row["id"] for row in accounts}
        party = await conn.fetch(
            """select id, name from vg.residents
                where village_code = $1 and '党员' = any (tags) order by id limit 3""",
            village,
        )
        seats = [
            ("PARTY_BRANCH", "书记", f"{name}书记", None, by_phone.get(phones[0]), TERM_START),
            ("COMMITTEE", "主任", f"{name}主任", None, by_phone.get(phones[1]), TERM_START),
        ]
        for member in party[:2]:
            seats.append(("PARTY_BRANCH", "委员", member["name"], member["id"], None, TERM_START))
        for body, position, person, resident, account, start in seats:
            await conn.execute(
                f"""insert into {into(Cadre.village_code, Cadre.name, Cadre.body, Cadre.position, Cadre.resident_village, Cadre.resident_id, Cadre.account_id, Cadre.term_start)}
                   values ($1, $2, $3, $4, case when $5::bigint is null then null else $1::bigint end,
                           $5, $6, $7)""",
                village,
                person,
                body,
                position,
                resident,
                account,
                start,
            )
        await conn.execute(
            f"""insert into {into(Cadre.village_code, Cadre.name, Cadre.body, Cadre.position, Cadre.term_start, Cadre.term_end)}
               values ($1, $2, 'PARTY_BRANCH', '书记', $3, $4)""",
            village,
            f"{name}原书记",
            PREVIOUS_TERM_START,
            TERM_START,
        )


async def _seed_listings(conn: asyncpg.Connection, rng: random.Random) -> None:
    """Per village: an approved product and farm stay, one pending, one rejected; the demo
    resident 13800000010 is the applicant of its village's pending and rejected ones."""
    reviewer = dict(
        await conn.fetch(
            """select c.village_code, c.account_id from vg.cadres c
                where c.position = '书记' and c.term_end is null"""
        )
    )
    for index, (village, _, _) in enumerate(demo_villages()):
        applicants = await conn.fetch(
            """select r.id, a.id as account from vg.residents r
                 left join vg.accounts a on a.resident_village = r.village_code
                                        and a.resident_id = r.id
                where r.village_code = $1 order by r.id limit 4""",
            village,
        )
        product = PRODUCTS[index % len(PRODUCTS)]
        stay = FARM_STAYS[index % len(FARM_STAYS)]
        other = PRODUCTS[(index + 1) % len(PRODUCTS)]
        applied = DEMO_NOW - timedelta(days=30 + index)
        entries = [
            ("SPECIALTY_PRODUCT", product, None, None, "APPROVED", None, applicants[1]),
            ("FARM_STAY", stay[:3], stay[3], stay[4], "APPROVED", None, applicants[2]),
            ("SPECIALTY_PRODUCT", other, None, None, "PENDING", None, applicants[0]),
            (
                "FARM_STAY",
                stay[:3],
                2,
                4,
                "REJECTED",
                "证照不全，请补充食品经营许可证。",
                applicants[0],
            ),
        ]
        for number, (kind, (title, text, price), rooms, capacity, status, reason, who) in enumerate(
            entries
        ):
            reviewed = status != "PENDING"
            await conn.execute(
                f"""insert into {into(Listing.village_code, Listing.kind, Listing.name, Listing.description, Listing.price, Listing.contact, Listing.photos, Listing.rooms, Listing.capacity, Listing.status, Listing.review_reason, Listing.applicant_id, Listing.applied_by, Listing.applied_at, Listing.reviewed_by, Listing.reviewed_at)}
                   values ($1, $2, $3, $4, $5::numeric, $6, $7, $8, $9, $10, $11, $12, $13,
                           $14, $15, $16)""",
                village,
                kind,
                title,
                text,
                price,
                f"0577-{rng.randrange(55000000, 89999999)}",
                [f"https://img.example.cn/listings/{village}/{number}.jpg"],
                rooms,
                capacity,
                status,
                reason,
                who["id"],
                who["account"],
                applied,
                reviewer.get(village) if reviewed else None,
                applied + timedelta(days=2) if reviewed else None,
            )


async def _seed_shelters(conn: asyncpg.Connection, rng: random.Random) -> None:
    """Per demo town: two town-run shelters, and one per village; mostly on standby."""
    names = dict(await conn.fetch("select code, name from vg.org_units"))
    villages = demo_villages()
    records = []
    for town in DEMO_TOWNS:
        lat0, lng0 = TOWN_CENTRES[town]
        units = [town, town] + [code for code, _, parent in villages if parent == town]
        for number, unit in enumerate(units):
            place = (
                "中学体育馆避灾安置点"
                if number == 0
                else "文化礼堂避灾安置点"
                if unit % 1000
                else "避灾中心"
            )
            status = "OPEN" if number == 1 else "CLOSED" if number == 4 else "STANDBY"
            records.append(
                (
                    unit,
                    f"{names[unit]}{place}",
                    f"温州市{names[town]}{names[unit] if unit % 1000 else ''}{number + 1}号",
                    round(lat0 + rng.uniform(-0.02, 0.02), 6),
                    round(lng0 + rng.uniform(-0.02, 0.02), 6),
                    rng.choice((80, 120, 200, 300, 500)),
                    sorted(rng.sample(FACILITIES, 4)),
                    f"0577-{rng.randrange(55000000, 89999999)}",
                    status,
                    datetime(2026, 6, 1, 9, 0, tzinfo=DEMO_NOW.tzinfo),
                )
            )
    await conn.executemany(
        f"""insert into {into(Shelter.unit_code, Shelter.name, Shelter.address, Shelter.lat, Shelter.lng, Shelter.capacity, Shelter.facilities, Shelter.contact, Shelter.status, Shelter.updated_at)}
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        records,
    )


async def _seed_membership_requests(conn: asyncpg.Connection) -> None:
    """接纳为本村成员: residents admitted where they live got there through a request the
    residence village's cadre accepted; those living elsewhere without membership have one
    pending, asked by their household village's cadre (the admission flow of issue 12)."""
    await conn.execute(
        f"""insert into {into(MembershipRequest.village_code, MembershipRequest.resident_village, MembershipRequest.resident_id, MembershipRequest.status, MembershipRequest.requested_by, MembershipRequest.requested_at, MembershipRequest.decided_by, MembershipRequest.decided_at)}
           select r.residence_code, r.village_code, r.id,
                  case when r.residence_member then 'ACCEPTED' else 'PENDING' end,
                  asker.account_id, timestamptz '2026-01-05 09:00+08',
                  case when r.residence_member then decider.account_id end,
                  case when r.residence_member then timestamptz '2026-01-08 10:00+08' end
             from vg.residents r
             join lateral (select g.account_id from vg.grants g
                            where g.role = 'CADRE' and g.unit_code = r.village_code
                            order by g.id limit 1) asker on true
             join lateral (select g.account_id from vg.grants g
                            where g.role = 'CADRE' and g.unit_code = r.residence_code
                            order by g.id limit 1) decider on true
            where r.residence_code is not null and r.residence_code <> r.village_code"""
    )
