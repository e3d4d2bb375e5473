"""Disclosures as notices that say what they disclose (issue 16, finding 6): a period,
attachments whose SHA-256 enters the audit chain, and withdrawal or correction only with a
reason that stays visible (a withdrawn notice is marked, never deleted)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import asyncpg
import pytest

from villagegraph.audit import verify_chain
from villagegraph.schema.inputs import LOCAL_TIME

NOTICE = """id period attachments { url name sha256 } withdrawn { at reason }
    correctionReason corrects { id } correctedBy { id }"""
PUBLISH = (
    f"""mutation($input: PublishNoticeInput!) {{ publishNotice(input: $input) {{ {NOTICE} }} }}"""
)
WITHDRAW = f"""mutation($id: ID!, $r: String!) {{
  withdrawNotice(id: $id, reason: $r) {{ {NOTICE} }} }}"""
CORRECT = f"""mutation($id: ID!, $i: NoticeCorrectionInput!, $r: String!) {{
  correctNotice(id: $id, input: $i, reason: $r) {{ {NOTICE} }} }}"""
FEED = f"""query {{ feed(board: FINANCE, first: 100) {{ edges {{ node {{ {NOTICE} }} }} }} }}"""

STATEMENT = b"2026-09 village accounts"
DIGEST = hashlib.sha256(STATEMENT).hexdigest()


def disclosure(village: str, period: str = "2026-09", **extra: object) -> dict:
    return {
        "input": {
            "unit": village,
            "board": "FINANCE",
            "title": "2026年9月财务公开",
            "body": "收支明细见附件。",
            "audience": "MEMBERS",
            "period": period,
            "attachments": [
                {
                    "url": "https://files.example.org/2026-09.pdf",
                    "name": "收支明细表.pdf",
                    "sha256": DIGEST.upper(),
                }
            ],
            **extra,
        }
    }


@pytest.fixture
async def superuser(database) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database.admin_dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def test_a_disclosure_carries_its_period_and_attachment_hashes_into_the_audit_chain(
    gql, make_village, owner_pool, superuser
):
    village = await make_village()
    notice = (await gql.data(PUBLISH, disclosure(village["code"]), as_=village["cadre"]))[
        "publishNotice"
    ]
    assert notice["period"] == "2026-09"
    assert notice["attachments"] == [
        {"url": "https://files.example.org/2026-09.pdf", "name": "收支明细表.pdf", "sha256": DIGEST}
    ]
    detail = await owner_pool.fetchval(
        """select detail from vg.audit_log
            where entity = 'notice' and entity_id = $1 and action = 'notice.publish'""",
        notice["id"],
    )
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail["period"] == "2026-09" and detail["attachments"][0]["sha256"] == DIGEST
    assert (await verify_chain(superuser)).intact


@pytest.mark.parametrize(
    ("change", "argument"),
    [
        ({"period": "2026-13"}, "period"),
        ({"attachments": [{"url": "ftp://x/y", "name": "a", "sha256": DIGEST}]}, "url"),
        ({"attachments": [{"url": "https://x/y", "name": "a", "sha256": "abc"}]}, "sha256"),
    ],
)
async def test_bad_periods_and_attachments_are_bad_user_input(gql, make_village, change, argument):
    village = await make_village()
    error = await gql.error(PUBLISH, disclosure(village["code"], **change), as_=village["cadre"])
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"].get("argument") == argument


async def test_a_month_that_has_not_begun_is_not_disclosed(gql, make_village):
    village = await make_village()
    ahead = (datetime.now(LOCAL_TIME).replace(day=28) + timedelta(days=5)).strftime("%Y-%m")
    error = await gql.error(PUBLISH, disclosure(village["code"], ahead), as_=village["cadre"])
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_withdrawn_disclosure_stays_listed_with_its_reason(gql, make_village):
    village = await make_village(residents=1)
    cadre, member = village["cadre"], village["residents"][0]["phone"]
    notice = (await gql.data(PUBLISH, disclosure(village["code"]), as_=cadre))["publishNotice"]
    for reason, code in (("  ", "BAD_USER_INPUT"),):
        error = await gql.error(WITHDRAW, {"id": notice["id"], "r": reason}, as_=cadre)
        assert error["extensions"]["code"] == code
    error = await gql.error(WITHDRAW, {"id": notice["id"], "r": "金额有误"}, as_=member)
    assert error["extensions"]["code"] == "FORBIDDEN"
    withdrawn = (await gql.data(WITHDRAW, {"id": notice["id"], "r": "金额有误"}, as_=cadre))[
        "withdrawNotice"
    ]
    assert withdrawn["withdrawn"]["reason"] == "金额有误" and withdrawn["withdrawn"]["at"]
    again = await gql.error(WITHDRAW, {"id": notice["id"], "r": "再撤"}, as_=cadre)
    assert again["extensions"]["code"] == "CONFLICT"
    feed = [e["node"] for e in (await gql.data(FEED, as_=member))["feed"]["edges"]]
    shown = next(n for n in feed if n["id"] == notice["id"])
    assert shown["withdrawn"]["reason"] == "金额有误"


async def test_a_correction_links_both_ways_with_its_reason(gql, make_village):
    village = await make_village()
    cadre = village["cadre"]
    original = (await gql.data(PUBLISH, disclosure(village["code"]), as_=cadre))["publishNotice"]
    fixed = {"title": "2026年9月财务公开（更正）", "body": "更正后的收支明细。"}
    correction = (
        await gql.data(
            CORRECT, {"id": original["id"], "i": fixed, "r": "支出金额录入有误"}, as_=cadre
        )
    )["correctNotice"]
    assert correction["corrects"] == {"id": original["id"]}
    assert correction["correctionReason"] == "支出金额录入有误"
    assert correction["period"] == "2026-09"  # kept from the original unless given
    feed = [e["node"] for e in (await gql.data(FEED, as_=cadre))["feed"]["edges"]]
    assert next(n for n in feed if n["id"] == original["id"])["correctedBy"] == {
        "id": correction["id"]
    }
    twice = await gql.error(CORRECT, {"id": original["id"], "i": fixed, "r": "再改"}, as_=cadre)
    assert twice["extensions"]["code"] == "CONFLICT"


async def test_withdrawal_is_stamped_by_the_database_and_final(
    gql, make_village, as_request_role, account_id
):
    village = await make_village()
    cadre = village["cadre"]
    notice = (await gql.data(PUBLISH, disclosure(village["code"]), as_=cadre))["publishNotice"]
    await gql.data(WITHDRAW, {"id": notice["id"], "r": "金额有误"}, as_=cadre)
    account = await account_id(cadre)
    await as_request_role.begin_as(account)
    changed = await as_request_role.execute(
        "update vg.notices set withdrawal_reason = '改写理由' where id = $1", int(notice["id"])
    )
    assert changed == "UPDATE 0"
    for statement in (
        "update vg.notices set withdrawn_at = null where id = $1",
        "update vg.notices set title = '改标题' where id = $1",
        "delete from vg.notices where id = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with as_request_role.transaction():
                await as_request_role.execute(statement, int(notice["id"]))
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with as_request_role.transaction():
            await as_request_role.execute(
                """insert into vg.notices (publisher_code, board, title, body, audience,
                                           published_by, withdrawn_at, withdrawal_reason)
                   values ($1, 'FINANCE', '预撤', '内容', 'PUBLIC', $2, now(), '无')""",
                int(village["code"]),
                account,
            )
