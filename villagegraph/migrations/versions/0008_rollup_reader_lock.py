"""Count a resident's first receipt of a month once, however many transactions race.

The 0005 trigger decided "first receipt" by looking for other receipts; two concurrent
transactions marking one resident's reads could both find none and both add the reader
(seen when the concurrency tests and the rollup checks met after the merge). The trigger
now takes a per-resident advisory lock first, and `vg.rebuild_rollups()` repairs counts
written before.

Revision ID: 0008_rollup_reader_lock
Revises: 0005_rollups
"""

from importlib import import_module

from alembic import op

from villagegraph.migrations.helpers import as_owner

revision = "0008_rollup_reader_lock"
down_revision = "0005_rollups"
branch_labels = None
depends_on = None

LOCKING = """
create or replace function vg.rollup_notice_reads() returns trigger
language plpgsql security definer set search_path = vg, pg_catalog as $$
begin
    -- Serialise per resident: two transactions recording one resident's first receipts of
    -- a month at once would each see no earlier receipt and both count the reader. After
    -- the wait, the checks below (each statement a new snapshot) see the other's receipt.
    perform pg_advisory_xact_lock(7301, hashtext(r.resident_village || ':' || r.resident_id))
       from (select distinct resident_village, resident_id from added order by 1, 2) as r;

    with fresh as (
        select resident_village, resident_id, vg.local_month(read_at) as month,
               array_agg(notice_id) as ids
          from added group by 1, 2, 3
    ), monthly as (
        select f.resident_village, f.month, count(*) as readers
          from fresh f
         where not exists (
             select 1 from vg.notice_reads r
              where r.resident_village = f.resident_village and r.resident_id = f.resident_id
                and vg.local_month(r.read_at) = f.month and r.notice_id <> all (f.ids))
         group by 1, 2
    )
    insert into vg.unit_monthly_figures as m (unit_code, month, notice_readers)
    select resident_village, month, readers from monthly
    on conflict (unit_code, month) do update
       set notice_readers = m.notice_readers + excluded.notice_readers;

    with fresh as (
        select resident_village, resident_id, array_agg(notice_id) as ids
          from added group by 1, 2
    )
    insert into vg.unit_figures as u (unit_code, notice_readers)
    select f.resident_village, count(*)
      from fresh f
     where not exists (
         select 1 from vg.notice_reads r
          where r.resident_village = f.resident_village and r.resident_id = f.resident_id
            and r.notice_id <> all (f.ids))
     group by 1
    on conflict (unit_code) do update set notice_readers = u.notice_readers + excluded.notice_readers;
    return null;
end
$$;
"""


def upgrade() -> None:
    with as_owner():
        op.execute(LOCKING)
        op.execute("select vg.rebuild_rollups()")


def downgrade() -> None:
    unlocked = import_module("villagegraph.migrations.versions.0005_rollups").NOTICE_READS_ROLLUP
    with as_owner():
        op.execute(unlocked.replace("create function", "create or replace function", 1))
