-- 0001_core upgrade: sent as is, in one transaction, by versions/0001_core.py.
-- Conventions: docs/CONVENTIONS.md.

-- Runs as vg_owner, which owns this database. What needs more than the owner (the LOGIN
-- roles, the extensions, the database's ownership) is the admin's bootstrap, done once
-- before (villagegraph/roles.py: `villagegraph migrate --create-roles`, or automatically
-- for the embedded server).
do $$
begin
    if current_user::text <> 'vg_owner' then
        raise exception 'migrations run as vg_owner, not %', current_user
            using hint = 'villagegraph migrate connects as vg_owner (README, "Database roles")';
    end if;
    if not exists (select from pg_roles where rolname = 'vg_request') then
        raise exception 'role vg_request does not exist'
            using hint = 'run `villagegraph migrate --create-roles` once with an admin URL';
    end if;
end
$$;
-- Created by the bootstrap; this only names the dependency (pg_trgm is trusted).
create extension if not exists pg_trgm schema public;

create schema if not exists vg authorization vg_owner;
-- Unqualified names in this migration resolve to vg; so do the database's sessions.
select set_config('search_path', 'vg, public', true);
do $$ begin execute format('alter database %I set search_path = vg, public', current_database()); end $$;
set local search_path = vg, public;

-- Division codes are 12 digits: city 4, county 2, town 3, village 3. A subtree is the
-- contiguous range [code, subtree_end(code)], so "inside" is a btree range test.
create function vg.subtree_end(code bigint) returns bigint
language sql immutable parallel safe as $$
    select case
        when code % 1000 <> 0 then code
        when code % 1000000 <> 0 then code + 999
        when code % 100000000 <> 0 then code + 999999
        when code % 10000000000 <> 0 then code + 99999999
        else code + 9999999999
    end
$$;

create function vg.subtree(code bigint) returns int8range
language sql immutable parallel safe as $$
    select int8range(code, vg.subtree_end(code), '[]')
$$;

-- Ancestor-or-self codes of a unit (city, county, town, the unit itself).
create function vg.ancestors_or_self(code bigint) returns bigint[]
language sql immutable parallel safe as $$
    select array(
        select distinct a from unnest(array[
            code - code % 100000000, code - code % 1000000, code - code % 1000, code
        ]) a order by a
    )
$$;

create table vg.org_units (
    code bigint primary key check (code between 100000000000 and 999999999999),
    name text not null,
    level text not null check (level in ('CITY', 'COUNTY', 'TOWN', 'VILLAGE')),
    parent_code bigint references vg.org_units (code),
    -- 村规模调整: merged or moved units are closed, never rewritten.
    valid_from date not null default date '2019-01-01',
    valid_to date,
    successor_code bigint references vg.org_units (code),
    subtree_end bigint generated always as (vg.subtree_end(code)) stored
);
create index org_units_parent on vg.org_units (parent_code, code);
create index org_units_name_trgm on vg.org_units using gin (name gin_trgm_ops);

create sequence vg.residents_id_seq;
create table vg.residents (
    village_code bigint not null references vg.org_units (code),  -- 户籍所在村社
    id bigint not null default nextval('vg.residents_id_seq'),
    name text not null,
    gender text check (gender in ('M', 'F')),
    birth_date date,
    household_no text,
    residence_code bigint references vg.org_units (code),         -- 常驻村社
    residence_member boolean not null default false,                -- admitted as a member there
    tags text[] not null default '{}',
    id_number text,
    phone text,
    created_at timestamptz not null default now(),
    primary key (village_code, id)
);
alter sequence vg.residents_id_seq owned by vg.residents.id;
create unique index residents_id on vg.residents (id);
create index residents_residence on vg.residents (residence_code) where residence_code is not null;
create index residents_tags on vg.residents using gin (tags);

create table vg.accounts (
    id bigserial primary key,
    phone text not null unique,
    password_hash text not null,
    display_name text not null,
    resident_village bigint,
    resident_id bigint,
    created_at timestamptz not null default now(),
    foreign key (resident_village, resident_id) references vg.residents (village_code, id)
);

create table vg.grants (
    id bigserial primary key,
    account_id bigint not null references vg.accounts (id),
    role text not null check (role in ('OFFICIAL', 'CADRE', 'ANALYST')),
    unit_code bigint not null references vg.org_units (code),
    granted_at timestamptz not null default now(),
    revoked_at timestamptz
);
create index grants_account on vg.grants (account_id) where revoked_at is null;
create index grants_unit on vg.grants (unit_code) where revoked_at is null;

create sequence vg.notices_id_seq;
create table vg.notices (
    publisher_code bigint not null references vg.org_units (code),
    id bigint not null default nextval('vg.notices_id_seq'),
    board text not null check (board in ('ORGANIZATION', 'PARTY_AFFAIRS', 'FINANCE', 'AFFAIRS',
        'NOTICE', 'RULES', 'HONORS', 'POLICY', 'SCIENCE', 'REVITALIZATION')),
    title text not null,
    body text not null,
    audience text not null check (audience in ('PUBLIC', 'MEMBERS')),
    target_tags text[] not null default '{}',
    published_at timestamptz not null default now(),
    published_by bigint references vg.accounts (id),
    primary key (publisher_code, id)
);
alter sequence vg.notices_id_seq owned by vg.notices.id;
create unique index notices_id on vg.notices (id);
-- The feed walks this index once per visible publisher (a resident has 4-8 of them).
create index notices_publisher_time on vg.notices (publisher_code, published_at desc, id desc);
create index notices_time on vg.notices (published_at desc, id desc);

create table vg.notice_reads (
    resident_village bigint not null,
    resident_id bigint not null,
    notice_publisher bigint not null,
    notice_id bigint not null,
    read_at timestamptz not null default now(),
    primary key (resident_village, resident_id, notice_id),
    foreign key (resident_village, resident_id) references vg.residents (village_code, id),
    foreign key (notice_publisher, notice_id) references vg.notices (publisher_code, id)
);
create index notice_reads_notice on vg.notice_reads (notice_id);
create index notice_reads_village_time on vg.notice_reads (resident_village, read_at);

-- 电子留痕: append-only. The request role cannot touch the table; it appends through
-- vg.record_audit, which takes the actor from the request context, never from the caller.
create table vg.audit_log (
    id bigserial primary key,
    at timestamptz not null default clock_timestamp(),
    account_id bigint,
    action text not null,
    tenant_code bigint,
    entity text,
    entity_id text,
    detail jsonb not null default '{}'
);
create index audit_log_tenant on vg.audit_log (tenant_code, at);
create index audit_log_account on vg.audit_log (account_id, at);

-- Notifications are written here in the same transaction as the change that causes them;
-- the worker delivers them (WeChat template message, SMS, webhook, log) at least once,
-- deduplicated by idempotency_key.
create table vg.outbox (
    id bigserial primary key,
    tenant_code bigint not null,
    kind text not null,                 -- e.g. task.reminder, suggestion.answered
    recipient_account bigint references vg.accounts (id),
    payload jsonb not null default '{}',
    idempotency_key text not null unique,
    status text not null default 'PENDING' check (status in ('PENDING', 'SENT', 'DEAD')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error text,
    created_at timestamptz not null default now(),
    sent_at timestamptz
);
create index outbox_due on vg.outbox (next_attempt_at) where status = 'PENDING';
create index outbox_tenant on vg.outbox (tenant_code, created_at);

-- The request context. Each request sets these with set_config(..., true) inside its
-- transaction (vg.begin_request); policies read them through these STABLE functions,
-- wrapped in scalar subselects so they are evaluated once per statement. Unset means
-- empty: no context, no rows.
create function vg.setting(key text) returns text
language sql stable parallel safe as $$ select nullif(current_setting(key, true), '') $$;

create function vg.account_id() returns bigint
language sql stable parallel safe as $$ select vg.setting('vg.account_id')::bigint $$;

create function vg.resident_id() returns bigint
language sql stable parallel safe as $$ select vg.setting('vg.resident_id')::bigint $$;

create function vg.household_village() returns bigint
language sql stable parallel safe as $$ select vg.setting('vg.household_village')::bigint $$;

create function vg.is_anonymous() returns boolean
language sql stable parallel safe as $$
    select coalesce(vg.setting('vg.anonymous') = 'on', false)
$$;

-- Units whose subtree the caller may read in full (officials, cadres, analysts).
create function vg.read_scope() returns int8multirange
language sql stable parallel safe as $$
    select coalesce(vg.setting('vg.read_scope')::int8multirange, '{}'::int8multirange)
$$;

-- Units whose subtree the caller may write (officials and cadres, never analysts).
create function vg.write_scope() returns int8multirange
language sql stable parallel safe as $$
    select coalesce(vg.setting('vg.write_scope')::int8multirange, '{}'::int8multirange)
$$;

-- Publishers whose PUBLIC / MEMBERS notices reach the caller (ancestor-or-self units).
create function vg.public_publishers() returns bigint[]
language sql stable parallel safe as $$
    select coalesce(vg.setting('vg.public_publishers')::bigint[], '{}'::bigint[])
$$;

create function vg.member_publishers() returns bigint[]
language sql stable parallel safe as $$
    select coalesce(vg.setting('vg.member_publishers')::bigint[], '{}'::bigint[])
$$;

-- Villages where the caller is a member (household-registered, or admitted resident).
create function vg.member_villages() returns bigint[]
language sql stable parallel safe as $$
    select coalesce(vg.setting('vg.member_villages')::bigint[], '{}'::bigint[])
$$;

create function vg.tags() returns text[]
language sql stable parallel safe as $$
    select coalesce(vg.setting('vg.tags')::text[], '{}'::text[])
$$;

-- Staff read targeted notices regardless of their own tags.
create function vg.sees_all_tags() returns boolean
language sql stable parallel safe as $$
    select coalesce(vg.setting('vg.all_tags') = 'on', false)
$$;

-- Everything known about an account that decides what it may see. Runs as the owner:
-- accounts, grants and residents are themselves guarded by RLS.
create function vg.principal_facts(p_account bigint) returns jsonb
language plpgsql stable security definer set search_path = vg, pg_catalog, public as $$
declare
    a vg.accounts;
    r vg.residents;
    villages bigint[] := '{}';
    members bigint[] := '{}';
    grant_list jsonb;
begin
    select * into a from vg.accounts where id = p_account;
    if not found then
        return null;
    end if;
    if a.resident_id is not null then
        select * into r from vg.residents where village_code = a.resident_village and id = a.resident_id;
        villages := array[r.village_code];
        members := array[r.village_code];
        if r.residence_code is not null and r.residence_code <> r.village_code then
            villages := villages || r.residence_code;
            if r.residence_member then
                members := members || r.residence_code;
            end if;
        end if;
    end if;
    select coalesce(jsonb_agg(jsonb_build_object(
               'role', g.role, 'unit', g.unit_code::text, 'level', u.level) order by g.id), '[]')
      into grant_list
      from vg.grants g join vg.org_units u on u.code = g.unit_code
     where g.account_id = p_account and g.revoked_at is null;
    return jsonb_build_object(
        'account_id', a.id::text, 'phone', a.phone, 'display_name', a.display_name,
        'resident_id', r.id::text, 'household_village', r.village_code::text,
        'residence_village', r.residence_code::text,
        'villages', to_jsonb(villages::text[]), 'member_villages', to_jsonb(members::text[]),
        'tags', to_jsonb(coalesce(r.tags, '{}')), 'grants', grant_list);
end
$$;

-- Set the request context for the rest of the transaction and return the facts.
-- NULL account = anonymous. An unknown account sets nothing (fail closed) and returns NULL.
create function vg.begin_request(p_account bigint) returns jsonb
language plpgsql volatile as $$
declare
    facts jsonb;
    staff_units bigint[];
    writer_units bigint[];
    villages bigint[];
    members bigint[];
    inherited bigint[];
begin
    if p_account is null then
        perform set_config('vg.anonymous', 'on', true);
        return null;
    end if;
    facts := vg.principal_facts(p_account);
    if facts is null then
        return null;
    end if;
    select coalesce(array_agg((g ->> 'unit')::bigint), '{}'),
           coalesce(array_agg((g ->> 'unit')::bigint) filter (where g ->> 'role' <> 'ANALYST'), '{}')
      into staff_units, writer_units
      from jsonb_array_elements(facts -> 'grants') g;
    select coalesce(array_agg(v::bigint), '{}') into villages
      from jsonb_array_elements_text(facts -> 'villages') v;
    select coalesce(array_agg(v::bigint), '{}') into members
      from jsonb_array_elements_text(facts -> 'member_villages') v;
    -- Staff receive what their ancestors push down.
    select coalesce(array_agg(distinct a), '{}') into inherited
      from unnest(staff_units) s, unnest(vg.ancestors_or_self(s)) a where a <> s;

    perform set_config('vg.anonymous', '', true);
    perform set_config('vg.account_id', p_account::text, true);
    perform set_config('vg.resident_id', coalesce(facts ->> 'resident_id', ''), true);
    perform set_config('vg.household_village', coalesce(facts ->> 'household_village', ''), true);
    perform set_config('vg.read_scope', coalesce(
        (select range_agg(vg.subtree(u))::text from unnest(staff_units) u), ''), true);
    perform set_config('vg.write_scope', coalesce(
        (select range_agg(vg.subtree(u))::text from unnest(writer_units) u), ''), true);
    -- Residents receive from their villages' ancestors-or-self; staff from their units'
    -- ancestors (their own subtree is covered by read_scope).
    perform set_config('vg.public_publishers', (select coalesce(array_agg(distinct a), '{}')::text
        from (select unnest(vg.ancestors_or_self(v)) from unnest(villages) v
              union select unnest(inherited)) as p (a)), true);
    perform set_config('vg.member_publishers', (select coalesce(array_agg(distinct a), '{}')::text
        from (select unnest(vg.ancestors_or_self(v)) from unnest(members) v
              union select unnest(inherited)) as p (a)), true);
    perform set_config('vg.member_villages', members::text, true);
    perform set_config('vg.tags', (select coalesce(array_agg(t), '{}')::text
        from jsonb_array_elements_text(facts -> 'tags') t), true);
    perform set_config('vg.all_tags', case when cardinality(staff_units) > 0 then 'on' else '' end, true);
    return facts;
end
$$;

-- Login needs the password hash before any context exists.
create function vg.login_lookup(p_phone text) returns table (account_id bigint, password_hash text)
language sql stable security definer set search_path = vg, pg_catalog as $$
    select id, password_hash from vg.accounts where phone = p_phone
$$;

create function vg.record_audit(
    p_action text, p_tenant bigint, p_entity text, p_entity_id text, p_detail jsonb
) returns bigint
language sql volatile security definer set search_path = vg, pg_catalog as $$
    insert into vg.audit_log (account_id, action, tenant_code, entity, entity_id, detail)
    values (vg.account_id(), p_action, p_tenant, p_entity, p_entity_id, coalesce(p_detail, '{}'))
    returning id
$$;

-- Tenant tables: row-level security on and forced (the owner bypasses it only through
-- BYPASSRLS), and the request role's table privileges. Policies follow below.
alter table vg.residents enable row level security;
alter table vg.residents force row level security;
grant select on vg.residents to vg_request;
alter table vg.accounts enable row level security;
alter table vg.accounts force row level security;
grant select on vg.accounts to vg_request;
alter table vg.grants enable row level security;
alter table vg.grants force row level security;
grant select on vg.grants to vg_request;
alter table vg.audit_log enable row level security;
alter table vg.audit_log force row level security;
grant select on vg.audit_log to vg_request;
alter table vg.notices enable row level security;
alter table vg.notices force row level security;
grant select, insert on vg.notices to vg_request;
alter table vg.notice_reads enable row level security;
alter table vg.notice_reads force row level security;
grant select, insert on vg.notice_reads to vg_request;
alter table vg.outbox enable row level security;
alter table vg.outbox force row level security;
grant select, insert on vg.outbox to vg_request;

grant usage on schema vg to vg_request;
grant select on vg.org_units to vg_request;
grant usage on all sequences in schema vg to vg_request;
revoke execute on function vg.principal_facts(bigint) from public;
grant execute on function vg.principal_facts(bigint) to vg_request;

-- Residents: a village's staff and officials above it; a resident sees itself.
create policy residents_read on vg.residents for select using (
    village_code <@ (select vg.read_scope())
    or residence_code <@ (select vg.read_scope())
    or id = (select vg.resident_id())
);

create policy accounts_read on vg.accounts for select using (id = (select vg.account_id()));

create policy grants_read on vg.grants for select using (
    account_id = (select vg.account_id()) or unit_code <@ (select vg.read_scope())
);

-- Notices: staff read their subtree; a notice published at tier T reaches every resident
-- below T (ancestor-or-self publishers of the resident's villages); MEMBERS notices only
-- members; target tags narrow the audience; anonymous callers read untargeted PUBLIC ones.
create policy notices_read on vg.notices for select using (
    publisher_code <@ (select vg.read_scope())
    or (
        (   (audience = 'PUBLIC' and publisher_code = any ((select vg.public_publishers())::bigint[]))
         or (audience = 'MEMBERS' and publisher_code = any ((select vg.member_publishers())::bigint[]))
        )
        and (cardinality(target_tags) = 0
             or target_tags && (select vg.tags())
             or (select vg.sees_all_tags()))
    )
    or (audience = 'PUBLIC' and cardinality(target_tags) = 0 and (select vg.is_anonymous()))
);
create policy notices_publish on vg.notices for insert with check (
    publisher_code <@ (select vg.write_scope())
    and published_by = (select vg.account_id())
);

-- Read receipts: a resident records its own, for notices it can see; staff count reach.
create policy notice_reads_read on vg.notice_reads for select using (
    resident_village <@ (select vg.read_scope())
    or (resident_village = (select vg.household_village())
        and resident_id = (select vg.resident_id()))
);
create policy notice_reads_record on vg.notice_reads for insert with check (
    resident_village = (select vg.household_village())
    and resident_id = (select vg.resident_id())
    and exists (select 1 from vg.notices n
                 where n.publisher_code = notice_publisher and n.id = notice_id)
);

-- A mutation may notify about its own tenant: staff inside their write scope, residents
-- about their member villages. Staff read their subtree's notifications.
create policy outbox_read on vg.outbox for select using (
    tenant_code <@ (select vg.read_scope())
    or recipient_account = (select vg.account_id())
);
create policy outbox_enqueue on vg.outbox for insert with check (
    tenant_code <@ (select vg.write_scope())
    or tenant_code = any ((select vg.member_villages())::bigint[])
);

create policy audit_read on vg.audit_log for select using (
    tenant_code <@ (select vg.read_scope()) or account_id = (select vg.account_id())
);
