"""The benchmark data generator at a tiny scale, and the dashboard rollups it relies on."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from tests.demo import TOWN_OFFICIAL, WUMA
from villagegraph import migrations
from villagegraph.database import Database, create_database
from villagegraph.seed.scale import (
    DOMAIN_SEQUENCES,
    SCALE_END,
    SCALES,
    plan_villages,
    seed_scale,
)

TINY = dataclasses.replace(
    SCALES["town"], residents_mean=30, notice_share=0.05, villages_per_town_limit=3
)

# Rollups recomputed from the base tables: must always equal the maintained ones.
LIVE_FIGURES = """
select code, sum(residents), sum(party), sum(readers), sum(published)
  from (select village_code as code, count(*) as residents,
               count(*) filter (where '党员' = any (tags)) as party, 0 as readers, 0 as published
          from vg.residents group by 1
        union all
        select resident_village, 0, 0, count(distinct resident_id), 0
          from vg.notice_reads group by 1
        union all
        select publisher_code, 0, 0, 0, count(*) from vg.notices group by 1) as s
 group by code"""
LIVE_MONTHLY = """
select coalesce(n.code, r.code) as code, coalesce(n.month, r.month) as month,
       coalesce(n.published, 0) as notices_published, coalesce(r.readers, 0) as notice_readers
  from (select publisher_code as code, vg.local_month(published_at) as month,
               count(*) as published from vg.notices group by 1, 2) n
  full join (select resident_village as code, vg.local_month(read_at) as month,
                    count(distinct resident_id) as readers
               from vg.notice_reads group by 1, 2) r on r.code = n.code and r.month = n.month"""
# Per unit (a village and its ancestors): residents by the month they read in and the
# month they last read in before it (0023_period_rollups).
LIVE_READER_MONTHS = """
select l.code, v.month, v.previous_month, sum(v.readers)
  from (select resident_village, month, previous_month, count(*) as readers
          from (select resident_village, month,
                       lag(month, 1, '-infinity'::date)
                           over (partition by resident_village, resident_id order by month)
                           as previous_month
                  from (select distinct resident_village, resident_id,
                               vg.local_month(read_at) as month
                          from vg.notice_reads) as months) as linked
         group by 1, 2, 3) as v
 cross join lateral vg.unit_lineage(v.resident_village) as l (code)
 group by 1, 2, 3"""


async def assert_rollups_match(conn: asyncpg.Connection) -> None:
    def by_key(records: list[Any], width: int) -> dict[tuple[Any, ...], tuple[int, ...]]:
        """Non-zero rows keyed by their first `width` columns, figures as ints."""
        found = {}
        for record in records:
            values = tuple(record)
            figures = tuple(int(v) for v in values[width:])
            if any(figures):
                found[values[:width]] = figures
        return found

    def assert_same(kept: dict[Any, Any], live: dict[Any, Any]) -> None:
        wrong = {
            k: (kept.get(k), live.get(k))
            for k in kept.keys() | live.keys()
            if kept.get(k) != live.get(k)
        }
        assert not wrong, (
            f"rollup (kept, live) differ for {len(wrong)}: {sorted(wrong.items())[:5]}"
        )

    kept = await conn.fetch(
        "select unit_code, residents, party_members, notice_readers, notices_published"
        " from vg.unit_figures"
    )
    assert_same(by_key(kept, 1), by_key(await conn.fetch(LIVE_FIGURES), 1))
    kept = await conn.fetch(
        "select unit_code, month, notices_published, notice_readers from vg.unit_monthly_figures"
    )
    assert_same(by_key(kept, 2), by_key(await conn.fetch(LIVE_MONTHLY), 2))
    kept = await conn.fetch(
        "select unit_code, month, previous_month, readers from vg.unit_reader_months"
    )
    assert_same(by_key(kept, 3), by_key(await conn.fetch(LIVE_READER_MONTHS), 3))


@pytest.fixture
async def empty_database(database: Database) -> AsyncIterator[Callable[[], Any]]:
    """Fresh migrated databases on the test server, dropped afterwards."""
    created: list[str] = []

    async def create() -> Database:
        name = f"vg_scale_{uuid.uuid4().hex[:8]}"
        created.append(name)
        db = await create_database(database, name)
        migrations.upgrade(db)
        return db

    yield create
    admin = await asyncpg.connect(database.admin_dsn)
    try:
        for name in created:
            await admin.execute(f'drop database "{name}" with (force)')
    finally:
        await admin.close()


DOMAIN_TABLES = (
    "cadres",
    "party_members",
    "households",
    "finance_entries",
    "finance_budgets",
    "consultations",
    "consultation_electors",
    "ballots",
    "suggestions",
    "suggestion_replies",
    "tasks",
    "task_reminders",
    "ledger_entries",
    "shelters",
    "listings",
)


async def _fingerprint(conn: asyncpg.Connection) -> list[str]:
    tables = ("org_units", "residents", "notices", "notice_reads", "grants", *DOMAIN_TABLES)
    return [
        await conn.fetchval(
            f"select md5(string_agg(t::text, ',' order by t::text)) from vg.{table} t"
        )
        for table in tables
    ]


async def assert_domains_consistent(conn: asyncpg.Connection) -> None:
    """What the domains' triggers and rules would have made of the generated rows."""
    await assert_consultations_consistent(conn)
    await assert_finance_consistent(conn)
    await assert_suggestions_consistent(conn)
    await assert_tasks_consistent(conn)
    await assert_ledger_and_people_consistent(conn)


async def assert_consultations_consistent(conn: asyncpg.Connection) -> None:
    # A closed consultation's stored result is what its ballots give, by the migration's
    # own count and decision; the open poll has ballots and no result yet.
    wrong = await conn.fetch(
        """select c.id from vg.consultations c
             cross join lateral vg.count_ballots(array[c.id]) t
             cross join lateral vg.consultation_decision(c.rule, t.votes, t.ballots,
                 t.households, t.electors, t.elector_households) d
            where c.closed_at is not null
              and (c.eligible_count, c.eligible_households, c.ballots_cast, c.households_voted,
                   c.votes, c.quorum_met, c.winning_option, c.passed)
                  is distinct from (t.electors::int, t.elector_households::int, t.ballots::int,
                   t.households::int, t.votes::int[], d.quorum_met, d.winning_option, d.passed)"""
    )
    assert not wrong
    consultations = await conn.fetchrow(
        """select count(*) filter (where closed_at is not null and ballots_cast > 0) as closed,
                  count(*) filter (where closed_at is null) as open,
                  count(*) filter (where closed_at is null and ballots_cast is not null) as leaked
             from vg.consultations"""
    )
    assert consultations["closed"] > 0 and consultations["open"] > 0
    assert consultations["leaked"] == 0
    assert not await conn.fetchval(
        """select exists (select 1 from vg.ballots b join vg.consultations c
                            on c.village_code = b.village_code and c.id = b.consultation_id
                           where b.cast_at < c.opens_at or b.cast_at >= c.closes_at)"""
    )


async def assert_finance_consistent(conn: asyncpg.Connection) -> None:
    # A reversal negates the entry it corrects, in its period and category.
    finance = await conn.fetchrow(
        """select count(r.id) as reversals,
                  count(*) filter (where r.amount <> -e.amount or r.period <> e.period
                                      or r.category <> e.category) as bad
             from vg.finance_entries r
             join vg.finance_entries e
               on e.village_code = r.village_code and e.id = r.reverses_id"""
    )
    assert finance["reversals"] > 0 and finance["bad"] == 0
    periods = await conn.fetchval("select count(distinct period) from vg.finance_entries")
    assert periods == 24


async def assert_suggestions_consistent(conn: asyncpg.Connection) -> None:
    # Suggestions in every state; the first answer is the first reply, and only answered
    # ones have one.
    states = {r[0] for r in await conn.fetch("select distinct status from vg.suggestions")}
    assert states == {"SUBMITTED", "ACKNOWLEDGED", "IN_PROGRESS", "ANSWERED", "CLOSED", "REJECTED"}
    assert not await conn.fetchval(
        """select exists (
               select 1 from vg.suggestions s
                where s.first_answered_at is distinct from
                      (select min(r.replied_at) from vg.suggestion_replies r
                        where r.village_code = s.village_code and r.suggestion_id = s.id)
                   or (s.first_answered_at is not null) <> (s.status in ('ANSWERED', 'CLOSED')))"""
    )


async def assert_tasks_consistent(conn: asyncpg.Connection) -> None:
    # Tasks done on time, late, overdue, escalated (to the issuer's superior), open; every
    # reminder is for a task of its assignee.
    end = SCALE_END
    tasks = await conn.fetchrow(
        """select count(*) filter (where completed_at <= due_at) as on_time,
                  count(*) filter (where completed_at > due_at) as late,
                  count(*) filter (where completed_at is null and due_at < $1
                                     and escalated_to is null) as overdue,
                  count(*) filter (where escalated_to is not null) as escalated,
                  count(*) filter (where escalated_to is not null and escalated_to <>
                      (select parent_code from vg.org_units where code = issuer_code)) as misrouted,
                  count(*) filter (where due_at > $1 and completed_at is null) as open
             from vg.tasks""",
        end,
    )
    assert tasks["misrouted"] == 0
    assert all(tasks[k] > 0 for k in ("on_time", "late", "overdue", "escalated", "open"))
    kinds = {r[0] for r in await conn.fetch("select distinct kind from vg.task_reminders")}
    assert kinds == {"DUE_SOON", "OVERDUE", "ESCALATED"}


async def assert_ledger_and_people_consistent(conn: asyncpg.Connection) -> None:
    # The ledger holds the benchmark's keyword; six people hold today's seats per village
    # (the 书记 chairs the committee too); every 党员 is a party member.
    assert await conn.fetchval(
        "select count(*) from vg.ledger_entries where search_text like '%河道%'"
    )
    seats = await conn.fetch(
        """select count(distinct resident_id) from vg.cadres
            where term_start <= current_date and (term_end is null or term_end > current_date)
            group by village_code"""
    )
    assert seats and {r[0] for r in seats} == {6}
    assert await conn.fetchval(
        "select count(*) from vg.residents where '党员' = any (tags)"
    ) == await conn.fetchval("select count(*) from vg.party_members")


async def test_tiny_town_scale_is_complete_deterministic_and_rolled_up(empty_database):
    fingerprints = []
    for _ in range(2):
        db = await empty_database()
        summary = await seed_scale(db.url("owner"), TINY, progress_out=io.StringIO())
        assert summary is not None
        conn = await asyncpg.connect(db.admin_dsn)
        try:
            fingerprints.append(await _fingerprint(conn))
            villages = plan_villages(TINY)
            assert [v[0] for v in villages] == [int(WUMA) + 1, int(WUMA) + 2, int(WUMA) + 3]
            assert summary.rows["residents"] == sum(v[3] for v in villages)
            assert summary.rows["org_units"] == 204 + 3  # the real divisions and the villages
            levels = await conn.fetch(
                """select u.level, count(*) from vg.notices n
                     join vg.org_units u on u.code = n.publisher_code group by 1"""
            )
            assert {r["level"] for r in levels} == {"CITY", "COUNTY", "TOWN", "VILLAGE"}
            people = await conn.fetchrow(
                """select count(*) filter (where household_no is null or birth_date is null) as bad,
                          count(*) filter (where '党员' = any (tags)) as party,
                          count(distinct household_no) as households from vg.residents"""
            )
            assert people["bad"] == 0 and people["party"] > 0
            assert 0 < people["households"] < summary.rows["residents"]
            assert summary.rows["notice_reads"] > summary.rows["residents"]
            # Every receipt is for a notice its reader can see (its own village's).
            assert not await conn.fetchval(
                "select exists (select 1 from vg.notice_reads where resident_village <> notice_publisher)"
            )
            await assert_rollups_match(conn)
            assert all(summary.rows[table] > 0 for table in DOMAIN_TABLES)
            await assert_domains_consistent(conn)
            # Benchmark principals: an official per unit with villages, a cadre per village,
            # two resident accounts per village and an analyst.
            roles = dict(await conn.fetch("select role, count(*) from vg.grants group by 1"))
            assert roles == {"OFFICIAL": 3, "CADRE": 3, "ANALYST": 1}
            assert await conn.fetchval(
                "select count(*) from vg.accounts where resident_id is not null"
            ) == 2 * len(villages)
            # The sequences continue after the generated ids.
            assert await conn.fetchval("select nextval('vg.notices_id_seq')") > await conn.fetchval(
                "select max(id) from vg.notices"
            )
            for table, sequence in DOMAIN_SEQUENCES.items():
                assert await conn.fetchval(f"select nextval('vg.{sequence}')") > (
                    await conn.fetchval(f"select max(id) from vg.{table}")
                )
        finally:
            await conn.close()
        assert await seed_scale(db.url("owner"), TINY, progress_out=io.StringIO()) is None
    assert fingerprints[0] == fingerprints[1]


async def test_rollups_follow_every_write_in_its_transaction(gql, owner_pool, make_village):
    village = await make_village(residents=2, tags=[["党员"], []])
    publish = """mutation($u: ID!) { publishNotice(input: {unit: $u, board: AFFAIRS,
        title: "议事", body: "本周议事", audience: PUBLIC}) { id } }"""
    notice = (await gql.data(publish, {"u": village["code"]}, as_=village["cadre"]))[
        "publishNotice"
    ]
    read = "mutation($id: ID!) { markNoticeRead(id: $id) { id } }"
    for _ in range(2):  # a repeated read adds no reader
        await gql.data(read, {"id": notice["id"]}, as_=village["residents"][0]["phone"])
    figures = await owner_pool.fetchrow(
        "select * from vg.unit_figures where unit_code = $1", int(village["code"])
    )
    assert (figures["residents"], figures["party_members"], figures["notice_readers"]) == (2, 1, 1)
    assert figures["notices_published"] == 1
    monthly = await owner_pool.fetch(
        "select notices_published, notice_readers from vg.unit_monthly_figures where unit_code = $1",
        int(village["code"]),
    )
    assert [tuple(m) for m in monthly] == [(1, 1)]
    async with owner_pool.acquire() as conn:
        await assert_rollups_match(conn)


async def test_rollups_are_read_only_and_scoped_for_the_request_role(as_request_role, account_id):
    await as_request_role.begin_as(await account_id(TOWN_OFFICIAL))
    codes = [
        r["unit_code"] for r in await as_request_role.fetch("select unit_code from vg.unit_figures")
    ]
    assert codes and all(int(WUMA) <= code <= int(WUMA) + 999 for code in codes)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_request_role.execute(
            "update vg.unit_figures set residents = 0 where unit_code = $1", codes[0]
        )


async def test_month_periods_from_rollups_and_day_periods_from_live_rows_agree(gql, owner_pool):
    query = """query($u: ID!, $from: String, $to: String) {
        dashboard(unit: $u, from: $from, to: $to) { noticesPublished noticeReach } }"""
    live = """select (select count(*) from vg.notices where publisher_code between $1 and $1 + 999
                        and published_at >= $2::date::timestamp at time zone 'Asia/Shanghai'
                        and published_at < $3::date::timestamp at time zone 'Asia/Shanghai'),
                     (select count(distinct (resident_village, resident_id)) from vg.notice_reads
                       where resident_village between $1 and $1 + 999
                        and read_at >= $2::date::timestamp at time zone 'Asia/Shanghai'
                        and read_at < $3::date::timestamp at time zone 'Asia/Shanghai')"""
    month = await owner_pool.fetchval(
        "select vg.local_month(max(read_at)) from vg.notice_reads where resident_village between $1 and $1 + 999",
        int(WUMA),
    )
    cases = (
        (
            f"{month:%Y-%m}",
            f"{month:%Y-%m}",
            month,
            (month.replace(day=28) + timedelta(days=4)).replace(day=1),
        ),  # rollups
        (f"{month:%Y-%m}-02", f"{month:%Y-%m}-20", month.replace(day=2), month.replace(day=21)),
    )
    for since, until, lo, hi in cases:
        data = await gql.data(query, {"u": WUMA, "from": since, "to": until}, as_=TOWN_OFFICIAL)
        expected = tuple(await owner_pool.fetchrow(live, int(WUMA), lo, hi))
        got = (data["dashboard"]["noticesPublished"], data["dashboard"]["noticeReach"])
        assert got == expected
        assert got[0] > 0 or since.count("-") == 2


async def test_concurrent_first_reads_of_one_resident_count_one_reader(
    gql, owner_pool, make_village
):
    village = await make_village(residents=1)
    publish = """mutation($u: ID!, $t: String!) { publishNotice(input: {unit: $u, board: NOTICE,
        title: $t, body: "正文", audience: PUBLIC}) { id } }"""
    ids = [
        (await gql.data(publish, {"u": village["code"], "t": f"通知{i}"}, as_=village["cadre"]))[
            "publishNotice"
        ]["id"]
        for i in range(12)
    ]
    read = "mutation($id: ID!) { markNoticeRead(id: $id) { read } }"
    reader = village["residents"][0]["phone"]
    await asyncio.gather(*(gql.data(read, {"id": i}, as_=reader) for i in ids))
    figures = await owner_pool.fetchrow(
        "select notice_readers from vg.unit_figures where unit_code = $1", int(village["code"])
    )
    monthly = await owner_pool.fetchval(
        "select sum(notice_readers) from vg.unit_monthly_figures where unit_code = $1",
        int(village["code"]),
    )
    assert (figures["notice_readers"], monthly) == (1, 1)
