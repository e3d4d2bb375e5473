"""The fan-out: a broadcast (one row, written by the request or a scan) becomes one outbox
row per recipient who can see it, in batches, by the worker, never in the request.

Who can see it is the notices policy (0001_core `notices_read`, mirrored here in SQL):
residents whose household village lies in the broadcast's subtree (members there, so
MEMBERS notices reach them too); residents living in the subtree from elsewhere (PUBLIC
only, or MEMBERS when admitted there as members); target tags narrow both, exactly; the
family proxies (亲情账号) of each such resident; and the officials and cadres of units
strictly inside the subtree (逐级推送: what a unit publishes reaches the staff below it,
whatever the tags). Not the publisher's own staff or those above, not analysts: they read
it in the app.

Progress is durable and exact: preparing a broadcast writes one part per town (a range of
household villages) and queues the staff, in one transaction; each batch of a part inserts
its deliveries and moves the part's cursor in one transaction, holding the part's row lock
(concurrent workers `SKIP LOCKED` to other parts). A crash loses at most the uncommitted
batch, which the next worker redoes; the idempotency key `b<broadcast>:<account>` (unique)
makes a redo, or a proxy reached twice, insert nothing twice.

Runs as the owner role (or vg_worker), across tenants by design.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import asyncpg

log = logging.getLogger("villagegraph.worker.fanout")


@dataclass
class FanOutReport:
    prepared: int = 0
    batches: int = 0
    queued: int = 0
    finished: int = 0


# Parts of a broadcast: one per town holding villages in its subtree (the root itself for
# a town or a village); staff strictly below the root, at once.
_PREPARE = """
with b as (
    select id, tenant_code as root, vg.subtree_end(tenant_code) as root_end
      from vg.broadcasts where id = $1
), parts as (
    insert into vg.broadcast_parts (broadcast_id, lo, hi)
    select b.id, t.lo, vg.subtree_end(t.lo)
      from b cross join lateral (
          select distinct u.code - u.code % 1000 as lo from vg.org_units u
           where u.level = 'VILLAGE' and u.code between b.root and b.root_end
             and vg.tier(b.root) in ('CITY', 'COUNTY')
          union select b.root where vg.tier(b.root) in ('TOWN', 'VILLAGE')
      ) t
    on conflict do nothing
    returning 1
), staff as (
    insert into vg.outbox (tenant_code, kind, recipient_account, idempotency_key, broadcast_id)
    select distinct on (g.account_id) g.unit_code, $2, g.account_id, 'b' || b.id || ':' || g.account_id, b.id
      from b join vg.grants g
        on g.unit_code > b.root and g.unit_code <= b.root_end
       and g.revoked_at is null and g.role in ('OFFICIAL', 'CADRE')
     order by g.account_id, g.unit_code
    on conflict (idempotency_key) do nothing
    returning 1
)
update vg.broadcasts set prepared_at = $3, recipients = recipients + (select count(*) from staff)
 where id = $1
returning (select count(*) from parts) as parts
"""

# Residents → the accounts that receive for them: their own, and their family proxies'.
_TARGETS = """
targets as (
    select a.id as account, e.tenant from eligible e
      join vg.accounts a on a.resident_village = e.village_code and a.resident_id = e.id
    union
    select f.proxy_account, e.tenant from eligible e
      join vg.family_proxies f
        on f.resident_village = e.village_code and f.resident_id = e.id
       and f.revoked_at is null
), queued as (
    insert into vg.outbox (tenant_code, kind, recipient_account, idempotency_key, broadcast_id)
    select t.tenant, $7, t.account, 'b' || $1::bigint || ':' || t.account, $1::bigint
      from targets t
    on conflict (idempotency_key) do nothing
    returning 1
)"""

# One batch of a part's household residents after the cursor, in primary-key order.
_HOUSEHOLDS = f"""
with batch as (
    select r.village_code, r.id, r.tags from vg.residents r
     where (r.village_code, r.id) > ($2::bigint, $3::bigint) and r.village_code <= $4
     order by r.village_code, r.id
     limit $5
), last as (
    select village_code, id from batch order by village_code desc, id desc limit 1
), eligible as (
    select village_code, id, village_code as tenant from batch
     where cardinality($6::text[]) = 0 or tags && $6::text[]
), {_TARGETS}
select (select count(*) from batch) as scanned, (select count(*) from queued) as queued,
       (select village_code from last) as last_village, (select id from last) as last_id
"""

# Residents living in the part's villages whose household lies outside the whole subtree.
_RESIDENCE = f"""
with eligible as (
    select r.village_code, r.id, r.residence_code as tenant from vg.residents r
     where r.residence_code between $2 and $3
       and not (r.village_code between $4 and $5)
       and ($8 = 'PUBLIC' or r.residence_member)
       and (cardinality($6::text[]) = 0 or r.tags && $6::text[])
), {_TARGETS}
select count(*) from queued
"""


async def prepare_broadcasts(conn: asyncpg.Connection, now: datetime) -> int:
    """Write the parts of every broadcast not prepared yet (skipping those another worker
    is preparing); the number prepared."""
    prepared = 0
    while True:
        async with conn.transaction():
            row = await conn.fetchrow(
                """select id, kind from vg.broadcasts
                    where prepared_at is null and finished_at is null
                    order by id limit 1 for update skip locked"""
            )
            if row is None:
                return prepared
            await conn.fetchval(_PREPARE, row["id"], row["kind"], now)
            prepared += 1


async def fan_out_one_batch(conn: asyncpg.Connection, batch_size: int) -> int | None:
    """Take one open part (skipping those other workers hold), queue its next batch and
    move its cursor, in one transaction; the deliveries queued, or None when no part is
    open."""
    async with conn.transaction():
        part = await conn.fetchrow(
            """select p.broadcast_id, p.lo, p.hi, p.cursor_village, p.cursor_resident,
                      p.households_done, b.kind, b.audience, b.target_tags, b.tenant_code
                 from vg.broadcast_parts p join vg.broadcasts b on b.id = p.broadcast_id
                where p.done_at is null
                order by p.broadcast_id, p.lo
                limit 1
                for update of p skip locked"""
        )
        if part is None:
            return None
        key = (part["broadcast_id"], part["lo"])
        common = (part["target_tags"], part["kind"])
        if not part["households_done"]:
            result = await conn.fetchrow(
                _HOUSEHOLDS,
                part["broadcast_id"],
                part["cursor_village"] if part["cursor_village"] is not None else part["lo"] - 1,
                part["cursor_resident"] if part["cursor_resident"] is not None else 0,
                part["hi"],
                batch_size,
                *common,
            )
            queued = int(result["queued"])
            await conn.execute(
                """update vg.broadcast_parts
                      set cursor_village = coalesce($3, cursor_village),
                          cursor_resident = coalesce($4, cursor_resident),
                          households_done = $5, recipients = recipients + $6
                    where broadcast_id = $1 and lo = $2""",
                *key,
                result["last_village"],
                result["last_id"],
                int(result["scanned"]) < batch_size,
                queued,
            )
            return queued
        queued = int(
            await conn.fetchval(
                _RESIDENCE,
                part["broadcast_id"],
                part["lo"],
                part["hi"],
                part["tenant_code"],
                await conn.fetchval("select vg.subtree_end($1::bigint)", part["tenant_code"]),
                *common,
                part["audience"],
            )
        )
        await conn.execute(
            """update vg.broadcast_parts set done_at = now(), recipients = recipients + $3
                where broadcast_id = $1 and lo = $2""",
            *key,
            queued,
        )
        return queued


async def finish_broadcasts(conn: asyncpg.Connection, now: datetime) -> int:
    """Mark prepared broadcasts whose parts are all done as finished, with their count."""
    status = await conn.execute(
        """update vg.broadcasts b
              set finished_at = $1,
                  recipients = b.recipients + coalesce(
                      (select sum(p.recipients) from vg.broadcast_parts p
                        where p.broadcast_id = b.id), 0)
            where b.finished_at is null and b.prepared_at is not null
              and not exists (select from vg.broadcast_parts p
                               where p.broadcast_id = b.id and p.done_at is null)""",
        now,
    )
    return int(status.split()[-1])


async def fan_out(
    pool: asyncpg.Pool, now: datetime, batch_size: int, *, max_batches: int | None = None
) -> FanOutReport:
    """Prepare new broadcasts, then queue batches until no part is open (or `max_batches`,
    for a test that stops a worker half-way), then finish what is complete."""
    report = FanOutReport()
    async with pool.acquire() as conn:
        report.prepared = await prepare_broadcasts(conn, now)
        while max_batches is None or report.batches < max_batches:
            queued = await fan_out_one_batch(conn, batch_size)
            if queued is None:
                break
            report.batches += 1
            report.queued += queued
        report.finished = await finish_broadcasts(conn, now)
    if report.queued:
        log.info("fan-out: %s deliveries queued in %s batches", report.queued, report.batches)
    return report
