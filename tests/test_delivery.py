"""Reaching every resident (issue 14): push rules, the worker's fan-out (exact, idempotent,
concurrent, crash-safe, compared with the reference model), the emergency and resolution
broadcasts, follow-up for cadres (Notice.delivery, unreadRecipients, the unread-notice
task), family proxies, and messages people can read."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests import reference_model as model
from tests.demo import CITY, CITY_OFFICIAL, LUCHENG, RESIDENT, TOWN_OFFICIAL, VILLAGE_CADRE
from villagegraph.resolvers.notices import raise_unread_notice_tasks
from villagegraph.resolvers.notifications import announce
from villagegraph.tenants.auth import hash_password
from villagegraph.worker.fanout import fan_out
from villagegraph.worker.messages import china_time, render

PUBLISH = """mutation($i: PublishNoticeInput!) { publishNotice(input: $i) { id urgent } }"""
DELIVERY = """query($id: ID!) { notice(id: $id) {
    delivery { recipients queued sent failed read }
    unreadRecipients(first: 50) { totalCount edges { node { id name phone } } } } }"""
_towns = itertools.count(150)


async def _villagers(
    conn: Any, account: Any, code: int, v: int, residents: int
) -> list[dict[str, Any]]:
    """The residents of one test village, each with an account; every second one 低保."""
    people = []
    for i in range(residents):
        tags = ["低保"] if i % 2 == 0 else []
        rid = await conn.fetchval(
            """insert into vg.residents (village_code, name, tags, id_number, phone)
               values ($1, $2, $3, $4, $5) returning id""",
            code,
            f"村民{v}-{i}",
            tags,
            f"33030219500101{v}{i:03d}",
            f"1390000{v}{i:03d}",
        )
        phone = await account(conn, f"村民{v}-{i}", code, rid)
        people.append({"id": rid, "village": code, "phone": phone, "tags": tags})
    return people


async def make_town(owner_pool: Any, villages: int = 2, residents: int = 3) -> dict[str, Any]:
    """A town of its own under 鹿城区 with villages, residents (every second one 低保), a
    town official, a village cadre per village and one resident living in from elsewhere."""
    town = int(LUCHENG) + next(_towns) * 1000
    while await owner_pool.fetchval("select 1 from vg.org_units where code = $1", town):
        town = int(LUCHENG) + next(_towns) * 1000
    password = hash_password("demo")
    phones = itertools.count()
    out: dict[str, Any] = {"code": town, "villages": [], "people": []}

    async def account(
        conn: Any, name: str, village: int | None = None, rid: int | None = None
    ) -> Any:
        phone = f"17{town // 1000 % 1000:03d}{next(phones):06d}"
        await conn.execute(
            """insert into vg.accounts (phone, password_hash, display_name, resident_village,
                                        resident_id) values ($1, $2, $3, $4, $5)""",
            phone,
            password,
            name,
            village,
            rid,
        )
        return phone

    async with owner_pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "insert into vg.org_units (code, name, level, parent_code) values ($1, $2, 'TOWN', $3)",
            town,
            f"测试镇{town // 1000 % 1000}",
            int(LUCHENG),
        )
        out["official"] = await account(conn, "镇干部")
        await conn.execute(
            "insert into vg.grants (account_id, role, unit_code) select id, 'OFFICIAL', $2"
            " from vg.accounts where phone = $1",
            out["official"],
            town,
        )
        for v in range(1, villages + 1):
            code = town + v
            await conn.execute(
                "insert into vg.org_units (code, name, level, parent_code) values ($1, $2, 'VILLAGE', $3)",
                code,
                f"测试村{v}",
                town,
            )
            cadre = await account(conn, "村书记")
            await conn.execute(
                "insert into vg.grants (account_id, role, unit_code) select id, 'CADRE', $2"
                " from vg.accounts where phone = $1",
                cadre,
                code,
            )
            out["villages"].append({"code": code, "cadre": cadre})
            out["people"] += await _villagers(conn, account, code, v, residents)
        # Lives in the first village, registered in a village elsewhere (the demo's).
        rid = await conn.fetchval(
            """insert into vg.residents (village_code, name, residence_code, residence_member)
               values (330381001001, '外来村民', $1, false) returning id""",
            town + 1,
        )
        out["incomer"] = await account(conn, "外来村民", 330381001001, rid)
        await conn.execute(
            """insert into vg.shelters (unit_code, name, address, lat, lng, capacity)
               values ($1, '镇避灾点', '镇中心', 28.0, 120.6, 200)""",
            town,
        )
    return out


async def recipients_of(owner_pool: Any, notice_id: int) -> list[int]:
    rows = await owner_pool.fetch(
        """select o.recipient_account from vg.outbox o
             join vg.broadcasts b on b.id = o.broadcast_id where b.notice_id = $1""",
        notice_id,
    )
    return [r["recipient_account"] for r in rows]


async def expected_recipients(owner_pool: Any, notice_id: int) -> set[int]:
    """Who the reference model says a pushed notice is delivered to."""
    async with owner_pool.acquire() as conn:
        world = {
            t: [dict(r) for r in await conn.fetch(f"select * from vg.{t}")]
            for t in ("accounts", "grants", "residents", "family_proxies")
        }
        notice = dict(await conn.fetchrow("select * from vg.notices where id = $1", notice_id))
    return {
        a["id"]
        for a in world["accounts"]
        if model.pushed_to(model.principal_of(world, a["id"]), notice, world)
    }


async def drain_fan_out(owner_pool: Any, batch: int = 1000) -> None:
    while (await fan_out(owner_pool, datetime.now(UTC), batch)).batches:
        pass


async def test_a_city_general_notice_stays_in_the_app_unless_the_city_pushes_it(gql, owner_pool):
    general = {
        "unit": CITY,
        "board": "POLICY",
        "title": "政策解读",
        "body": "…",
        "audience": "PUBLIC",
    }
    first = (await gql.data(PUBLISH, {"i": general}, as_=CITY_OFFICIAL))["publishNotice"]
    rule = """mutation { setPushRule(city: "330300000000", board: POLICY, tier: CITY, push: true)
                { board tier push } }"""
    assert (await gql.data(rule, as_=CITY_OFFICIAL))["setPushRule"]["push"] is True
    refused = await gql.error(rule, as_=TOWN_OFFICIAL)
    assert refused["extensions"]["code"] == "FORBIDDEN"
    second = (await gql.data(PUBLISH, {"i": general}, as_=CITY_OFFICIAL))["publishNotice"]
    pushed = await owner_pool.fetch(
        "select notice_id from vg.broadcasts where notice_id = any($1::bigint[])",
        [int(first["id"]), int(second["id"])],
    )
    assert [r["notice_id"] for r in pushed] == [int(second["id"])]
    await gql.data(rule.replace("push: true", "push: false"), as_=CITY_OFFICIAL)


@pytest.mark.parametrize(
    ("tier", "targeted", "audience"),
    [("TOWN", True, "PUBLIC"), ("TOWN", False, "MEMBERS"), ("VILLAGE", True, "MEMBERS")],
)
async def test_an_urgent_notice_reaches_exactly_each_recipient_who_can_see_it_once(
    gql, owner_pool, tier, targeted, audience
):
    town = await make_town(owner_pool)
    unit, publisher = (
        (town["code"], town["official"])
        if tier == "TOWN"
        else (town["villages"][0]["code"], town["villages"][0]["cadre"])
    )
    # A relative's account (亲情账号) for a 低保 resident of the first village.
    first = town["people"][0]
    proxy_phone = town["villages"][1]["cadre"]
    await gql.data(
        'mutation($r: ID!, $p: String!) { setFamilyProxy(resident: $r, phone: $p, consent: "本人书面同意") }',
        {"r": str(first["id"]), "p": proxy_phone},
        as_=first["phone"],
    )
    notice = {
        "unit": str(unit),
        "board": "NOTICE",
        "title": "台风紧急通知",
        "body": "请做好防范。",
        "audience": audience,
        "targetTags": ["低保"] if targeted else [],
        "urgent": True,
    }
    published = (await gql.data(PUBLISH, {"i": notice}, as_=publisher))["publishNotice"]
    assert published["urgent"] is True
    notice_id = int(published["id"])
    assert await recipients_of(owner_pool, notice_id) == []  # never in the request
    await drain_fan_out(owner_pool, batch=2)
    await drain_fan_out(owner_pool, batch=2)  # a second worker pass adds nothing
    got = await recipients_of(owner_pool, notice_id)
    assert len(got) == len(set(got))
    expected = await expected_recipients(owner_pool, notice_id)
    assert set(got) == expected and expected
    finished = await owner_pool.fetchrow(
        "select recipients, finished_at from vg.broadcasts where notice_id = $1", notice_id
    )
    assert finished["recipients"] == len(got) and finished["finished_at"] is not None


async def test_concurrent_workers_and_a_crashed_one_queue_each_recipient_once(owner_pool):
    town = await make_town(owner_pool, villages=3, residents=7)
    async with owner_pool.acquire() as conn:
        notice = await conn.fetchrow(
            """insert into vg.notices (publisher_code, board, title, body, audience, urgent)
               values ($1, 'NOTICE', '全镇停水', '…', 'PUBLIC', true) returning id""",
            town["code"],
        )
        await announce(
            conn,
            kind="notice.urgent",
            tenant=town["code"],
            payload={"notice": notice["id"], "title": "全镇停水"},
            urgent=True,
            notice=(town["code"], notice["id"]),
        )
    # A worker that takes one batch and dies before finishing leaves its committed batches.
    crashed = await fan_out(owner_pool, datetime.now(UTC), 3, max_batches=1)
    assert crashed.batches == 1
    reports = await asyncio.gather(*(fan_out(owner_pool, datetime.now(UTC), 3) for _ in range(3)))
    assert sum(r.batches for r in reports) > 1
    await drain_fan_out(owner_pool)
    got = await recipients_of(owner_pool, notice["id"])
    assert len(got) == len(set(got)) == len(await expected_recipients(owner_pool, notice["id"]))


async def test_an_emergency_for_a_whole_town_reaches_every_member(gql, owner_pool):
    town = await make_town(owner_pool)
    opened = await gql.data(
        'mutation($u: ID!) { openSheltersForEmergency(unit: $u, message: "台风将至") { notice { id } } }',
        {"u": str(town["code"])},
        as_=town["official"],
    )
    notice_id = int(opened["openSheltersForEmergency"]["notice"]["id"])
    await drain_fan_out(owner_pool)
    got = set(await recipients_of(owner_pool, notice_id))
    everyone = await owner_pool.fetch(
        "select id from vg.accounts where phone = any($1::text[])",
        [p["phone"] for p in town["people"]]
        + [town["incomer"]]
        + [v["cadre"] for v in town["villages"]],
    )
    assert got == {r["id"] for r in everyone}  # residents, the incomer, the village cadres
    kind = await owner_pool.fetchval(
        "select kind from vg.broadcasts where notice_id = $1", notice_id
    )
    assert kind == "shelters.emergency"


async def test_a_resolution_the_worker_announces_reaches_every_member(owner_pool):
    town = await make_town(owner_pool, villages=1)
    village = town["villages"][0]["code"]
    async with owner_pool.acquire() as conn:  # the worker's connection, as when it closes
        await announce(
            conn,
            kind="consultation.resolution",
            tenant=village,
            payload={"consultation": 1, "title": "修路", "passed": True},
            audience="MEMBERS",
        )
    await drain_fan_out(owner_pool)
    got = await owner_pool.fetch(
        """select a.phone from vg.outbox o join vg.accounts a on a.id = o.recipient_account
            join vg.broadcasts b on b.id = o.broadcast_id
           where b.tenant_code = $1 and b.kind = 'consultation.resolution'""",
        village,
    )
    # Members only: the incomer lives there without being admitted as a member.
    assert {r["phone"] for r in got} == {p["phone"] for p in town["people"]}


async def test_cadres_follow_up_with_counts_and_the_unread_list_for_their_village_only(
    gql, owner_pool
):
    town = await make_town(owner_pool)
    notice = {
        "unit": str(town["code"]),
        "board": "NOTICE",
        "title": "低保年审",
        "body": "请携带材料。",
        "audience": "PUBLIC",
        "targetTags": ["低保"],
    }
    notice_id = (await gql.data(PUBLISH, {"i": notice}, as_=town["official"]))["publishNotice"][
        "id"
    ]
    await drain_fan_out(owner_pool)
    reader = town["people"][0]
    await gql.data(
        "mutation($id: ID!) { markNoticeRead(id: $id) { id } }",
        {"id": notice_id},
        as_=reader["phone"],
    )
    whole = (await gql.data(DELIVERY, {"id": notice_id}, as_=town["official"]))["notice"]
    targeted = [p for p in town["people"] if p["tags"]]
    assert whole["delivery"] == {
        "recipients": len(targeted) + len(town["villages"]),  # and the village cadres
        "queued": len(targeted) + len(town["villages"]),
        "sent": 0,
        "failed": 0,
        "read": 1,
    }
    assert whole["unreadRecipients"]["totalCount"] == len(targeted) - 1
    own = (await gql.data(DELIVERY, {"id": notice_id}, as_=town["villages"][1]["cadre"]))["notice"]
    second = [p for p in targeted if p["village"] == town["villages"][1]["code"]]
    assert {e["node"]["id"] for e in own["unreadRecipients"]["edges"]} == {
        str(p["id"]) for p in second
    }
    assert all("*" not in e["node"]["phone"] for e in own["unreadRecipients"]["edges"])
    # The town official is not the household village's cadre: phones masked, as in `residents`.
    assert all("*" in e["node"]["phone"] for e in whole["unreadRecipients"]["edges"])
    resident = await gql.raw(DELIVERY, {"id": notice_id}, as_=reader["phone"])
    assert resident["data"] is None or resident["data"]["notice"] is None
    assert resident["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Two days on, each village with unread 低保 households gets a home-visit task, once.
    later = datetime.now(UTC) + timedelta(hours=49)
    async with owner_pool.acquire() as conn:
        raised = await raise_unread_notice_tasks(conn, later)
        again = await raise_unread_notice_tasks(conn, later)
    tasks = await owner_pool.fetch(
        "select assignee_code, title from vg.tasks where source_key = $1",
        f"notice-unread:{notice_id}",
    )
    assert raised >= len(town["villages"]) and again == 0
    assert {t["assignee_code"] for t in tasks} == {v["code"] for v in town["villages"]}
    assert tasks[0]["title"] == "入户告知：低保年审"


async def test_a_family_proxy_reads_what_the_resident_reads_only_with_consent(
    gql, owner_pool, as_request_role, account_id
):
    town = await make_town(owner_pool, villages=1)
    elder, relative = town["people"][0], town["people"][1]  # 低保; no tags
    refused = await gql.error(
        'mutation($r: ID!, $p: String!) { setFamilyProxy(resident: $r, phone: $p, consent: "x") }',
        {"r": str(elder["id"]), "p": relative["phone"]},
        as_=RESIDENT,
    )
    assert refused["extensions"]["code"] in ("FORBIDDEN", "NOT_FOUND")
    city_notice = {
        "unit": CITY,
        "board": "NOTICE",
        "title": "低保政策",
        "body": "…",
        "audience": "MEMBERS",
        "targetTags": ["低保"],
    }
    published = (await gql.data(PUBLISH, {"i": city_notice}, as_=CITY_OFFICIAL))["publishNotice"]
    seen = "select count(*) from vg.notices where id = $1"
    proxy = await account_id(relative["phone"])
    await as_request_role.begin_as(proxy)
    assert await as_request_role.fetchval(seen, int(published["id"])) == 0

    async def feed_ids() -> set[str]:
        feed = await gql.data(
            "{ feed(first: 100) { edges { node { id } } } }", as_=relative["phone"]
        )
        return {e["node"]["id"] for e in feed["feed"]["edges"]}

    assert published["id"] not in await feed_ids()
    proxy_mutation = """mutation($r: ID!, $p: String!, $revoke: Boolean!) {
        setFamilyProxy(resident: $r, phone: $p, consent: "本人同意", revoke: $revoke) }"""
    await gql.data(
        proxy_mutation,
        {"r": str(elder["id"]), "p": relative["phone"], "revoke": False},
        as_=elder["phone"],
    )
    # The database widens the proxy's context (not a resolver): raw SQL as the request role.
    facts = await as_request_role.begin_as(proxy)
    assert str(elder["id"]) in facts
    assert await as_request_role.fetchval(seen, int(published["id"])) == 1
    assert published["id"] in await feed_ids()
    await drain_fan_out(owner_pool)
    assert proxy in await recipients_of(owner_pool, int(published["id"]))
    await gql.data(
        proxy_mutation,
        {"r": str(elder["id"]), "p": relative["phone"], "revoke": True},
        as_=elder["phone"],
    )
    assert published["id"] not in await feed_ids()


def test_messages_say_the_kind_in_words_china_time_the_title_and_a_link():
    text = render(
        "task.reminder",
        {
            "task": 42,
            "title": "村务公开",
            "due_at": "2026-12-05T10:00:00+00:00",
            "reminder": "DUE_SOON",
        },
        "https://app.example.cn/",
    )
    assert text.line() == (
        "【智慧村社通】任务提醒：村务公开，即将到期，截止12月5日 18:00，"
        "https://app.example.cn/tasks/42"
    )
    assert china_time(datetime(2026, 1, 1, 16, 30, tzinfo=UTC)) == "1月2日 00:30"
    urgent = render("shelters.emergency", {"notice": 7, "title": "紧急避灾"}, "https://a.cn")
    assert (urgent.kind_words, urgent.link) == ("紧急避灾", "https://a.cn/notices/7")
    assert (
        "T"
        not in render(
            "consultation.opened",
            {"opens_at": "2026-12-05T00:00:00+00:00", "closes_at": "2026-12-06T00:00:00+00:00"},
            "x",
        ).detail
    )


async def test_the_demo_cadre_sees_no_delivery_of_a_notice_that_was_not_pushed(gql):
    notice = {"unit": CITY, "board": "SCIENCE", "title": "科普", "body": "…", "audience": "PUBLIC"}
    published = (await gql.data(PUBLISH, {"i": notice}, as_=CITY_OFFICIAL))["publishNotice"]
    seen = (await gql.data(DELIVERY, {"id": published["id"]}, as_=VILLAGE_CADRE))["notice"]
    assert seen["delivery"] == {"recipients": 0, "queued": 0, "sent": 0, "failed": 0, "read": 0}


async def test_the_demo_shows_an_urgent_notice_delivered_a_code_sign_in_and_a_proxy(
    gql, owner_pool
):
    from villagegraph.seed.delivery import CODE_SIGN_IN_PHONE, PROXY_PHONE, URGENT_TITLE

    notice_id = await owner_pool.fetchval(
        "select id from vg.notices where title = $1", URGENT_TITLE
    )
    seen = (await gql.data(DELIVERY, {"id": str(notice_id)}, as_=TOWN_OFFICIAL))["notice"]
    delivery = seen["delivery"]
    assert delivery["recipients"] == delivery["sent"] + delivery["failed"] > 0
    assert delivery["failed"] == 1 and delivery["queued"] == 0
    bound = await owner_pool.fetchrow(
        "select password_hash, resident_id from vg.accounts where phone = $1", CODE_SIGN_IN_PHONE
    )
    assert bound["password_hash"] == "!" and bound["resident_id"] is not None
    proxy = await owner_pool.fetchval(
        """select count(*) from vg.family_proxies f join vg.accounts a on a.id = f.proxy_account
            where a.phone = $1 and f.revoked_at is null""",
        PROXY_PHONE,
    )
    assert proxy == 1
