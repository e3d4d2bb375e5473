"""Checking the audit chain (0006_audit_chain): the first broken link, if any.

Reads the whole log as the owner; it never changes a row. The digest is recomputed with
vg.audit_row_hash, the same function that sealed each row when it was written.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

FIRST_BROKEN_LINK = """
with links as (
    select a.id, a.chain_key, a.chain_seq, a.prev_hash, a.hash,
           vg.audit_row_hash(a) as recomputed,
           lag(a.hash, 1, '') over chain as previous_hash,
           row_number() over chain as position
      from vg.audit_log a
    window chain as (partition by a.chain_key order by a.chain_seq)
)
select id, chain_key, chain_seq,
       case when chain_seq <> position then 'a link before it is missing'
            when prev_hash <> previous_hash then 'it does not follow the link before it'
            else 'its content changed after it was written'
       end as problem
  from links
 where chain_seq <> position or prev_hash <> previous_hash or hash <> recomputed
 order by id
 limit 1
"""

# A chain whose newest rows were deleted still ends in a valid link; its head says more.
TRUNCATED_CHAIN = """
select coalesce(h.chain_key, l.chain_key) as chain_key, h.seq as head_seq, l.chain_seq
  from vg.audit_heads h
  full join (select distinct on (chain_key) chain_key, chain_seq, hash
               from vg.audit_log order by chain_key, chain_seq desc) l
    on l.chain_key = h.chain_key
 where h.seq is distinct from l.chain_seq or h.hash is distinct from l.hash
 order by 1
 limit 1
"""


@dataclass(frozen=True)
class ChainReport:
    rows: int
    chains: int
    broken_id: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        if self.intact:
            return f"audit chain intact: {self.rows} rows in {self.chains} chains"
        where = f"audit row {self.broken_id}: " if self.broken_id is not None else ""
        return f"audit chain BROKEN at {where}{self.problem}"


async def verify_chain(conn: asyncpg.Connection) -> ChainReport:
    """Find the first broken link (lowest audit id), else count what was checked."""
    rows, chains = await conn.fetchrow(
        "select count(*), count(distinct chain_key) from vg.audit_log"
    )
    link = await conn.fetchrow(FIRST_BROKEN_LINK)
    if link is not None:
        problem = f"chain {link['chain_key']} link {link['chain_seq']}: {link['problem']}"
        return ChainReport(rows, chains, link["id"], problem)
    head = await conn.fetchrow(TRUNCATED_CHAIN)
    if head is not None:
        problem = (
            f"chain {head['chain_key']} ends at link {head['chain_seq']} "
            f"but its head records link {head['head_seq']}: newest rows were removed"
        )
        return ChainReport(rows, chains, None, problem)
    return ChainReport(rows, chains)
