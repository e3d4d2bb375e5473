-- 0018_abuse_resistance downgrade: sent as is, in one transaction.
set local search_path = vg, public;

drop function vg.change_password(text);
drop function vg.refresh_session(text, interval);
drop function vg.open_refreshable_session(bigint, interval, bigint);
drop function vg.login_succeeded(text);
drop function vg.login_failed(text, text);
drop function vg.login_wait(text);
drop table vg.login_failures;

-- The 0013 versions of the functions this revision replaced.
create or replace function vg.end_session() returns boolean
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
declare
    sid bigint := (vg.require_context()).session_id;
begin
    update vg.sessions set revoked_at = now() where id = sid and revoked_at is null;
    return found;
end
$$;
create or replace function vg.login_lookup(p_phone text)
returns table (account_id bigint, password_hash text)
language plpgsql stable security definer set search_path = pg_catalog, vg, pg_temp as $$
begin
    perform vg.require_login_path();
    return query select a.id, a.password_hash from vg.accounts a where a.phone = p_phone;
end
$$;
create or replace function vg.open_session(
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

drop trigger accounts_end_sessions on vg.accounts;
drop function vg.end_sessions_of_disabled_account();
alter table vg.sessions drop column refresh_hash;
alter table vg.accounts drop column disabled_at;
