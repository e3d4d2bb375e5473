-- 0021_delivery downgrade: sent as is, in one transaction, by versions/0021_delivery.py.
-- Deliveries already fanned out stay in the outbox as ordinary rows; the request context
-- loses the family proxies (vg.context_of restored to 0019_context_speed's body).

set local search_path = vg, public;

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

drop function vg.record_receipt(text, text, text);
drop function vg.set_family_proxy(bigint, text, text, boolean);
drop table vg.family_proxies;
drop function vg.bind_by_cadre(text, bigint);
drop function vg.bind_by_identity(text, text);
drop table vg.identity_checks;
drop index vg.accounts_resident;
drop function vg.redeem_login_code(text, bytea, text);
drop function vg.issue_login_code(text, bytea, text, interval);
drop table vg.login_codes;
drop table vg.channel_usage;
drop policy channel_addresses_bind on vg.channel_addresses;
drop policy channel_addresses_rebind on vg.channel_addresses;
revoke insert, update on vg.channel_addresses from vg_request;
drop table vg.notification_preferences;
alter table vg.outbox
    drop column broadcast_id, drop column address, drop column channel_step,
    drop column provider_msgid, drop column receipt, drop column receipt_at;
drop table vg.broadcast_parts;
drop table vg.broadcasts;
drop function vg.notice_pushed(bigint, text, boolean, boolean);
drop table vg.push_rules;
drop function vg.tier(bigint);
alter table vg.notices drop column urgent;
