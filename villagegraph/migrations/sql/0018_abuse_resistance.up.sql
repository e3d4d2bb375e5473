-- 0018_abuse_resistance upgrade: sent as is, in one transaction, by
-- versions/0018_abuse_resistance.py. Conventions: docs/CONVENTIONS.md; the protocol:
-- docs/ARCHITECTURE.md, "Sessions and logins".
set local search_path = vg, public;

-- ------------------------------------------------------------------ disabled accounts
-- Disabling an account ends every session it has, at once (begin_request refuses revoked
-- sessions); a disabled account cannot log in or open a session.
alter table vg.accounts add column disabled_at timestamptz;
grant select (disabled_at) on vg.accounts to vg_request, vg_worker;

create function vg.end_sessions_of_disabled_account() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    if new.disabled_at is not null and old.disabled_at is null then
        update vg.sessions set revoked_at = now() where account_id = new.id and revoked_at is null;
    end if;
    return new;
end
$$;
create trigger accounts_end_sessions after update of disabled_at on vg.accounts
    for each row execute function vg.end_sessions_of_disabled_account();

create or replace function vg.login_lookup(p_phone text)
returns table (account_id bigint, password_hash text)
language plpgsql stable security definer set search_path = pg_catalog, vg, pg_temp as $$
begin
    perform vg.require_login_path();
    return query select a.id, a.password_hash from vg.accounts a
                  where a.phone = p_phone and a.disabled_at is null;
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
    if not exists (select from vg.accounts a where a.id = p_account and a.disabled_at is null) then
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

-- ------------------------------------------------------------------ failed logins
-- Per phone (known or not, so a lock says nothing about whether an account exists): how
-- many wrong passwords in a row, and until when the next attempt is refused unchecked.
create table vg.login_failures (
    phone text primary key,
    failures integer not null,
    last_failed_at timestamptz not null,
    locked_until timestamptz not null
);
alter table vg.login_failures enable row level security;
alter table vg.login_failures force row level security;
-- Nobody reads or writes it but the login path's definer functions below: the request
-- role's SELECT (every tenant table has one) matches no row.
create policy login_failures_read on vg.login_failures for select using (false);
grant select on vg.login_failures to vg_request;

-- Seconds the phone must still wait before a password is even checked; 0: go ahead.
create function vg.login_wait(p_phone text) returns integer
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
declare
    until timestamptz;
begin
    perform vg.require_login_path();
    select f.locked_until into until from vg.login_failures f where f.phone = left(p_phone, 64);
    return greatest(0, ceil(extract(epoch from coalesce(until, now()) - now())))::integer;
end
$$;

-- A wrong password: counts it (a quiet hour starts the count again), sets the wait before
-- the next attempt (none for two, then 1 s doubling to 60 s, from the tenth a 15-minute
-- lock) and audits it, without the password. Returns the wait in seconds.
create function vg.login_failed(p_phone text, p_address text) returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
declare
    key text := left(p_phone, 64);
    n integer;
    wait integer;
    target bigint;
begin
    perform vg.require_login_path();
    insert into vg.login_failures as f (phone, failures, last_failed_at, locked_until)
         values (key, 1, now(), now())
    on conflict (phone) do update
        set failures = case when f.last_failed_at < now() - interval '1 hour' then 1
                            else f.failures + 1 end,
            last_failed_at = now()
    returning f.failures into n;
    wait := case when n < 3 then 0 when n < 10 then least(60, 1 << (n - 3)) else 900 end;
    update vg.login_failures set locked_until = now() + make_interval(secs => wait)
     where phone = key;
    select a.id into target from vg.accounts a where a.phone = p_phone;
    insert into vg.audit_log (account_id, action, tenant_code, entity, entity_id, detail)
    values (null, 'login.failed', null, 'account', target::text,
            jsonb_build_object('phone', key, 'address', left(p_address, 64), 'failures', n,
                               'waitSeconds', wait));
    return wait;
end
$$;

-- The right password: the count starts again.
create function vg.login_succeeded(p_phone text) returns void
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
begin
    perform vg.require_login_path();
    delete from vg.login_failures where phone = left(p_phone, 64);
end
$$;

-- ------------------------------------------------------------------ refresh tokens
-- Beside each session's access secret, a refresh secret (only its sha256 stored). A
-- refresh ends the session it came from and opens its child in the same family.
alter table vg.sessions add column refresh_hash bytea;

create function vg.open_refreshable_session(
    p_account bigint, p_ttl interval, p_parent bigint default null,
    out session text, out refresh text
)
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
declare
    secret text := encode(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), 'hex');
begin
    perform vg.require_login_path();
    session := vg.open_session(p_account, p_ttl, p_parent);
    if session is null then
        return;
    end if;
    update vg.sessions set refresh_hash = sha256(convert_to(secret, 'UTF8'))
     where id = split_part(session, '.', 1)::bigint;
    refresh := split_part(session, '.', 1) || '.' || secret;
end
$$;

-- Rotation. A refresh token whose session already ended (rotated, logged out, expired) is
-- a replay: every session of its family ends (OAuth 2.1), and it is audited.
create function vg.refresh_session(
    p_refresh text, p_ttl interval, out account_id bigint, out session text, out refresh text
)
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
declare
    s record;
begin
    perform vg.require_login_path();
    if p_refresh is null or p_refresh !~ '^[0-9]{1,18}\.[0-9a-f]{64}$' then
        return;
    end if;
    select x.id, x.account_id, coalesce(x.family_id, x.id) as family, x.revoked_at, x.expires_at
      into s from vg.sessions x
     where x.id = split_part(p_refresh, '.', 1)::bigint
       and x.refresh_hash = sha256(convert_to(split_part(p_refresh, '.', 2), 'UTF8'))
       for update;
    if not found then
        return;
    end if;
    if s.revoked_at is not null or s.expires_at <= now() then
        update vg.sessions x set revoked_at = now()
         where coalesce(x.family_id, x.id) = s.family and x.revoked_at is null;
        if found then
            insert into vg.audit_log (account_id, action, tenant_code, entity, entity_id, detail)
            values (null, 'session.refresh_reused', null, 'account', s.account_id::text,
                    jsonb_build_object('family', s.family));
        end if;
        return;
    end if;
    update vg.sessions x set revoked_at = now() where x.id = s.id;
    select o.session, o.refresh into session, refresh
      from vg.open_refreshable_session(s.account_id, p_ttl, s.id) o;
    if session is not null then
        account_id := s.account_id;
    end if;
end
$$;

-- ------------------------------------------------------------------ logout, password
-- Logout: the verified context's session and its whole family (older rotations included).
create or replace function vg.end_session() returns boolean
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
declare
    sid bigint := (vg.require_context()).session_id;
    family bigint;
begin
    select coalesce(s.family_id, s.id) into family from vg.sessions s where s.id = sid;
    update vg.sessions s set revoked_at = now()
     where coalesce(s.family_id, s.id) = family and s.revoked_at is null;
    return found;
end
$$;

-- A new password hash for the verified context's own account (the service checked the old
-- password through the login path first); every session but the caller's family ends.
-- Returns how many sessions ended.
create function vg.change_password(p_hash text) returns integer
language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $$
declare
    c vg.context := vg.require_context();
    family bigint;
    ended integer;
begin
    if c.account_id is null then
        raise exception 'change_password: no account in the context' using errcode = '42501';
    end if;
    if p_hash is null or p_hash !~ '^\$argon2id\$' then
        raise exception 'change_password: not an argon2id hash' using errcode = '22023';
    end if;
    select coalesce(s.family_id, s.id) into family from vg.sessions s where s.id = c.session_id;
    update vg.accounts set password_hash = p_hash where id = c.account_id;
    update vg.sessions s set revoked_at = now()
     where s.account_id = c.account_id and s.revoked_at is null
       and coalesce(s.family_id, s.id) is distinct from family;
    get diagnostics ended = row_count;
    return ended;
end
$$;

-- ------------------------------------------------------------------ privileges
revoke execute on function vg.end_sessions_of_disabled_account(), vg.login_wait(text),
    vg.login_failed(text, text), vg.login_succeeded(text),
    vg.open_refreshable_session(bigint, interval, bigint), vg.refresh_session(text, interval),
    vg.change_password(text) from public;
grant execute on function vg.login_wait(text), vg.login_failed(text, text),
    vg.login_succeeded(text), vg.open_refreshable_session(bigint, interval, bigint),
    vg.refresh_session(text, interval) to vg_login;
grant execute on function vg.change_password(text) to vg_request;
