-- 0019_context_speed downgrade: back to 0013's context functions (verification by MAC
-- on every call, derivation through principal_facts); drops nothing else.
set local search_path = vg, public;

create or replace function vg.context_of(p_account bigint, p_session bigint, out c vg.context, out facts jsonb)
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

create or replace function vg.begin_request(p_token text) returns jsonb
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

create or replace function vg.ctx() returns vg.context
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
