"""The delivery part of the demo (issue 14): 五马街道's urgent typhoon notice pushed to every
resident below it and delivered (WeChat with receipts, SMS where a resident has no WeChat,
one dead letter with its reasons), a resident who signed in by SMS code and was bound to
the register by name and ID number, a family proxy (亲情账号) with recorded consent, a
resident's channel preferences and quiet hours, and a push rule of the city.

Runs after the core seeders, as the owner role, through the worker's own fan-out.
"""

from __future__ import annotations

import random
from datetime import timedelta

import asyncpg

from villagegraph.seed.demo import DEMO_NOW
from villagegraph.worker.fanout import fan_out_one_batch, finish_broadcasts, prepare_broadcasts

CODE_SIGN_IN_PHONE = "13800000013"  # signed in by SMS code, bound by name + ID number
PROXY_PHONE = CODE_SIGN_IN_PHONE  # and 亲情账号 of an elderly villager of the same community
PREFERENCES_PHONE = "13800000010"  # the demo resident: WeChat, then SMS; quiet 22:00-07:00
URGENT_TITLE = "台风紧急转移通知"


async def seed_delivery(conn: asyncpg.Connection, rng: random.Random) -> None:
    await conn.execute(
        """insert into vg.push_rules (city_code, board, tier, push, updated_by, updated_at)
           select 330300000000, 'POLICY', 'COUNTY', true, id, $1
             from vg.accounts where phone = '13800000000'""",
        DEMO_NOW - timedelta(days=30),
    )
    await _seed_code_sign_in(conn)
    await _seed_proxy_and_preferences(conn)
    await _seed_urgent_notice(conn)


async def _seed_code_sign_in(conn: asyncpg.Connection) -> None:
    """A villager of 县前社区 without an account asked for a code, signed in, and proved
    who it is with its name and ID number."""
    resident = await conn.fetchrow(
        """select r.village_code, r.id, r.name from vg.residents r
            where r.village_code = 330302006001 and r.id_number is not null
              and not exists (select from vg.accounts a where a.resident_id = r.id)
            order by r.id limit 1"""
    )
    signed_in = DEMO_NOW - timedelta(days=3)
    account = await conn.fetchval(
        """insert into vg.accounts (phone, password_hash, display_name, resident_village,
                                    resident_id, created_at)
           values ($1, '!', $2, $3, $4, $5) returning id""",
        CODE_SIGN_IN_PHONE,
        resident["name"],
        resident["village_code"],
        resident["id"],
        signed_in,
    )
    await conn.execute(
        """insert into vg.login_codes (phone, code_hash, created_at, expires_at, used_at)
           values ($1, sha256('demo-code-already-used'), $2::timestamptz,
                   $2::timestamptz + interval '10 minutes', $2::timestamptz + interval '1 minute')""",
        CODE_SIGN_IN_PHONE,
        signed_in,
    )
    await conn.execute(
        "insert into vg.identity_checks (account_id, checked_at, matched) values ($1, $2, true)",
        account,
        signed_in + timedelta(minutes=5),
    )


async def _seed_proxy_and_preferences(conn: asyncpg.Connection) -> None:
    """The code-signed-in villager is the family proxy of an elderly villager of its own
    community (consent recorded by the cadre); the demo resident has chosen its channels."""
    elder = await conn.fetchrow(
        """select r.village_code, r.id from vg.residents r
            where r.village_code = 330302006001 and '老人' = any (r.tags)
              and not exists (select from vg.accounts a where a.resident_id = r.id)
            order by r.id limit 1"""
    )
    await conn.execute(
        """insert into vg.family_proxies
               (resident_village, resident_id, proxy_account, consent, recorded_by, created_at)
           select $1, $2, p.id, '本人口头同意，社区书记入户见证并记录', c.id, $3
             from vg.accounts p, vg.accounts c
            where p.phone = $4 and c.phone = '13800000003'""",
        elder["village_code"],
        elder["id"],
        DEMO_NOW - timedelta(days=10),
        PROXY_PHONE,
    )
    await conn.execute(
        """insert into vg.notification_preferences (account_id, channels, quiet_start, quiet_end)
           select id, '{wechat,sms}', '22:00', '07:00' from vg.accounts where phone = $1""",
        PREFERENCES_PHONE,
    )
    await conn.execute(
        """insert into vg.channel_addresses (account_id, channel, address)
           select id, 'wechat', 'o-demo-' || phone from vg.accounts
            where phone = $1
           on conflict do nothing""",
        PREFERENCES_PHONE,
    )


async def _seed_urgent_notice(conn: asyncpg.Connection) -> None:
    """The town's urgent notice, fanned out by the worker's code and delivered: WeChat
    where an openid is bound (with a receipt), SMS otherwise, one number the gateway
    refused (DEAD, with both channels' reasons)."""
    published = DEMO_NOW - timedelta(hours=6)
    notice = await conn.fetchrow(
        """insert into vg.notices (publisher_code, board, title, body, audience, urgent,
                                   published_at, published_by)
           select 330302006000, 'NOTICE', $1,
                  '受台风影响，今晚起低洼地带、危旧房屋内人员请立即转移至就近避灾安置场所。',
                  'PUBLIC', true, $2, id
             from vg.accounts where phone = '13800000002'
           returning publisher_code, id""",
        URGENT_TITLE,
        published,
    )
    await conn.execute(
        """insert into vg.broadcasts (tenant_code, kind, notice_publisher, notice_id, urgent,
                                      payload, created_at)
           values ($1, 'notice.urgent', $1, $2, true,
                   jsonb_build_object('notice', $2::bigint, 'title', $3::text,
                                      'published_at', $4::timestamptz),
                   $4)""",
        notice["publisher_code"],
        notice["id"],
        URGENT_TITLE,
        published,
    )
    await prepare_broadcasts(conn, published)
    while await fan_out_one_batch(conn, 5000) is not None:
        pass
    await finish_broadcasts(conn, published + timedelta(seconds=5))
    await conn.execute(
        """update vg.outbox o
              set status = case when a.phone = '13800000011' then 'DEAD' else 'SENT' end,
                  attempts = 1,
                  channel = case when c.address is not null then 'wechat' else 'sms' end,
                  sent_at = case when a.phone = '13800000011' then null else $2::timestamptz end,
                  provider_msgid = case when a.phone = '13800000011' then null
                                        else 'demo-' || o.id end,
                  receipt = case when c.address is not null then 'DELIVERED' end,
                  receipt_at = case when c.address is not null
                                    then $2::timestamptz + interval '3 seconds' end,
                  last_error = case when a.phone = '13800000011'
                      then 'wechat: no openid bound; sms: isv.MOBILE_NUMBER_ILLEGAL 非法手机号' end,
                  delivered_by = 'demo'
             from vg.accounts a
             left join vg.channel_addresses c on c.account_id = a.id and c.channel = 'wechat'
            where o.broadcast_id = (select id from vg.broadcasts where notice_id = $1)
              and a.id = o.recipient_account""",
        notice["id"],
        published + timedelta(seconds=40),
    )
