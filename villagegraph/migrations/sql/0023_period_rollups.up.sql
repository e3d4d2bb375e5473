-- 0023_period_rollups upgrade: sent as is, in one transaction, by versions/0023_period_rollups.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;

-- Distinct readers over any run of whole months, exactly, without scanning receipts.
--
-- For one resident, let M be the set of local months in which they read a notice. They
-- read in the period [a, b] iff some m in M lies in [a, b]; and then exactly one such m has
-- its predecessor in M (the previous month they read in, or -infinity) before a: the
-- first month they read in within the period. So
--     readers(a, b) = #{(resident, m) : a <= m <= b and previous(m) < a}
-- and it is enough to count, per unit, month m and previous month p, the residents whose
-- month m follows p. A period sums the rows of its months whose p is before its start
-- (p = -infinity: the resident's first month; an open start counts only those). Rows are
-- kept for a village and each of its ancestors (readers belong to one village), so a
-- dashboard reads its own and its children's rows: a few hundred per unit at any tier.
create table vg.unit_reader_months (
    unit_code bigint not null references vg.org_units (code),
    month date not null,               -- a month the residents read in
    previous_month date not null,      -- the month they read in before it, or -infinity
    readers bigint not null default 0, -- residents of the unit with that (month, previous)
    primary key (unit_code, month, previous_month)
);

alter table vg.unit_reader_months enable row level security;
alter table vg.unit_reader_months force row level security;
grant select on vg.unit_reader_months to vg_request;
create policy unit_reader_months_read on vg.unit_reader_months for select using (
    unit_code <@ (select vg.read_scope())
);

-- A unit and its ancestors (the division hierarchy is public).
create function vg.unit_lineage(code bigint) returns setof bigint
language sql stable parallel safe set search_path = pg_catalog, vg, pg_temp as $$
    with recursive up (code) as (
        select code
        union all
        select u.parent_code from vg.org_units u join up on u.code = up.code
         where u.parent_code is not null
    )
    select code from up
$$;
revoke execute on function vg.unit_lineage(bigint) from public;

-- The (month, previous month) rows of receipts, one per resident and month read in.
create function vg.reader_month_rows(village bigint, resident bigint, exclude bigint[])
returns table (month date, previous_month date)
language sql stable set search_path = pg_catalog, vg, pg_temp as $$
    select m, lag(m, 1, '-infinity'::date) over (order by m)
      from (select distinct vg.local_month(r.read_at) as m from vg.notice_reads r
             where r.resident_village = village and r.resident_id = resident
               and r.notice_id <> all (exclude)) as months
$$;
revoke execute on function vg.reader_month_rows(bigint, bigint, bigint[]) from public;

create or replace function vg.rollup_notice_reads() returns trigger
language plpgsql security definer set search_path = pg_catalog, vg, pg_temp as $$
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

    -- Reader months: each affected resident's rows after the receipts minus before them
    -- (a receipt in a month already read in changes nothing; a new month adds its row and
    -- re-links the month after it).
    with fresh as (
        select resident_village, resident_id, array_agg(notice_id) as ids
          from added group by 1, 2
    ), delta as (
        select f.resident_village as village, d.month, d.previous_month, sum(d.change) as change
          from fresh f
         cross join lateral (
             select a.month, a.previous_month, 1 as change
               from vg.reader_month_rows(f.resident_village, f.resident_id, '{}') a
             union all
             select b.month, b.previous_month, -1
               from vg.reader_month_rows(f.resident_village, f.resident_id, f.ids) b
         ) d
         group by 1, 2, 3
        having sum(d.change) <> 0
    )
    insert into vg.unit_reader_months as t (unit_code, month, previous_month, readers)
    select l.code, d.month, d.previous_month, sum(d.change)
      from delta d cross join lateral vg.unit_lineage(d.village) as l (code)
     group by 1, 2, 3
    on conflict (unit_code, month, previous_month) do update
       set readers = t.readers + excluded.readers;
    return null;
end
$$;

-- Recomputes the reader months from the receipts (the bulk generator, repairs).
create function vg.rebuild_reader_months() returns void
language sql volatile security definer set search_path = pg_catalog, vg, pg_temp as $$
    truncate vg.unit_reader_months;
    insert into vg.unit_reader_months (unit_code, month, previous_month, readers)
    select l.code, v.month, v.previous_month, sum(v.readers)
      from (select resident_village, month, previous_month, count(*) as readers
              from (select resident_village, month,
                           lag(month, 1, '-infinity'::date)
                               over (partition by resident_village, resident_id order by month)
                               as previous_month
                      from (select distinct resident_village, resident_id,
                                   vg.local_month(read_at) as month
                              from vg.notice_reads) as months) as linked
             group by 1, 2, 3) as v
     cross join lateral vg.unit_lineage(v.resident_village) as l (code)
     group by 1, 2, 3;
$$;
revoke execute on function vg.rebuild_reader_months() from public;

select vg.rebuild_reader_months();
