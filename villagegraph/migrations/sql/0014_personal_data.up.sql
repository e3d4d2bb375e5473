-- 0014_personal_data upgrade: sent as is, in one transaction, by versions/0014_personal_data.py.
-- Conventions: docs/CONVENTIONS.md. Issue 12, findings 4-7: masking that holds, analysts
-- get aggregates and pseudonymous rows, admission to a village is decided by its staff.

set local search_path = vg, public;

-- Disclosure control (统计披露控制). One row: the minimum group size every protected
-- statistic enforces, and the secret salt of record keys and pseudonyms. The request role
-- reads the minimum only, and only inside a verified context (anonymous included), like
-- every other table; the salt stays with the owner (the definer functions below).
create table vg.disclosure_settings (
    singleton boolean primary key default true check (singleton),
    min_group_size integer not null default 5 check (min_group_size >= 2),
    salt bigint not null default (floor(random() * 9.0e18))::bigint
);
insert into vg.disclosure_settings default values;
alter table vg.disclosure_settings enable row level security;
alter table vg.disclosure_settings force row level security;
create policy disclosure_settings_read on vg.disclosure_settings for select using (
    (select vg.has_context())
);
grant select (singleton, min_group_size) on vg.disclosure_settings to vg_request;

create function vg.min_group_size() returns integer
language sql stable parallel safe as $$
    select coalesce((select min_group_size from vg.disclosure_settings), 5)
$$;
revoke execute on function vg.min_group_size() from public;
grant execute on function vg.min_group_size() to vg_request;

-- A count as a protected statistic may show it: below the minimum group size it is
-- suppressed (null); otherwise it carries a small deterministic perturbation in -2..+2
-- picked by the cell key (the sum of the secret record keys of the people counted), so
-- the same people always give the same figure (asking again gains nothing) and two cells
-- that differ by one person get independent noise (differencing reads nothing off).
create function vg.protected_count(n bigint, cell_key numeric) returns bigint
language sql stable parallel safe as $$
    select case when n < vg.min_group_size() then null
                else greatest(vg.min_group_size(), n + (abs(cell_key) % 5)::bigint - 2) end
$$;
revoke execute on function vg.protected_count(bigint, numeric) from public;
grant execute on function vg.protected_count(bigint, numeric) to vg_request;

-- Tags a city marks sensitive, beyond 低保 and 残疾 which are sensitive everywhere: they
-- are released only inside protected aggregates, never on a row an analyst reads.
create table vg.sensitive_tags (
    city_code bigint not null references vg.org_units (code),
    tag text not null,
    marked_by bigint references vg.accounts (id),
    primary key (city_code, tag)
);
alter table vg.sensitive_tags enable row level security;
alter table vg.sensitive_tags force row level security;
-- Read by whoever has a verified context in that city (its staff and analysts, the staff
-- below it, its residents); the definer functions below read it as the owner.
create policy sensitive_tags_read on vg.sensitive_tags for select using (
    city_code <@ (select vg.read_scope())
    or city_code = any ((select vg.public_publishers())::bigint[])
);
create policy sensitive_tags_mark on vg.sensitive_tags for insert with check (
    city_code <@ (select vg.write_scope()) and city_code % 100000000 = 0
    and marked_by = (select vg.account_id())
);
grant select on vg.sensitive_tags to vg_request;
grant insert (city_code, tag, marked_by) on vg.sensitive_tags to vg_request;

create function vg.is_sensitive_tag(p_village bigint, p_tag text) returns boolean
language sql stable parallel safe as $$
    select p_tag in ('低保', '残疾')
        or exists (select 1 from vg.sensitive_tags s
                    where s.city_code = p_village - p_village % 100000000 and s.tag = p_tag)
$$;
-- Owner only: called by vg.resident_pseudonyms, which runs as the owner.
revoke execute on function vg.is_sensitive_tag(bigint, text) from public;

-- Finding 6: analysts read no resident, household, history or party-membership row. The
-- staff who may (write_scope: officials and cadres, never analysts) keep their rows.
alter policy residents_read on vg.residents using (
    village_code <@ (select vg.write_scope())
    or residence_code <@ (select vg.write_scope())
    or id = (select vg.resident_id())
);
alter policy households_read on vg.households using (
    village_code <@ (select vg.write_scope())
);
alter policy resident_history_read on vg.resident_history using (
    village_code <@ (select vg.write_scope())
);
alter policy party_members_read on vg.party_members using (
    village_code <@ (select vg.write_scope())
    or (village_code = (select vg.household_village()) and resident_id = (select vg.resident_id()))
);
-- History rows carry exact birth dates and every tag: the request role reads their keys
-- and periods only; statistics come from vg.resident_counts.
revoke select on vg.resident_history from vg_request;
grant select (village_code, resident_id, valid_from, valid_to) on vg.resident_history to vg_request;

-- Pseudonymous rows for analysis: no name, no id, no birth date (a year), no address, no
-- sensitive tag. Scoped like every staff read.
create function vg.resident_pseudonyms(p_lo bigint, p_hi bigint)
returns table (village_code bigint, pseudonym text, gender text, birth_year integer, tags text[])
language sql stable security definer set search_path = pg_catalog, vg, pg_temp as $$
    select r.village_code,
           md5(s.salt::text || '/' || r.id::text),
           r.gender,
           extract(year from r.birth_date)::integer,
           array(select t from unnest(r.tags) t where not vg.is_sensitive_tag(r.village_code, t))
      from vg.residents r cross join vg.disclosure_settings s
     where r.village_code between p_lo and p_hi
       and r.village_code <@ vg.read_scope()
$$;
revoke execute on function vg.resident_pseudonyms(bigint, bigint) from public;
grant execute on function vg.resident_pseudonyms(bigint, bigint) to vg_request;

-- 年龄段 on a date.
create function vg.age_band(p_birth date, p_on date) returns text
language sql immutable parallel safe as $$
    select case when p_birth is null then 'UNKNOWN'
                when extract(year from age(p_on, p_birth)) >= 80 then '80+'
                when extract(year from age(p_on, p_birth)) >= 60 then '60-79'
                when extract(year from age(p_on, p_birth)) >= 35 then '35-59'
                when extract(year from age(p_on, p_birth)) >= 18 then '18-34'
                else '0-17' end
$$;
-- Owner only: called by vg.resident_counts, which runs as the owner.
revoke execute on function vg.age_band(date, date) from public;

-- Exact figures only for the cadres of the one village asked about; every caller above
-- the village, and every analyst, gets protected counts.
create function vg.exact_statistics_for(p_lo bigint, p_hi bigint) returns boolean
language sql stable parallel safe as $$
    select p_lo = p_hi and p_lo = any (vg.cadre_villages())
$$;
-- The request role too: the RESIDENTS analytics measure picks exact or protected counts.
revoke execute on function vg.exact_statistics_for(bigint, bigint) from public;
grant execute on function vg.exact_statistics_for(bigint, bigint) to vg_request;

-- Head counts of a subtree on a date, grouped by any of AGE_BAND, GENDER, TAG and UNIT
-- (the unit one tier down: code - code % p_child_divisor), plus the total (is_total).
-- Under TAG a resident counts once under each tag, once in the total. Runs as the owner
-- over vg.resident_history, only for a caller who reads the whole subtree; protects
-- every count unless vg.exact_statistics_for says otherwise.
create function vg.resident_counts(
    p_lo bigint, p_hi bigint, p_on date, p_dimensions text[], p_child_divisor bigint,
    p_tags text[]
) returns table (age_band text, gender text, tag text, unit bigint, is_total boolean,
                 residents bigint)
language plpgsql stable security definer set search_path = pg_catalog, vg, pg_temp as $$
declare
    by_tag boolean := 'TAG' = any (p_dimensions);
    exprs text[] := array[
        case when 'AGE_BAND' = any (p_dimensions) then 'vg.age_band(h.birth_date, $3)' end,
        case when 'GENDER' = any (p_dimensions) then 'h.gender' end,
        case when by_tag then 't.tag' end,
        case when 'UNIT' = any (p_dimensions)
             then '(h.village_code - h.village_code % coalesce($4, 1))' end];
    keys text;
    is_total text;
    once text := case when by_tag then ' filter (where t.n is null or t.n = 1)' else '' end;
begin
    if not (int8range(p_lo, p_hi, '[]') <@ vg.read_scope()) then
        return;
    end if;
    keys := array_to_string(exprs, ', ');  -- nulls (dimensions not asked) are skipped
    is_total := case when keys = '' then 'true' else format('grouping(%s) <> 0', keys) end;
    return query execute format(
        $sql$
        select g.age_band, g.gender, g.tag, g.unit, g.is_total,
               case when vg.exact_statistics_for($1, $2) then g.n
                    else vg.protected_count(g.n, g.cell_key) end
          from (select %s::text as age_band, %s::text as gender, %s::text as tag,
                       %s::bigint as unit, %s as is_total,
                       case when %s then count(*)%s else count(*) end as n,
                       case when %s then sum(k.key)%s else sum(k.key) end as cell_key
                  from vg.resident_history h
                  cross join vg.disclosure_settings s
                  cross join lateral (select hashtextextended(h.resident_id::text, s.salt)) k (key)
                  %s
                 where h.village_code between $1 and $2
                   and h.valid_from <= $3 and (h.valid_to is null or h.valid_to > $3)
                   and h.tags @> $5
                 group by %s) g
        $sql$,
        coalesce(exprs[1], 'null'), coalesce(exprs[2], 'null'), coalesce(exprs[3], 'null'),
        coalesce(exprs[4], 'null'), is_total, is_total, once, is_total, once,
        case when by_tag
             then 'left join lateral unnest(h.tags) with ordinality as t (tag, n) on true'
             else '' end,
        case when keys = '' then '()' else format('grouping sets ((), (%s))', keys) end)
    using p_lo, p_hi, p_on, p_child_divisor, coalesce(p_tags, '{}');
end
$$;
revoke execute on function vg.resident_counts(bigint, bigint, date, text[], bigint, text[]) from public;
grant execute on function vg.resident_counts(bigint, bigint, date, text[], bigint, text[]) to vg_request;

-- 党员 with a membership on a date, protected like every head count above the village.
create function vg.party_member_count(p_lo bigint, p_hi bigint, p_on date) returns bigint
language sql stable security definer set search_path = pg_catalog, vg, pg_temp as $$
    select case when vg.exact_statistics_for(p_lo, p_hi) then count(*)
                else vg.protected_count(count(*), sum(hashtextextended(m.resident_id::text, s.salt))) end
      from vg.party_members m cross join vg.disclosure_settings s
     where int8range(p_lo, p_hi, '[]') <@ vg.read_scope()
       and m.village_code between p_lo and p_hi
       and m.joined_on <= p_on and (m.left_on is null or m.left_on > p_on)
$$;
revoke execute on function vg.party_member_count(bigint, bigint, date) from public;
grant execute on function vg.party_member_count(bigint, bigint, date) to vg_request;

-- Finding 5 and PIPL: who read whose full ID number, and when. Written by
-- vg.resident_contacts in the reading request's transaction; read by the staff of the
-- resident's village and by the reader itself; nobody writes it directly.
create table vg.personal_data_reads (
    id bigserial primary key,
    at timestamptz not null default clock_timestamp(),
    reader_account bigint not null references vg.accounts (id),
    resident_village bigint not null,
    resident_id bigint not null,
    field text not null check (field in ('ID_NUMBER'))
);
create index personal_data_reads_resident on vg.personal_data_reads (resident_village, resident_id, at);
create index personal_data_reads_reader on vg.personal_data_reads (reader_account, at);
alter table vg.personal_data_reads enable row level security;
alter table vg.personal_data_reads force row level security;
create policy personal_data_reads_read on vg.personal_data_reads for select using (
    resident_village <@ (select vg.write_scope())
    or reader_account = (select vg.account_id())
);
grant select on vg.personal_data_reads to vg_request;

-- ID numbers, phones: in full to the cadres of the household village and the resident
-- itself, masked to every other staff member who may see the row (analysts see none).
-- Each full ID number shown to someone other than its owner is recorded.
drop function vg.resident_contacts(bigint[]);
create function vg.resident_contacts(p_ids bigint[])
returns table (id bigint, id_number text, phone text, masked boolean)
language plpgsql volatile security definer set search_path = pg_catalog, vg, pg_temp as $$
begin
    return query
    with caller as (
        select vg.write_scope() as scope, vg.cadre_villages() as own, vg.resident_id() as self
    ), shown as (
        select r.village_code, r.id, r.id_number, r.phone, coalesce(r.id = c.self, false) as own_record,
               coalesce(r.village_code = any (c.own) or r.id = c.self, false) as full_view
          from vg.residents r cross join caller c
         where r.id = any (p_ids)
           and (r.village_code <@ c.scope or r.residence_code <@ c.scope or r.id = c.self)
    ), recorded as (
        insert into vg.personal_data_reads (reader_account, resident_village, resident_id, field)
        select vg.account_id(), s.village_code, s.id, 'ID_NUMBER' from shown s
         where s.full_view and not s.own_record and s.id_number is not null
        returning 1
    )
    select s.id,
           case when s.full_view then s.id_number else vg.mask_id_number(s.id_number) end,
           case when s.full_view then s.phone else vg.mask_phone(s.phone) end,
           not s.full_view
      from shown s;
end
$$;
revoke execute on function vg.resident_contacts(bigint[]) from public;
grant execute on function vg.resident_contacts(bigint[]) to vg_request;

-- Finding 5: an exact-match lookup answers only inside the villages where the caller sees
-- the value in full (its cadre villages, or itself); elsewhere it finds nobody, so no
-- count can confirm a guessed digit. The API refuses such filters before asking.
create or replace function vg.resident_ids_by_identity(p_id_number text, p_phone text)
returns setof bigint
language sql stable security definer set search_path = pg_catalog, vg, pg_temp as $$
    select r.id from vg.residents r
     where (p_id_number is not null or p_phone is not null)
       and (p_id_number is null or r.id_number = p_id_number)
       and (p_phone is null or r.phone = p_phone)
       and (r.village_code = any (vg.cadre_villages()) or r.id = vg.resident_id())
$$;

-- Finding 7: admission as a member of village X (接纳为本村成员) is decided by X's staff.
-- The household village's staff (or the resident) ask; X's staff accept or reject.
create sequence vg.membership_requests_id_seq;
create table vg.membership_requests (
    village_code bigint not null references vg.org_units (code),  -- X, the village asked
    id bigint not null default nextval('vg.membership_requests_id_seq'),
    resident_village bigint not null,
    resident_id bigint not null,
    status text not null default 'PENDING'
        check (status in ('PENDING', 'ACCEPTED', 'REJECTED', 'ENDED')),
    requested_by bigint not null references vg.accounts (id),
    requested_at timestamptz not null default now(),
    decided_by bigint references vg.accounts (id),
    decided_at timestamptz,
    reason text,
    primary key (village_code, id),
    foreign key (resident_village, resident_id) references vg.residents (village_code, id),
    check ((status = 'PENDING') = (decided_by is null))
);
alter sequence vg.membership_requests_id_seq owned by vg.membership_requests.id;
create unique index membership_requests_id on vg.membership_requests (id);
create unique index membership_requests_open on vg.membership_requests (resident_id, village_code)
    where status in ('PENDING', 'ACCEPTED');
create index membership_requests_resident on vg.membership_requests (resident_village, resident_id);
alter table vg.membership_requests enable row level security;
alter table vg.membership_requests force row level security;
create policy membership_requests_read on vg.membership_requests for select using (
    village_code <@ (select vg.write_scope())
    or resident_village <@ (select vg.write_scope())
    or (resident_village = (select vg.household_village())
        and resident_id = (select vg.resident_id()))
);
create policy membership_requests_request on vg.membership_requests for insert with check (
    (resident_village <@ (select vg.write_scope())
     or (resident_village = (select vg.household_village())
         and resident_id = (select vg.resident_id())))
    and requested_by = (select vg.account_id())
);
create policy membership_requests_decide on vg.membership_requests for update
    using (village_code <@ (select vg.write_scope()) and status = 'PENDING')
    with check (village_code <@ (select vg.write_scope())
                and status in ('ACCEPTED', 'REJECTED')
                and decided_by = (select vg.account_id()));
grant usage on sequence vg.membership_requests_id_seq to vg_request;
grant select on vg.membership_requests to vg_request;
grant insert (village_code, resident_village, resident_id, requested_by)
    on vg.membership_requests to vg_request;
grant update (status, decided_by, decided_at, reason) on vg.membership_requests to vg_request;

-- Accepting a request admits the resident, if it still lives in that village.
create function vg.membership_request_admit() returns trigger
language plpgsql security definer set search_path = pg_catalog, vg, pg_temp as $$
begin
    if new.status = 'ACCEPTED' and old.status = 'PENDING' then
        update vg.residents set residence_member = true
         where village_code = new.resident_village and id = new.resident_id
           and residence_code = new.village_code;
        if not found then
            raise exception 'the resident no longer lives in village %', new.village_code
                using errcode = 'check_violation';
        end if;
    end if;
    return new;
end
$$;
revoke execute on function vg.membership_request_admit() from public;
create trigger membership_requests_admit after update of status on vg.membership_requests
    for each row execute function vg.membership_request_admit();

-- Household staff close an accepted admission when the membership ends (the trigger
-- below does it for them), so an old acceptance can never be reused.
create policy membership_requests_end on vg.membership_requests for update
    using (resident_village <@ (select vg.write_scope()) and status = 'ACCEPTED')
    with check (resident_village <@ (select vg.write_scope()) and status = 'ENDED');

-- A decision is the database's record: it stamps the decision time (no back-dating), and
-- ending an acceptance changes its status only (who decided, when and why stay as they
-- were decided). The owner (seeding) is trusted.
create function vg.membership_request_decision_check() returns trigger
language plpgsql as $$
begin
    if (select r.rolbypassrls or r.rolsuper from pg_catalog.pg_roles r
         where r.rolname = current_user) then
        return new;
    end if;
    if old.status = 'PENDING' then
        new.decided_at := pg_catalog.now();
    elsif (new.decided_by, new.decided_at, new.reason)
          is distinct from (old.decided_by, old.decided_at, old.reason) then
        raise exception 'ending an admission changes its status only'
            using errcode = 'insufficient_privilege';
    end if;
    return new;
end
$$;
revoke execute on function vg.membership_request_decision_check() from public;
create trigger membership_requests_decision before update on vg.membership_requests
    for each row execute function vg.membership_request_decision_check();

-- Residents: membership in the residence village follows an accepted request, whoever
-- writes the row through the request role. Moving ends it; becoming a member needs X's
-- acceptance. Runs as the invoker, under its RLS; the owner (seeding, the admit trigger
-- above) is trusted.
create function vg.residents_membership_check() returns trigger
language plpgsql as $$
begin
    if (select r.rolbypassrls or r.rolsuper from pg_catalog.pg_roles r
         where r.rolname = current_user) then
        return new;
    end if;
    if new.residence_code is distinct from old.residence_code then
        new.residence_member := false;
    end if;
    if new.residence_member and not old.residence_member and not exists (
        select 1 from vg.membership_requests m
         where m.resident_id = new.id and m.village_code = new.residence_code
           and m.status = 'ACCEPTED') then
        raise exception 'membership of village % is decided by its staff', new.residence_code
            using errcode = 'insufficient_privilege';
    end if;
    if old.residence_member and not new.residence_member then
        update vg.membership_requests set status = 'ENDED'
         where resident_id = old.id and village_code = old.residence_code and status = 'ACCEPTED';
    end if;
    return new;
end
$$;
revoke execute on function vg.residents_membership_check() from public;
create trigger residents_membership before update on vg.residents
    for each row execute function vg.residents_membership_check();

-- Writes reaching outside the writer's village through an input column (issue 12 review):
-- a cadre position names a resident of its own village only; a roll enrols only the
-- village's own residents or residents it admitted.
alter policy cadres_appoint on vg.cadres with check (
    village_code <@ (select vg.write_scope()) and appointed_by = (select vg.account_id())
    and (resident_village is null or resident_village = village_code)
);
alter policy consultation_electors_enrol on vg.consultation_electors with check (
    village_code <@ (select vg.write_scope())
    and (resident_village = village_code
         or exists (select 1 from vg.residents r
                     where r.village_code = resident_village and r.id = resident_id
                       and r.residence_code = consultation_electors.village_code
                       and r.residence_member))
);
