-- 0005_rollups upgrade: sent as is, in one transaction, by versions/0005_rollups.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;

-- Months are local (Asia/Shanghai) calendar months, as dashboard periods are.
create function vg.local_month(at timestamptz) returns date
language sql immutable parallel safe as $$
    select date_trunc('month', at at time zone 'Asia/Shanghai')::date
$$;

create table vg.unit_figures (
    unit_code bigint primary key references vg.org_units (code),
    residents bigint not null default 0,
    party_members bigint not null default 0,
    notice_readers bigint not null default 0,     -- distinct residents who ever read one
    notices_published bigint not null default 0   -- all time, so a city total reads one row per unit
);

create table vg.unit_monthly_figures (
    unit_code bigint not null references vg.org_units (code),
    month date not null,
    notices_published bigint not null default 0,
    notice_readers bigint not null default 0,     -- distinct residents who read that month
    primary key (unit_code, month)
);

-- The request role cannot write the rollups; these run as their owner.
create function vg.rollup_residents() returns trigger
language plpgsql security definer set search_path = vg, pg_catalog as $$
begin
    if tg_op in ('DELETE', 'UPDATE') then
        insert into vg.unit_figures as f (unit_code, residents, party_members)
        select village_code, -count(*), -count(*) filter (where '党员' = any (tags))
          from gone group by village_code
        on conflict (unit_code) do update
           set residents = f.residents + excluded.residents,
               party_members = f.party_members + excluded.party_members;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        insert into vg.unit_figures as f (unit_code, residents, party_members)
        select village_code, count(*), count(*) filter (where '党员' = any (tags))
          from added group by village_code
        on conflict (unit_code) do update
           set residents = f.residents + excluded.residents,
               party_members = f.party_members + excluded.party_members;
    end if;
    return null;
end
$$;
create trigger residents_rollup_insert after insert on vg.residents
    referencing new table as added for each statement execute function vg.rollup_residents();
create trigger residents_rollup_update after update on vg.residents
    referencing old table as gone new table as added
    for each statement execute function vg.rollup_residents();
create trigger residents_rollup_delete after delete on vg.residents
    referencing old table as gone for each statement execute function vg.rollup_residents();

create function vg.rollup_notices() returns trigger
language plpgsql security definer set search_path = vg, pg_catalog as $$
begin
    insert into vg.unit_monthly_figures as f (unit_code, month, notices_published)
    select publisher_code, vg.local_month(published_at),
           case when tg_op = 'INSERT' then count(*) else -count(*) end
      from changed group by 1, 2
    on conflict (unit_code, month) do update
       set notices_published = f.notices_published + excluded.notices_published;
    insert into vg.unit_figures as u (unit_code, notices_published)
    select publisher_code, case when tg_op = 'INSERT' then count(*) else -count(*) end
      from changed group by 1
    on conflict (unit_code) do update
       set notices_published = u.notices_published + excluded.notices_published;
    return null;
end
$$;
create trigger notices_rollup_insert after insert on vg.notices
    referencing new table as changed for each statement execute function vg.rollup_notices();
create trigger notices_rollup_delete after delete on vg.notices
    referencing old table as changed for each statement execute function vg.rollup_notices();


-- A receipt adds a reader when its resident has no other receipt (that month / ever);
-- receipts are never deleted. The check walks the primary key's (village, resident)
-- prefix: a resident's handful of receipts.
create function vg.rollup_notice_reads() returns trigger
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

create trigger notice_reads_rollup after insert on vg.notice_reads
    referencing new table as added for each statement execute function vg.rollup_notice_reads();

create function vg.rebuild_rollups() returns void
language sql volatile security definer set search_path = vg, pg_catalog as $$
    truncate vg.unit_figures, vg.unit_monthly_figures;
    insert into vg.unit_figures
        (unit_code, residents, party_members, notice_readers, notices_published)
    select unit_code, sum(residents), sum(party_members), sum(readers), sum(published)
      from (select village_code as unit_code, count(*) as residents,
                   count(*) filter (where '党员' = any (tags)) as party_members,
                   0 as readers, 0 as published
              from vg.residents group by 1
            union all
            select resident_village, 0, 0, count(distinct resident_id), 0
              from vg.notice_reads group by 1
            union all
            select publisher_code, 0, 0, 0, count(*) from vg.notices group by 1) as s
     group by unit_code;
    insert into vg.unit_monthly_figures (unit_code, month, notices_published, notice_readers)
    select coalesce(n.unit_code, r.unit_code), coalesce(n.month, r.month),
           coalesce(n.published, 0), coalesce(r.readers, 0)
      from (select publisher_code as unit_code, vg.local_month(published_at) as month,
                   count(*) as published
              from vg.notices group by 1, 2) n
      full join (select resident_village as unit_code, month, count(*) as readers
                   from (select distinct resident_village, resident_id,
                                vg.local_month(read_at) as month
                           from vg.notice_reads) d
                  group by 1, 2) r on r.unit_code = n.unit_code and r.month = n.month;
$$;
revoke execute on function vg.rebuild_rollups() from public;

-- Tenant tables: row-level security on and forced (the owner bypasses it only through
-- BYPASSRLS), and the request role's table privileges. Policies follow below.
alter table vg.unit_figures enable row level security;
alter table vg.unit_figures force row level security;
grant select on vg.unit_figures to vg_request;
alter table vg.unit_monthly_figures enable row level security;
alter table vg.unit_monthly_figures force row level security;
grant select on vg.unit_monthly_figures to vg_request;

create policy unit_figures_read on vg.unit_figures for select using (
    unit_code <@ (select vg.read_scope())
);
create policy unit_monthly_figures_read on vg.unit_monthly_figures for select using (
    unit_code <@ (select vg.read_scope())
);

-- Rows seeded before this revision (an upgraded database) are counted once.
select vg.rebuild_rollups();
