-- 0013_database_boundary upgrade: sent as is, in one transaction, by
-- versions/0013_database_boundary.py. Conventions: docs/CONVENTIONS.md; the protocol:
-- docs/ARCHITECTURE.md, "Request context".

-- ------------------------------------------------------------------ roles
-- `villagegraph migrate --create-roles` (villagegraph/roles.py) creates the LOGIN roles with
-- their passwords before this runs, as the admin; the migrations run as vg_owner.
do $$
begin
    if not exists (select from pg_roles where rolname = 'vg_login')
       or not exists (select from pg_roles where rolname = 'vg_worker') then
        raise exception 'roles vg_login and vg_worker do not exist'
            using hint = 'run `villagegraph migrate --create-roles` once with an admin URL';
    end if;
    -- No application role may become another one: none is a member of anything.
    if exists (select from pg_auth_members m join pg_roles r on r.oid = m.member
                where r.rolname in ('vg_request', 'vg_login', 'vg_worker')) then
        raise exception 'vg_request, vg_login and vg_worker must not be members of any role';
    end if;
    -- Temporary objects are the owner's only: the request context's per-session key lives
    -- in owner-owned temporary sequences, and no caller may shadow pg_temp names.
    execute format('revoke temporary on database %I from public', current_database());
    execute format('grant temporary on database %I to vg_owner', current_database());
    execute format('grant connect on database %I to vg_request, vg_login, vg_worker',
                   current_database());
end
$$;
revoke create on schema public from public;
grant usage on schema vg to vg_login, vg_worker;

set local search_path = vg, public;

-- Functions vg_owner creates from now on are executable by nobody until granted.
alter default privileges for role vg_owner revoke execute on functions from public;
alter default privileges for role vg_owner in schema vg revoke execute on functions from public;

-- ------------------------------------------------------------------ sessions
-- The credential the database verifies: "<id>.<secret>", of which only sha256(secret) is
-- stored. Opened by the login role (vg.open_session); refresh tokens and logout (issue 13)
-- build on family_id / parent_id / revoked_at.
create table vg.sessions (
    id bigint generated always as identity primary key,
    account_id bigint not null references vg.accounts (id),
    secret_hash bytea not null,
    family_id bigint,
    parent_id bigint references vg.sessions (id),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    revoked_at timestamptz
);
create index sessions_account on vg.sessions (account_id) where revoked_at is null;
alter table vg.sessions enable row level security;
alter table vg.sessions force row level security;
-- Only the definer functions below write it or read secret_hash; a caller reads its own
-- account's sessions (which devices are logged in), never another's.
create policy sessions_read on vg.sessions for select using (account_id = (select vg.account_id()));
grant select (id, account_id, family_id, parent_id, created_at, expires_at, revoked_at)
    on vg.sessions to vg_request;

-- ------------------------------------------------------------------ the context
-- One value: the transaction it is bound to (backend pid, transaction start in epoch
-- microseconds) and what the caller may see. Integers only in the binding, so the signed
-- text does not depend on DateStyle or TimeZone.
create type vg.context as (
    bind_pid integer, bind_ts bigint, session_id bigint, account_id bigint,
    resident_id bigint, household_village bigint, anonymous boolean,
    read_scope int8multirange, write_scope int8multirange,
    public_publishers bigint[], member_publishers bigint[], member_villages bigint[],
    tags text[], all_tags boolean
);

-- The MAC key of this session: 120 random bits in two temporary sequences that vg_owner
-- creates (no other role may create temporary objects) and that no other role may read
-- (currval, pg_sequence_last_value and pg_sequences need a privilege nobody is granted).
-- begin_request draws a new key for every request. NULL when this session has none.
create function vg.context_key() returns bytea
language plpgsql volatile parallel restricted security definer
set search_path = pg_catalog, pg_temp as $$
declare
    k1 regclass := to_regclass('pg_temp.vg_context_k1');
    k2 regclass := to_regclass('pg_temp.vg_context_k2');
begin
    if k1 is null or k2 is null then
        return null;
    end if;
    return int8send(currval(k1)) || int8send(currval(k2));
end
$$;

-- sha256(key || sha256(key || body)): keyed, and the outer hash over a fixed-length input
-- leaves nothing to extend.
create function vg.context_mac(p_key bytea, p_body text) returns text
language sql immutable parallel safe set search_path = pg_catalog, pg_temp as $$
    select encode(sha256(p_key || sha256(p_key || convert_to(p_body, 'UTF8'))), 'hex')
$$;

-- The ONLY reader of vg.context. NULL (every policy false) unless the blob carries the MAC
-- of this session's current key AND is bound to the current transaction.
create function vg.ctx() returns vg.context
language plpgsql stable parallel restricted security definer
set search_path = pg_catalog, pg_temp as $$
declare
    blob text := current_setting('vg.context', true);
    key bytea;
    body text;
    c vg.context;
begin
    if blob is null or length(blob) < 80 or substr(blob, length(blob) - 64, 1) <> '.' then
        return null;
    end if;
    key := vg.context_key();
    body := left(blob, -65);
    if key is null or right(blob, 64) <> vg.context_mac(key, body) then
        return null;
    end if;
    c := body::vg.context;
    if c.bind_pid is distinct from pg_backend_pid()
       or c.bind_ts is distinct from (extract(epoch from now()) * 1000000)::bigint then
        return null;
    end if;
    return c;
end
$$;

-- Raises unless the caller holds a verified context (an account's or anonymous).
create function vg.require_context() returns vg.context
language plpgsql stable parallel restricted security definer
set search_path = pg_catalog, pg_temp as $$
declare
    c vg.context := vg.ctx();
begin
    if c.bind_pid is null then
        raise exception 'no verified request context' using errcode = '42501';
    end if;
    return c;
end
$$;

-- The accessors policies use, always as `(select vg.x())`: one InitPlan per statement.
create or replace function vg.account_id() returns bigint
language sql stable parallel restricted as $$ select (vg.ctx()).account_id $$;
create function vg.session_id() returns bigint
language sql stable parallel restricted as $$ select (vg.ctx()).session_id $$;
create or replace function vg.resident_id() returns bigint
language sql stable parallel restricted as $$ select (vg.ctx()).resident_id $$;
create or replace function vg.household_village() returns bigint
language sql stable parallel restricted as $$ select (vg.ctx()).household_village $$;
create or replace function vg.is_anonymous() returns boolean
language sql stable parallel restricted as $$ select coalesce((vg.ctx()).anonymous, false) $$;
create or replace function vg.read_scope() returns int8multirange
language sql stable parallel restricted as $$
    select coalesce((vg.ctx()).read_scope, '{}'::int8multirange) $$;
create or replace function vg.write_scope() returns int8multirange
language sql stable parallel restricted as $$
    select coalesce((vg.ctx()).write_scope, '{}'::int8multirange) $$;
create or replace function vg.public_publishers() returns bigint[]
language sql stable parallel restricted as $$
    select coalesce((vg.ctx()).public_publishers, '{}'::bigint[]) $$;
create or replace function vg.member_publishers() returns bigint[]
language sql stable parallel restricted as $$
    select coalesce((vg.ctx()).member_publishers, '{}'::bigint[]) $$;
create or replace function vg.member_villages() returns bigint[]
language sql stable parallel restricted as $$
    select coalesce((vg.ctx()).member_villages, '{}'::bigint[]) $$;
create or replace function vg.tags() returns text[]
language sql stable parallel restricted as $$ select coalesce((vg.ctx()).tags, '{}'::text[]) $$;
create or replace function vg.sees_all_tags() returns boolean
language sql stable parallel restricted as $$ select coalesce((vg.ctx()).all_tags, false) $$;
create or replace function vg.has_context() returns boolean
language sql stable parallel restricted as $$
    select coalesce(c.anonymous or c.account_id is not null, false) from vg.ctx() c $$;

-- ------------------------------------------------------------------ begin_request
-- The old entry point took an account id from the caller: anyone could be anyone.
drop function vg.begin_request(bigint);

-- The context of an account, without its binding (principal_facts stays owner-only).
create function vg.context_of(p_account bigint, p_session bigint, out c vg.context, out facts jsonb)
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
declare
    staff_units bigint[];
    writer_units bigint[];
    villages bigint[];
    members bigint[];
    inherited bigint[];
begin
    facts := vg.principal_facts(p_account);
    if facts is null then
        return;
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
    c := row(null, null, p_session, p_account, (facts ->> 'resident_id')::bigint,
        (facts ->> 'household_village')::bigint, false,
        coalesce((select range_agg(vg.subtree(u)) from unnest(staff_units) u), '{}'),
        coalesce((select range_agg(vg.subtree(u)) from unnest(writer_units) u), '{}'),
        -- Residents receive from their villages' ancestors-or-self; staff from their
        -- units' ancestors (their own subtree is covered by read_scope).
        (select coalesce(array_agg(distinct a), '{}')
           from (select unnest(vg.ancestors_or_self(v)) from unnest(villages) v
                 union select unnest(inherited)) as p (a)),
        (select coalesce(array_agg(distinct a), '{}')
           from (select unnest(vg.ancestors_or_self(v)) from unnest(members) v
                 union select unnest(inherited)) as p (a)),
        members,
        (select coalesce(array_agg(t), '{}') from jsonb_array_elements_text(facts -> 'tags') t),
        cardinality(staff_units) > 0);
end
$$;

-- Per request: verify the bearer session, derive the context, sign it with a fresh key
-- bound to THIS transaction and set it for the rest of the transaction. Returns the facts
-- the Principal is built from. NULL token = anonymous (also signed). An unknown, expired or
-- revoked token leaves no context and returns NULL.
create function vg.begin_request(p_token text) returns jsonb
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
declare
    sid bigint;
    acct bigint;
    facts jsonb;
    derived record;
    c vg.context;
    k1 regclass := to_regclass('pg_temp.vg_context_k1');
    k2 regclass := to_regclass('pg_temp.vg_context_k2');
    key bytea;
    body text;
begin
    perform set_config('vg.context', '', true);
    if p_token is null then
        c := row(null, null, null, null, null, null, true, '{}', '{}', '{}', '{}', '{}', '{}', false);
    else
        if p_token !~ '^[0-9]{1,18}\.[0-9a-f]{64}$' then
            return null;
        end if;
        select s.id, s.account_id into sid, acct
          from vg.sessions s
         where s.id = split_part(p_token, '.', 1)::bigint
           and s.secret_hash = sha256(convert_to(split_part(p_token, '.', 2), 'UTF8'))
           and s.revoked_at is null and s.expires_at > now();
        if not found then
            return null;
        end if;
        select * into derived from vg.context_of(acct, sid);
        c := derived.c;
        facts := derived.facts;
        if facts is null then
            return null;
        end if;
    end if;
    c.bind_pid := pg_backend_pid();
    c.bind_ts := (extract(epoch from now()) * 1000000)::bigint;
    if k1 is null or k2 is null then
        create temporary sequence vg_context_k1 minvalue 0 maxvalue 1152921504606846975;
        create temporary sequence vg_context_k2 minvalue 0 maxvalue 1152921504606846975;
        k1 := to_regclass('pg_temp.vg_context_k1');
        k2 := to_regclass('pg_temp.vg_context_k2');
    end if;
    key := int8send(setval(k1, ('x' || left(md5(gen_random_uuid()::text), 15))::bit(60)::bigint))
        || int8send(setval(k2, ('x' || left(md5(gen_random_uuid()::text), 15))::bit(60)::bigint));
    body := c::text;
    perform set_config('vg.context', body || '.' || vg.context_mac(key, body), true);
    return facts;
end
$$;

-- ------------------------------------------------------------------ the login path
-- Runs before any context exists; only vg_login may execute it (and it checks so).
create or replace function vg.login_lookup(p_phone text)
returns table (account_id bigint, password_hash text)
language plpgsql stable security definer set search_path = pg_catalog, vg, pg_temp as $$
begin
    perform vg.require_login_path();
    return query select a.id, a.password_hash from vg.accounts a where a.phone = p_phone;
end
$$;

-- The login path's guard: the EXECUTE grant, and the connection's own login role.
create function vg.require_login_path() returns void
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
begin
    if session_user::text <> 'vg_login' and not pg_has_role(session_user, 'vg_owner', 'member') then
        raise exception 'the login path only' using errcode = '42501';
    end if;
end
$$;

-- A new session for an account whose password (or identity provider token) the login path
-- verified. Returns the bearer credential "<id>.<secret>"; the secret is never stored.
create function vg.open_session(
    p_account bigint, p_ttl interval default interval '7 days', p_parent bigint default null
) returns text
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
declare
    secret text := encode(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), 'hex');
    sid bigint;
    family bigint;
begin
    perform vg.require_login_path();
    if not exists (select from vg.accounts a where a.id = p_account) then
        return null;
    end if;
    if p_parent is not null then
        select coalesce(s.family_id, s.id) into family from vg.sessions s where s.id = p_parent;
    end if;
    insert into vg.sessions (account_id, secret_hash, family_id, parent_id, expires_at)
         values (p_account, sha256(convert_to(secret, 'UTF8')), family, p_parent,
                 now() + least(p_ttl, interval '30 days'))
      returning id into sid;
    return sid || '.' || secret;
end
$$;

-- Logout: revokes the session of the verified context, nothing else.
create function vg.end_session() returns boolean
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
declare
    sid bigint := (vg.require_context()).session_id;
begin
    update vg.sessions set revoked_at = now() where id = sid and revoked_at is null;
    return found;
end
$$;

-- ------------------------------------------------------------------ audit
-- The actor is the verified context's account, never an argument or a plain setting. The
-- worker (and the owner) record system rows with no actor; a request without a verified
-- context records nothing, and a request writes only into tenants it can read.
create or replace function vg.record_audit(
    p_action text, p_tenant bigint, p_entity text, p_entity_id text, p_detail jsonb
) returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, vg, pg_temp as $$
declare
    c vg.context := vg.ctx();
    system boolean := session_user::text = 'vg_worker' or pg_has_role(session_user, 'vg_owner', 'member');
    rid bigint;
begin
    if c.account_id is null and not system then
        raise exception 'record_audit: no verified request context' using errcode = '42501';
    end if;
    if c.account_id is not null and p_tenant is not null
       and not (p_tenant <@ c.read_scope or p_tenant = any (c.public_publishers)) then
        raise exception 'record_audit: tenant % is outside the caller''s scope', p_tenant
            using errcode = '42501';
    end if;
    insert into vg.audit_log (account_id, action, tenant_code, entity, entity_id, detail)
    values (c.account_id, p_action, p_tenant, p_entity, p_entity_id, coalesce(p_detail, '{}'))
    returning id into rid;
    return rid;
end
$$;

-- ------------------------------------------------------------------ definer hygiene
-- Every SECURITY DEFINER function resolves pg_catalog first and pg_temp last.
do $$
declare
    f record;
begin
    for f in select p.oid::regprocedure as sig, p.proconfig
               from pg_proc p where p.pronamespace = 'vg'::regnamespace and p.prosecdef
    loop
        if not coalesce(f.proconfig @> array['search_path=pg_catalog, pg_temp'], false) then
            execute format('alter function %s set search_path = pg_catalog, vg, public, pg_temp', f.sig);
        end if;
    end loop;
end
$$;

-- ------------------------------------------------------------------ privileges
-- Password hashes: no role but the owner reads the column; vg_login through login_lookup.
revoke select on vg.accounts from vg_request;
do $$
begin
    execute (select format('grant select (%s) on vg.accounts to vg_request',
                           string_agg(quote_ident(attname), ', ' order by attnum))
               from pg_attribute
              where attrelid = 'vg.accounts'::regclass and attnum > 0 and not attisdropped
                and attname <> 'password_hash');
end
$$;

-- EXECUTE: nobody by default. Invoker functions (they run with the caller's rights) that
-- PUBLIC could execute go to the request and worker roles; definer functions one by one,
-- each to the role that needs it.
do $$
declare
    f record;
begin
    for f in select p.oid::regprocedure as sig
               from pg_proc p where p.pronamespace = 'vg'::regnamespace and not p.prosecdef
                and p.prorettype <> 'trigger'::regtype
                and exists (select from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                             where a.grantee = 0 and a.privilege_type = 'EXECUTE')
    loop
        execute format('grant execute on function %s to vg_request, vg_worker', f.sig);
    end loop;
end
$$;
revoke execute on all functions in schema vg from public;
grant execute on function vg.session_id() to vg_request, vg_worker;
revoke execute on function vg.principal_facts(bigint) from vg_request;
grant execute on function
    vg.begin_request(text), vg.end_session(), vg.ctx(), vg.require_context(),
    vg.record_audit(text, bigint, text, text, jsonb),
    vg.consultation_tallies(bigint[]), vg.notify_task_done(bigint),
    vg.resident_contacts(bigint[]), vg.resident_ids_by_identity(text, text),
    vg.ledger_term_matches(bigint, bigint, text), vg.outbox_depth()
    to vg_request;
grant execute on function vg.ctx(), vg.require_context(),
    vg.record_audit(text, bigint, text, text, jsonb), vg.consultation_tallies(bigint[])
    to vg_worker;
grant execute on function vg.login_lookup(text), vg.open_session(bigint, interval, bigint)
    to vg_login;

-- The worker: a LOGIN role of its own, not the owner. It reads and writes across tenants by
-- design (reminders, escalation, delivery), through policies of its own; never the
-- sessions, never a password hash, never DELETE.
do $$
declare
    t record;
begin
    for t in select c.relname from pg_class c
              where c.relnamespace = 'vg'::regnamespace and c.relkind in ('r', 'p')
                and c.relname not in ('sessions', 'accounts')
    loop
        execute format('grant %s on vg.%I to vg_worker',
                       case when t.relname like 'audit%' then 'select' else 'select, insert, update' end,
                       t.relname);
        if (select c.relrowsecurity from pg_class c where c.oid = format('vg.%I', t.relname)::regclass) then
            execute format('create policy %I on vg.%I to vg_worker using (true) with check (true)',
                           t.relname || '_all_worker', t.relname);
        end if;
    end loop;
    execute (select format('grant select (%s) on vg.accounts to vg_worker',
                           string_agg(quote_ident(attname), ', ' order by attnum))
               from pg_attribute
              where attrelid = 'vg.accounts'::regclass and attnum > 0 and not attisdropped
                and attname <> 'password_hash');
end
$$;
create policy accounts_worker_read on vg.accounts for select to vg_worker using (true);
grant usage on all sequences in schema vg to vg_worker;
