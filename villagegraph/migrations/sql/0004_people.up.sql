-- 0004_people upgrade: sent as is, in one transaction, by versions/0004_people.py.
-- Conventions: docs/CONVENTIONS.md.

-- cube is a trusted extension; the nearest-shelter index is built on it.
create extension if not exists cube schema public;
set local search_path = vg, public;

-- Villages where the caller holds a CADRE grant: only they see a resident's identity in
-- full and review listings. Reads the caller's own grants (visible to it under RLS).
-- Public rows are public to anonymous and authenticated callers, never without a context.
create function vg.has_context() returns boolean
language sql stable parallel safe as $$
    select vg.is_anonymous() or vg.account_id() is not null
$$;

create function vg.cadre_villages() returns bigint[]
language sql stable parallel safe as $$
    select coalesce(array_agg(g.unit_code), '{}') from vg.grants g
     where g.account_id = vg.account_id() and g.role = 'CADRE' and g.revoked_at is null
$$;

-- 户: the household register of a village; residents carry its number (household_no).
create table vg.households (
    village_code bigint not null references vg.org_units (code),
    household_no text not null,
    head_resident_id bigint,
    address text,
    registered_on date,
    primary key (village_code, household_no)
);
create index residents_household on vg.residents (village_code, household_no);

-- Every version of a resident's statistical facts with its validity period [valid_from,
-- valid_to), so the figures of any past date are reproducible after moves and tag
-- changes. Written only by the trigger below, whoever changes vg.residents.
create table vg.resident_history (
    village_code bigint not null references vg.org_units (code),
    resident_id bigint not null,
    valid_from date not null,
    valid_to date,
    residence_code bigint,
    household_no text,
    gender text,
    birth_date date,
    tags text[] not null default '{}',
    primary key (village_code, resident_id, valid_from),
    check (valid_to is null or valid_to > valid_from)
);
create index resident_history_open on vg.resident_history (resident_id) where valid_to is null;
create index resident_history_period on vg.resident_history (village_code, valid_from, valid_to);

-- The date a change takes effect: today, unless an import sets vg.effective_date.
create function vg.effective_date() returns date
language sql stable parallel safe as $$
    select coalesce(vg.setting('vg.effective_date')::date, current_date)
$$;

create function vg.track_resident_history() returns trigger
language plpgsql security definer set search_path = vg, pg_catalog as $$
declare
    effective date := vg.effective_date();
begin
    if tg_op in ('UPDATE', 'DELETE') then
        if tg_op = 'UPDATE' and (new.village_code, new.residence_code, new.household_no,
                                 new.gender, new.birth_date, new.tags)
            is not distinct from (old.village_code, old.residence_code, old.household_no,
                                  old.gender, old.birth_date, old.tags) then
            return new;
        end if;
        -- A second change on the same day replaces that day's version.
        delete from vg.resident_history
         where resident_id = old.id and valid_to is null and valid_from = effective;
        update vg.resident_history set valid_to = effective
         where resident_id = old.id and valid_to is null;
        if tg_op = 'DELETE' then
            return old;
        end if;
    end if;
    insert into vg.resident_history (village_code, resident_id, valid_from, residence_code,
                                     household_no, gender, birth_date, tags)
    values (new.village_code, new.id, effective, new.residence_code, new.household_no,
            new.gender, new.birth_date, new.tags);
    return new;
end
$$;
create trigger residents_history after insert or update or delete on vg.residents
    for each row execute function vg.track_resident_history();

-- Village committee (村/居民委员会) and party branch (党支部) positions with their terms.
-- A term that ends is closed (term_end), never deleted: past months stay reproducible.
create sequence vg.cadres_id_seq;
create table vg.cadres (
    village_code bigint not null references vg.org_units (code),
    id bigint not null default nextval('vg.cadres_id_seq'),
    name text not null,
    body text not null check (body in ('COMMITTEE', 'PARTY_BRANCH')),
    position text not null,
    resident_village bigint,
    resident_id bigint,
    account_id bigint references vg.accounts (id),
    term_start date not null,
    term_end date,
    appointed_by bigint references vg.accounts (id),
    primary key (village_code, id),
    check (term_end is null or term_end > term_start),
    foreign key (resident_village, resident_id) references vg.residents (village_code, id)
        on update cascade
);
alter sequence vg.cadres_id_seq owned by vg.cadres.id;
create unique index cadres_id on vg.cadres (id);
create index cadres_term on vg.cadres (village_code, term_start, term_end);

-- Party membership (党员) as a fact with dates; the 党员 tag on residents is its label.
create table vg.party_members (
    village_code bigint not null,
    resident_id bigint not null,
    joined_on date not null,
    left_on date,
    branch_code bigint not null references vg.org_units (code),
    primary key (village_code, resident_id, joined_on),
    check (left_on is null or left_on > joined_on),
    foreign key (village_code, resident_id) references vg.residents (village_code, id)
        on update cascade
);
create index party_members_period on vg.party_members (village_code, joined_on, left_on);

-- ID numbers and phones: the request role cannot select these columns at all. It reads
-- them through vg.resident_contacts, which shows them in full only to cadres of the
-- resident's household village (and to the resident itself), masked to everyone else
-- who may see the row; and looks residents up by them through vg.resident_ids_by_identity.
create index residents_id_number on vg.residents (id_number) where id_number is not null;
create index residents_phone on vg.residents (phone) where phone is not null;

create function vg.mask_id_number(value text) returns text
language sql immutable parallel safe as $$
    select case when value is null then null
                when length(value) <= 10 then repeat('*', length(value))
                else left(value, 6) || repeat('*', length(value) - 10) || right(value, 4) end
$$;

create function vg.mask_phone(value text) returns text
language sql immutable parallel safe as $$
    select case when value is null then null
                when length(value) <= 7 then repeat('*', length(value))
                else left(value, 3) || repeat('*', length(value) - 7) || right(value, 4) end
$$;

-- Mirrors the residents_read policy: this function runs as the owner, past RLS.
create function vg.resident_contacts(p_ids bigint[])
returns table (id bigint, id_number text, phone text, masked boolean)
language sql stable security definer set search_path = vg, pg_catalog as $$
    with caller as (
        select vg.read_scope() as scope, vg.cadre_villages() as own, vg.resident_id() as self
    )
    select r.id,
           case when full_view then r.id_number else vg.mask_id_number(r.id_number) end,
           case when full_view then r.phone else vg.mask_phone(r.phone) end,
           not full_view
      from vg.residents r
      cross join caller c
      cross join lateral (
          select coalesce(r.village_code = any (c.own) or r.id = c.self, false)) v (full_view)
     where r.id = any (p_ids)
       and (r.village_code <@ c.scope or r.residence_code <@ c.scope or r.id = c.self)
$$;

create function vg.resident_ids_by_identity(p_id_number text, p_phone text)
returns setof bigint
language sql stable security definer set search_path = vg, pg_catalog as $$
    select r.id from vg.residents r
     where (p_id_number is not null or p_phone is not null)
       and (p_id_number is null or r.id_number = p_id_number)
       and (p_phone is null or r.phone = p_phone)
       and (r.village_code <@ vg.read_scope() or r.residence_code <@ vg.read_scope()
            or r.id = vg.resident_id())
$$;

revoke select on vg.residents from vg_request;
grant select (village_code, id, name, gender, birth_date, household_no, residence_code,
              residence_member, tags, created_at) on vg.residents to vg_request;
revoke execute on function vg.resident_contacts(bigint[]) from public;
revoke execute on function vg.resident_ids_by_identity(text, text) from public;
grant execute on function vg.resident_contacts(bigint[]) to vg_request;
grant execute on function vg.resident_ids_by_identity(text, text) to vg_request;

-- 名特优 specialty products and 农家乐 farm stays: a resident applies in its household
-- village, a cadre of that village reviews; approved ones are public.
create sequence vg.listings_id_seq;
create table vg.listings (
    village_code bigint not null references vg.org_units (code),
    id bigint not null default nextval('vg.listings_id_seq'),
    kind text not null check (kind in ('SPECIALTY_PRODUCT', 'FARM_STAY')),
    name text not null,
    description text not null,
    price numeric(12, 2) check (price >= 0),
    contact text not null,
    photos text[] not null default '{}',
    rooms integer check (rooms > 0),
    capacity integer check (capacity > 0),
    status text not null default 'PENDING' check (status in ('PENDING', 'APPROVED', 'REJECTED')),
    review_reason text,
    applicant_id bigint not null,
    applied_by bigint references vg.accounts (id),  -- null: entered from a paper form
    applied_at timestamptz not null default now(),
    reviewed_by bigint references vg.accounts (id),
    reviewed_at timestamptz,
    primary key (village_code, id),
    foreign key (village_code, applicant_id) references vg.residents (village_code, id),
    check (kind = 'FARM_STAY' or (rooms is null and capacity is null)),
    check (status <> 'REJECTED' or review_reason is not null)
);
alter sequence vg.listings_id_seq owned by vg.listings.id;
create unique index listings_id on vg.listings (id);
create index listings_approved on vg.listings (kind, id desc) where status = 'APPROVED';
create index listings_village on vg.listings (village_code, id desc);
create index listings_text_trgm on vg.listings using gin ((name || ' ' || description) gin_trgm_ops);

-- 避灾安置场所. Coordinates become a point on the earth in metres (a 3-D cube), so a GiST
-- index answers nearest-first (KNN on the straight-line chord, which orders exactly like
-- the great-circle distance) without the untrusted earthdistance extension.
create function vg.earth_point(lat double precision, lng double precision) returns public.cube
language sql immutable strict parallel safe as $$
    select public.cube(array[
        6371008.8 * cos(radians(lat)) * cos(radians(lng)),
        6371008.8 * cos(radians(lat)) * sin(radians(lng)),
        6371008.8 * sin(radians(lat))])
$$;

-- Great-circle distance in metres from the chord between two earth points.
create function vg.great_circle_meters(a public.cube, b public.cube) returns double precision
language sql immutable strict parallel safe as $$
    select 2 * 6371008.8 * asin(least(1.0, public.cube_distance(a, b) / (2 * 6371008.8)))
$$;

create sequence vg.shelters_id_seq;
create table vg.shelters (
    unit_code bigint not null references vg.org_units (code),  -- the maintaining unit
    id bigint not null default nextval('vg.shelters_id_seq'),
    name text not null,
    address text not null,
    lat double precision not null check (lat between -90 and 90),
    lng double precision not null check (lng between -180 and 180),
    position public.cube generated always as (vg.earth_point(lat, lng)) stored,
    capacity integer not null check (capacity >= 0),
    facilities text[] not null default '{}',
    contact text,
    status text not null default 'STANDBY' check (status in ('OPEN', 'STANDBY', 'CLOSED')),
    updated_at timestamptz not null default now(),
    updated_by bigint references vg.accounts (id),
    primary key (unit_code, id)
);
alter sequence vg.shelters_id_seq owned by vg.shelters.id;
create unique index shelters_id on vg.shelters (id);
create index shelters_position on vg.shelters using gist (position);

-- Tenant tables: row-level security on and forced (the owner bypasses it only through
-- BYPASSRLS), and the request role's table privileges. Policies follow below.
alter table vg.households enable row level security;
alter table vg.households force row level security;
grant select on vg.households to vg_request;
alter table vg.resident_history enable row level security;
alter table vg.resident_history force row level security;
grant select on vg.resident_history to vg_request;
alter table vg.party_members enable row level security;
alter table vg.party_members force row level security;
grant select on vg.party_members to vg_request;
alter table vg.cadres enable row level security;
alter table vg.cadres force row level security;
grant select, insert on vg.cadres to vg_request;
alter table vg.listings enable row level security;
alter table vg.listings force row level security;
grant select, insert on vg.listings to vg_request;
alter table vg.shelters enable row level security;
alter table vg.shelters force row level security;
grant select, insert on vg.shelters to vg_request;

grant usage on sequence vg.cadres_id_seq, vg.listings_id_seq, vg.shelters_id_seq to vg_request;

-- Households and history: the staff of the subtree (analysts included, for statistics).
create policy households_read on vg.households for select using (
    village_code <@ (select vg.read_scope())
);
create policy resident_history_read on vg.resident_history for select using (
    village_code <@ (select vg.read_scope())
);

-- Staff of the household village keep tags and residence up to date (history follows).
create policy residents_update on vg.residents for update
    using (village_code <@ (select vg.write_scope()))
    with check (village_code <@ (select vg.write_scope()));
grant update (tags, residence_code, residence_member) on vg.residents to vg_request;

-- Cadres: 组织公开 to the village's members; maintained by the village and above.
create policy cadres_read on vg.cadres for select using (
    village_code <@ (select vg.read_scope())
    or village_code = any ((select vg.member_villages())::bigint[])
);
create policy cadres_appoint on vg.cadres for insert with check (
    village_code <@ (select vg.write_scope()) and appointed_by = (select vg.account_id())
);
create policy cadres_end_term on vg.cadres for update
    using (village_code <@ (select vg.write_scope()))
    with check (village_code <@ (select vg.write_scope()));
grant update (term_end) on vg.cadres to vg_request;

create policy party_members_read on vg.party_members for select using (
    village_code <@ (select vg.read_scope())
    or (village_code = (select vg.household_village()) and resident_id = (select vg.resident_id()))
);

-- Listings: approved ones are public (anonymous included); pending and rejected ones only
-- the applicant and the cadres of the village.
create policy listings_read on vg.listings for select using (
    (status = 'APPROVED' and (select vg.has_context()))
    or village_code = any ((select vg.cadre_villages())::bigint[])
    or (village_code = (select vg.household_village()) and applicant_id = (select vg.resident_id()))
);
create policy listings_apply on vg.listings for insert with check (
    village_code = (select vg.household_village())
    and applicant_id = (select vg.resident_id())
    and applied_by = (select vg.account_id())
    and status = 'PENDING' and reviewed_by is null and reviewed_at is null
);
create policy listings_review on vg.listings for update
    using (village_code = any ((select vg.cadre_villages())::bigint[]))
    with check (village_code = any ((select vg.cadre_villages())::bigint[])
                and reviewed_by = (select vg.account_id()));
grant update (status, review_reason, reviewed_by, reviewed_at) on vg.listings to vg_request;

-- Shelters: public unless closed; maintained by cadres and officials of the subtree.
create policy shelters_read on vg.shelters for select using (
    (status <> 'CLOSED' and (select vg.has_context()))
    or unit_code <@ (select vg.read_scope())
);
create policy shelters_create on vg.shelters for insert with check (
    unit_code <@ (select vg.write_scope()) and updated_by = (select vg.account_id())
);
create policy shelters_maintain on vg.shelters for update
    using (unit_code <@ (select vg.write_scope()))
    with check (unit_code <@ (select vg.write_scope()) and updated_by = (select vg.account_id()));
grant update (name, address, lat, lng, capacity, facilities, contact, status, updated_at,
              updated_by) on vg.shelters to vg_request;
