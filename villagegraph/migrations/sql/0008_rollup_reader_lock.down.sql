-- 0008_rollup_reader_lock downgrade: sent as is, in one transaction, by versions/0008_rollup_reader_lock.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;

-- Back to 0005's trigger function, without the advisory lock.

-- A receipt adds a reader when its resident has no other receipt (that month / ever);
-- receipts are never deleted. The check walks the primary key's (village, resident)
-- prefix: a resident's handful of receipts.
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
