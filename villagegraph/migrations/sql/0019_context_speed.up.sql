-- 0019_context_speed upgrade: sent as is, in one transaction, by
-- versions/0019_context_speed.py. The protocol: docs/ARCHITECTURE.md, "Request context".
set local search_path = vg, public;

-- The context of an account, without its binding, and the facts the Principal is built
-- from: one statement over accounts, residents and grants (0013 went through
-- principal_facts' jsonb and unpacked it again, ~4x the time). Owner only.
create or replace function vg.context_of(p_account bigint, p_session bigint, out c vg.context, out facts jsonb)
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    with a as (
        select a.id, a.phone, a.display_name, a.resident_id, a.resident_village
          from vg.accounts a where a.id = p_account
    ), r as (
        select r.id, r.village_code, r.residence_code, r.residence_member, r.tags
          from a join vg.residents r on r.village_code = a.resident_village and r.id = a.resident_id
    ), g as (
        select g.id, g.role, g.unit_code, u.level
          from vg.grants g join vg.org_units u on u.code = g.unit_code
         where g.account_id = p_account and g.revoked_at is null
    ), v as (  -- the villages a resident belongs to; member: may read members-only content
        select r.village_code as village, true as member from r
        union
        select r.residence_code, r.residence_member from r
         where r.residence_code is not null and r.residence_code <> r.village_code
    ), inherited as (  -- staff receive what their units' ancestors push down
        select distinct x.a from g, unnest(vg.ancestors_or_self(g.unit_code)) x (a)
         where x.a <> g.unit_code
    )
    select row(null, null, p_session, a.id, r.id, r.village_code, false,
               coalesce((select range_agg(vg.subtree(g.unit_code)) from g), '{}'),
               coalesce((select range_agg(vg.subtree(g.unit_code)) from g where g.role <> 'ANALYST'), '{}'),
               (select coalesce(array_agg(distinct p.a order by p.a), '{}')
                  from (select x.a from v, unnest(vg.ancestors_or_self(v.village)) x (a)
                        union select a from inherited) p (a)),
               (select coalesce(array_agg(distinct p.a order by p.a), '{}')
                  from (select x.a from v, unnest(vg.ancestors_or_self(v.village)) x (a) where v.member
                        union select a from inherited) p (a)),
               (select coalesce(array_agg(v.village order by v.village <> r.village_code, v.village), '{}')
                  from v where v.member),
               coalesce(r.tags, '{}'),
               exists (select from g))::vg.context,
           jsonb_build_object(
               'account_id', a.id::text, 'phone', a.phone, 'display_name', a.display_name,
               'resident_id', r.id::text, 'household_village', r.village_code::text,
               'residence_village', r.residence_code::text,
               'villages', (select coalesce(jsonb_agg(v.village::text order by v.village <> r.village_code, v.village), '[]') from v),
               'member_villages', (select coalesce(jsonb_agg(v.village::text order by v.village <> r.village_code, v.village), '[]') from v where v.member),
               'tags', to_jsonb(coalesce(r.tags, '{}')),
               'grants', (select coalesce(jsonb_agg(jsonb_build_object(
                              'role', g.role, 'unit', g.unit_code::text, 'level', g.level) order by g.id), '[]')
                            from g))
      from a left join r on true
$$;
revoke execute on function vg.context_of(bigint, bigint) from public;

-- The verified context of this backend's current transaction, written only by
-- begin_request (running as vg_owner): a temporary table of vg_owner's, which no other
-- role may read or write (no grant; only the owner may create temporary objects, so
-- nobody can put another pg_temp.vg_context_now in its place). One row, updated in place
-- (HOT, so it stays one page). vg.ctx() trusts it only together with the signed blob in
-- vg.context it was written with, and only in the transaction it is bound to.

-- Per request: verify the bearer session, derive the context, sign it with a fresh key
-- bound to THIS transaction, set it, and keep the verified copy for vg.ctx(). Returns the
-- facts the Principal is built from. NULL token = anonymous (also signed). An unknown,
-- expired or revoked token leaves no context and returns NULL.
create or replace function vg.begin_request(p_token text) returns jsonb
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
<<fn>>
declare
    derived record;
    facts jsonb;
    c vg.context;
    key bytea;
    body text;
    blob text;
begin
    perform set_config('vg.context', '', true);
    if p_token is null then
        c := row(null, null, null, null, null, null, true, '{}', '{}', '{}', '{}', '{}', '{}', false);
    else
        if p_token !~ '^[0-9]{1,18}\.[0-9a-f]{64}$' then
            return null;
        end if;
        select d.c, d.facts into derived
          from vg.sessions s, vg.context_of(s.account_id, s.id) d
         where s.id = split_part(p_token, '.', 1)::bigint
           and s.secret_hash = sha256(convert_to(split_part(p_token, '.', 2), 'UTF8'))
           and s.revoked_at is null and s.expires_at > now();
        c := derived.c;
        facts := derived.facts;
        if facts is null then
            return null;
        end if;
    end if;
    c.bind_pid := pg_backend_pid();
    c.bind_ts := (extract(epoch from now()) * 1000000)::bigint;
    if to_regclass('pg_temp.vg_context_k1') is null then
        create temporary sequence vg_context_k1 minvalue 0 maxvalue 1152921504606846975;
        create temporary sequence vg_context_k2 minvalue 0 maxvalue 1152921504606846975;
    end if;
    key := int8send(setval('pg_temp.vg_context_k1', ('x' || left(md5(gen_random_uuid()::text), 15))::bit(60)::bigint))
        || int8send(setval('pg_temp.vg_context_k2', ('x' || left(md5(gen_random_uuid()::text), 15))::bit(60)::bigint));
    body := c::text;
    blob := body || '.' || vg.context_mac(key, body);
    perform set_config('vg.context', blob, true);
    if to_regclass('pg_temp.vg_context_now') is null then
        create temporary table vg_context_now (blob text not null, c vg.context not null);
        revoke all on table pg_temp.vg_context_now from public;
        insert into pg_temp.vg_context_now values (blob, c);
    else
        update pg_temp.vg_context_now set blob = fn.blob, c = fn.c;
    end if;
    return facts;
end
$$;

-- The ONLY reader of vg.context. NULL (every policy false) unless vg.context is exactly the
-- blob begin_request set in THIS transaction: compared with the owner-only copy, whose
-- binding must be this backend and this transaction's start. A tampered, widened or
-- replayed blob, or a copy left by an earlier transaction, gives NULL. No MAC is
-- recomputed and no text parsed per call: one row read.
create or replace function vg.ctx() returns vg.context
language plpgsql stable parallel restricted security definer
set search_path = pg_catalog, pg_temp as $$
begin
    if to_regclass('pg_temp.vg_context_now') is null then
        return null;
    end if;
    return (select n.c from pg_temp.vg_context_now n
             where n.blob = current_setting('vg.context', true)
               and (n.c).bind_ts = (extract(epoch from now()) * 1000000)::bigint
               and (n.c).bind_pid = pg_backend_pid());
end
$$;
