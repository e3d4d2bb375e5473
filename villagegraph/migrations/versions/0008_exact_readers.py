"""Dashboard rollups: distinct readers stay exact under concurrent reads.

The reader rollup counts a resident once per month (and once ever) when its receipt has
no other receipt beside it. Two receipts of the same resident committed at once each saw
no other, so both counted (the concurrency test's parallel reads inflated a village's
monthly readers). The trigger now takes a transaction lock per resident first; the check
after it runs on a fresh snapshot that holds the other, committed, receipt.

Revision ID: 0008_exact_readers
Revises: 0005_rollups
"""

from alembic import op

from villagegraph.migrations.helpers import as_owner

revision = "0008_exact_readers"
down_revision = "0005_rollups"
branch_labels = None
depends_on = None

SERIALISED = """
create or replace function vg.rollup_notice_reads() returns trigger
language plpgsql security definer set search_path = vg, pg_catalog as $$
begin
    -- One reader at a time per resident: a concurrent receipt of the same resident waits
    -- here until the other commits, and the check below (a fresh snapshot) then sees it.
    perform pg_advisory_xact_lock(hashtext('vg.notice_readers'), (r.resident_id % 2147483647)::int)
       from (select distinct resident_id from added order by 1) r;
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

UNSERIALISED = """
create or replace function vg.rollup_notice_reads() returns trigger
language plpgsql security definer set search_path = vg, pg_catalog as $$
begin
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
        op.execute(SERIALISED)


def downgrade() -> None:
    with as_owner():
        op.execute(UNSERIALISED)
