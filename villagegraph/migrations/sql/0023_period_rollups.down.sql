-- 0023_period_rollups downgrade: sent as is, in one transaction, by versions/0023_period_rollups.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;
create or replace function vg.rollup_notice_reads() returns trigger
language plpgsql security definer set search_path = pg_catalog, vg, public, pg_temp as $$
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
drop function vg.rebuild_reader_months();
drop function vg.reader_month_rows(bigint, bigint, bigint[]);
drop function vg.unit_lineage(bigint);
drop table vg.unit_reader_months;
