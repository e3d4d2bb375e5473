"""Parallel publishing and reading: every write lands exactly once, counts are exact, and
the tenant's audit chain stays gap-free under contention."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from villagegraph.audit import verify_chain

NOTICES = 12


async def post(client: httpx.AsyncClient, token: str, query: str, **variables: Any) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]


async def test_parallel_publishing_and_reading_counts_exactly(
    client, settings, make_village, owner_pool, account_id, issue_token
):
    village = await make_village(residents=8)
    cadre = await issue_token(await account_id(village["cadre"]))
    residents = [await issue_token(await account_id(r["phone"])) for r in village["residents"]]

    publish = """mutation($u: ID!, $t: String!) { publishNotice(input: {unit: $u,
        board: NOTICE, title: $t, body: "b", audience: MEMBERS}) { id } }"""
    published = await asyncio.gather(
        *(post(client, cadre, publish, u=village["code"], t=f"并发{i}") for i in range(NOTICES))
    )
    ids = [p["publishNotice"]["id"] for p in published]
    assert len(set(ids)) == NOTICES

    # Every resident reads every notice, each read sent twice at once: one receipt each.
    read = "mutation($id: ID!) { markNoticeRead(id: $id) { id } }"
    await asyncio.gather(
        *(post(client, r, read, id=n) for r in residents for n in ids for _ in range(2))
    )

    counts = await post(
        client,
        cadre,
        """query($u: ID!) { notices(unit: $u, first: 100) { totalCount edges { node { readCount } } }
                            dashboard(unit: $u) { noticesPublished noticeReach } }""",
        u=village["code"],
    )
    assert counts["notices"]["totalCount"] == NOTICES
    assert [e["node"]["readCount"] for e in counts["notices"]["edges"]] == [8] * NOTICES
    assert counts["dashboard"] == {"noticesPublished": NOTICES, "noticeReach": 8}
    feeds = await asyncio.gather(
        *(post(client, r, "{ feed(first: 100) { edges { node { id read } } } }") for r in residents)
    )
    for feed in feeds:
        read_flags = {e["node"]["id"]: e["node"]["read"] for e in feed["feed"]["edges"]}
        assert all(read_flags[n] for n in ids)

    async with owner_pool.acquire() as conn:
        tenant = int(village["code"])
        receipts = await conn.fetchval(
            "select count(*) from vg.notice_reads where resident_village = $1", tenant
        )
        actions = dict(
            await conn.fetch(
                "select action, count(*) from vg.audit_log where tenant_code = $1 group by action",
                tenant,
            )
        )
        seqs = [
            r["chain_seq"]
            for r in await conn.fetch(
                "select chain_seq from vg.audit_log where chain_key = $1 order by chain_seq", tenant
            )
        ]
        assert receipts == 8 * NOTICES
        assert actions == {"notice.publish": NOTICES, "notice.read": 8 * NOTICES}
        assert seqs == list(range(1, NOTICES + 8 * NOTICES + 1))
        assert (await verify_chain(conn)).intact
        # The dashboard rollups count each reader once (per month), however parallel the reads.
        readers = await conn.fetchrow(
            """select f.notice_readers,
                      (select sum(m.notice_readers) from vg.unit_monthly_figures m
                        where m.unit_code = f.unit_code) as monthly,
                      (select count(distinct (r.resident_id, vg.local_month(r.read_at)))
                         from vg.notice_reads r where r.resident_village = f.unit_code) as live
                 from vg.unit_figures f where f.unit_code = $1""",
            tenant,
        )
        assert readers["notice_readers"] == 8
        assert readers["monthly"] == readers["live"]


async def test_parallel_publishing_in_many_tenants_keeps_every_chain_whole(
    client, settings, make_village, owner_pool, account_id, issue_token
):
    villages = [await make_village(residents=0) for _ in range(4)]
    cadres = [await issue_token(await account_id(v["cadre"])) for v in villages]
    publish = """mutation($u: ID!, $t: String!) { publishNotice(input: {unit: $u,
        board: AFFAIRS, title: $t, body: "b", audience: PUBLIC}) { id } }"""
    await asyncio.gather(
        *(
            post(client, cadre, publish, u=v["code"], t=f"多租户{i}")
            for v, cadre in zip(villages, cadres, strict=True)
            for i in range(5)
        )
    )
    async with owner_pool.acquire() as conn:
        for v in villages:
            seqs = await conn.fetch(
                "select chain_seq from vg.audit_log where chain_key = $1 order by chain_seq",
                int(v["code"]),
            )
            assert [r["chain_seq"] for r in seqs] == [1, 2, 3, 4, 5]
            assert (
                await conn.fetchval(
                    "select count(*) from vg.notices where publisher_code = $1", int(v["code"])
                )
                == 5
            )
