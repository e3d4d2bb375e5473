-- 0015_delivery downgrade: sent as is, in one transaction, by versions/0015_delivery.py.
-- Deliveries already fanned out stay in the outbox as ordinary rows; the principal's facts
-- lose the family proxies (restored to 0001_core's body).

set local role vg_owner;
set local search_path = vg, public;

create or replace function vg.principal_facts(p_account bigint) returns jsonb
language plpgsql stable security definer set search_path = pg_catalog, vg, public, pg_temp as $$
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
revoke execute on function vg.principal_facts(bigint) from public;

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

reset role;
