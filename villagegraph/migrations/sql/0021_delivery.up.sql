-- 0021_delivery upgrade: sent as is, in one transaction, by versions/0021_delivery.py.
-- Conventions: docs/CONVENTIONS.md; the design: docs/ARCHITECTURE.md, "Delivery".

set local search_path = vg, public;

-- ------------------------------------------------------------------ push policy
alter table vg.notices add column urgent boolean not null default false;

-- The tier of a division code, read from its trailing zeros (as vg.subtree_end does).
create function vg.tier(code bigint) returns text
language sql immutable parallel safe as $$
    select case when code % 1000 <> 0 then 'VILLAGE'
                when code % 1000000 <> 0 then 'TOWN'
                when code % 100000000 <> 0 then 'COUNTY'
                else 'CITY' end
$$;

-- Per city, which notices are pushed to phones (the rest stay in the app), by board and by
-- the publisher's tier. A city without a row for (board, tier) gets the defaults of
-- vg.notice_pushed: urgent and tag-targeted notices always, village and town notices to
-- their residents, county and city general notices in the app only.
create table vg.push_rules (
    city_code bigint not null references vg.org_units (code),
    board text not null,
    tier text not null check (tier in ('CITY', 'COUNTY', 'TOWN', 'VILLAGE')),
    push boolean not null,
    updated_by bigint references vg.accounts (id),
    updated_at timestamptz not null default now(),
    primary key (city_code, board, tier),
    check (city_code % 100000000 = 0)
);
alter table vg.push_rules enable row level security;
alter table vg.push_rules force row level security;
grant select on vg.push_rules to vg_request;
grant insert (city_code, board, tier, push, updated_by) on vg.push_rules to vg_request;
grant update (push, updated_by) on vg.push_rules to vg_request;
create policy push_rules_read on vg.push_rules for select using (
    (select vg.read_scope()) && vg.subtree(city_code)
);
create policy push_rules_set on vg.push_rules for insert with check (
    city_code <@ (select vg.write_scope()) and updated_by = (select vg.account_id())
);
create policy push_rules_change on vg.push_rules for update
    using (city_code <@ (select vg.write_scope()))
    with check (city_code <@ (select vg.write_scope()) and updated_by = (select vg.account_id()));

-- Whether a notice goes to phones. Urgent and targeted notices always do; otherwise the
-- city's rule for the board and tier, else the default. Invoker: it reads the rules as
-- the caller may (staff inside the city; the worker).
create function vg.notice_pushed(p_publisher bigint, p_board text, p_urgent boolean, p_targeted boolean)
returns boolean
language sql stable parallel safe as $$
    select p_urgent or p_targeted or coalesce(
        (select r.push from vg.push_rules r
          where r.city_code = p_publisher - p_publisher % 100000000
            and r.board = p_board and r.tier = vg.tier(p_publisher)),
        vg.tier(p_publisher) in ('VILLAGE', 'TOWN'))
$$;

-- ------------------------------------------------------------------ broadcasts
-- A message for everyone in a subtree who can see it: a pushed notice, an emergency, a
-- consultation opened or resolved. The request (or a scan) writes ONE row; the worker
-- turns it into one outbox row per recipient, in batches (worker/fanout.py). Progress is
-- kept per part (a town's range of household villages), so concurrent workers take
-- different parts (FOR UPDATE SKIP LOCKED) and a crash loses at most an uncommitted batch.
create table vg.broadcasts (
    id bigint generated always as identity primary key,
    tenant_code bigint not null references vg.org_units (code),   -- the subtree's root
    kind text not null,
    notice_publisher bigint,
    notice_id bigint,
    audience text not null default 'PUBLIC' check (audience in ('PUBLIC', 'MEMBERS')),
    target_tags text[] not null default '{}',
    urgent boolean not null default false,
    payload jsonb not null default '{}',
    created_by bigint references vg.accounts (id),
    created_at timestamptz not null default now(),
    prepared_at timestamptz,        -- parts written, staff below the root queued
    finished_at timestamptz,        -- every part done
    recipients bigint not null default 0,
    foreign key (notice_publisher, notice_id) references vg.notices (publisher_code, id)
);
create unique index broadcasts_notice on vg.broadcasts (notice_id) where notice_id is not null;
create index broadcasts_unfinished on vg.broadcasts (id) where finished_at is null;
create index broadcasts_tenant on vg.broadcasts (tenant_code, created_at);

create table vg.broadcast_parts (
    broadcast_id bigint not null references vg.broadcasts (id),
    lo bigint not null,                 -- household villages lo..hi
    hi bigint not null,
    cursor_village bigint,              -- the last resident done, (village_code, id)
    cursor_resident bigint,
    households_done boolean not null default false,
    done_at timestamptz,                -- residents living here from elsewhere done too
    recipients bigint not null default 0,
    primary key (broadcast_id, lo)
);
create index broadcast_parts_open on vg.broadcast_parts (broadcast_id) where done_at is null;

alter table vg.broadcasts enable row level security;
alter table vg.broadcasts force row level security;
grant select on vg.broadcasts to vg_request;
grant insert (tenant_code, kind, notice_publisher, notice_id, audience, target_tags, urgent,
              payload, created_by) on vg.broadcasts to vg_request;
create policy broadcasts_read on vg.broadcasts for select using (
    tenant_code <@ (select vg.read_scope())
);
create policy broadcasts_announce on vg.broadcasts for insert with check (
    tenant_code <@ (select vg.write_scope()) and created_by = (select vg.account_id())
);
alter table vg.broadcast_parts enable row level security;
alter table vg.broadcast_parts force row level security;
grant select on vg.broadcast_parts to vg_request;
create policy broadcast_parts_read on vg.broadcast_parts for select using (
    exists (select from vg.broadcasts b where b.id = broadcast_id
             and b.tenant_code <@ (select vg.read_scope()))
);

-- The outbox learns broadcasts, addresses without an account (a login code to a new
-- phone), channel fallback and receipts.
alter table vg.outbox
    add column broadcast_id bigint references vg.broadcasts (id),
    add column address text,                 -- where to send when there is no account
    add column channel_step smallint not null default 0,   -- position in the channel chain
    add column provider_msgid text,          -- WeChat msgid, SMS BizId
    add column receipt text,                 -- DELIVERED | FAILED:<reason>, from a callback
    add column receipt_at timestamptz;
create index outbox_broadcast on vg.outbox (broadcast_id, status) where broadcast_id is not null;
create index outbox_msgid on vg.outbox (provider_msgid) where provider_msgid is not null;

-- Village-wide messages already waiting in the outbox (no recipient) become broadcasts to
-- the village's members; the old row is marked delivered by the fan-out.
with old as (
    update vg.outbox o set status = 'SENT', sent_at = now(), delivered_by = 'fan-out'
     where o.status = 'PENDING' and o.recipient_account is null
 returning o.tenant_code, o.kind, o.payload
)
insert into vg.broadcasts (tenant_code, kind, audience, payload)
select tenant_code, kind, 'MEMBERS', payload from old
 where exists (select from vg.org_units u where u.code = old.tenant_code);

-- ------------------------------------------------------------------ preferences
-- Residents choose their channels, in order, and quiet hours in China Standard Time
-- (urgent messages ignore them). No row: WeChat, then SMS, any time.
create table vg.notification_preferences (
    account_id bigint primary key references vg.accounts (id),
    channels text[] not null default '{wechat,sms}'
        check (channels <@ '{wechat,sms}'::text[]),
    quiet_start time,
    quiet_end time,
    updated_at timestamptz not null default now(),
    check ((quiet_start is null) = (quiet_end is null))
);
alter table vg.notification_preferences enable row level security;
alter table vg.notification_preferences force row level security;
grant select on vg.notification_preferences to vg_request;
grant insert (account_id, channels, quiet_start, quiet_end) on vg.notification_preferences to vg_request;
grant update (channels, quiet_start, quiet_end, updated_at) on vg.notification_preferences to vg_request;
create policy notification_preferences_read on vg.notification_preferences for select using (
    account_id = (select vg.account_id())
);
create policy notification_preferences_choose on vg.notification_preferences for insert with check (
    account_id = (select vg.account_id())
);
create policy notification_preferences_change on vg.notification_preferences for update
    using (account_id = (select vg.account_id()))
    with check (account_id = (select vg.account_id()));

-- An account records its own WeChat openid (bindWechat); the server exchanged the code.
grant insert (account_id, channel, address) on vg.channel_addresses to vg_request;
grant update (address) on vg.channel_addresses to vg_request;
create policy channel_addresses_bind on vg.channel_addresses for insert with check (
    account_id = (select vg.account_id()) and channel = 'wechat'
);
create policy channel_addresses_rebind on vg.channel_addresses for update
    using (account_id = (select vg.account_id()) and channel = 'wechat')
    with check (account_id = (select vg.account_id()) and channel = 'wechat');

-- Daily quotas per channel, shared by every worker: a send reserves one unit of the day
-- (China Standard Time) or waits for the next day.
create table vg.channel_usage (
    channel text not null,
    day date not null,
    sent integer not null default 0,
    primary key (channel, day)
);
alter table vg.channel_usage enable row level security;
alter table vg.channel_usage force row level security;
grant select on vg.channel_usage to vg_request;
create policy channel_usage_read on vg.channel_usage for select using (false);

-- ------------------------------------------------------------------ login codes
-- One-time codes for signing in by SMS: only a keyed hash is stored; single use, expiring,
-- at most 5 wrong guesses; issued at most once a minute and 5 times an hour per phone.
create table vg.login_codes (
    id bigint generated always as identity primary key,
    phone text not null,
    code_hash bytea not null,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    used_at timestamptz,
    wrong_guesses integer not null default 0
);
create index login_codes_phone on vg.login_codes (phone, created_at desc);
alter table vg.login_codes enable row level security;
alter table vg.login_codes force row level security;
-- The request role reads no row (and never the hash); the login path's functions do.
grant select (id, phone, created_at, expires_at, used_at, wrong_guesses) on vg.login_codes to vg_request;
create policy login_codes_read on vg.login_codes for select using (false);

-- 'ISSUED' (the code is queued to the phone by SMS), or 'RATE_LIMITED'.
create function vg.issue_login_code(p_phone text, p_code_hash bytea, p_code text, p_ttl interval)
returns text
language plpgsql volatile security definer set search_path = pg_catalog, vg, pg_temp as $$
declare
    cid bigint;
    acct bigint;
begin
    perform vg.require_login_path();
    perform pg_advisory_xact_lock(hashtextextended('login_code:' || p_phone, 0));
    if exists (select from vg.login_codes c where c.phone = p_phone
                and c.created_at > now() - interval '1 minute')
       or (select count(*) from vg.login_codes c where c.phone = p_phone
            and c.created_at > now() - interval '1 hour') >= 5 then
        return 'RATE_LIMITED';
    end if;
    insert into vg.login_codes (phone, code_hash, expires_at)
         values (p_phone, p_code_hash, now() + least(p_ttl, interval '15 minutes'))
      returning id into cid;
    select a.id into acct from vg.accounts a where a.phone = p_phone;
    -- The code travels in the payload until it is sent; the worker then erases it.
    insert into vg.outbox (tenant_code, kind, recipient_account, address, payload, idempotency_key)
    values (0, 'account.login_code', acct, p_phone,
            jsonb_build_object('code', p_code, 'expires_at', now() + least(p_ttl, interval '15 minutes')),
            'login_code:' || cid);
    return 'ISSUED';
end
$$;

-- The account of a phone whose latest code matches (created on first sign-in, bound to no
-- resident), or NULL: wrong, expired, used, or guessed wrong 5 times.
create function vg.redeem_login_code(p_phone text, p_code_hash bytea, p_display_name text)
returns table (account_id bigint, created boolean)
language plpgsql volatile security definer set search_path = pg_catalog, vg, pg_temp as $$
declare
    c vg.login_codes;
begin
    perform vg.require_login_path();
    select * into c from vg.login_codes lc
     where lc.phone = p_phone order by lc.created_at desc, lc.id desc limit 1 for update;
    if not found or c.used_at is not null or c.expires_at <= now() or c.wrong_guesses >= 5 then
        return;
    end if;
    if c.code_hash <> p_code_hash then
        update vg.login_codes set wrong_guesses = wrong_guesses + 1 where id = c.id;
        return;
    end if;
    update vg.login_codes set used_at = now() where id = c.id;
    return query select a.id, false from vg.accounts a where a.phone = p_phone;
    if found then
        return;
    end if;
    -- No password: this account signs in by code only ('!' is never an argon2 hash).
    return query insert into vg.accounts (phone, password_hash, display_name)
                 values (p_phone, '!', p_display_name) returning id, true;
end
$$;

-- ------------------------------------------------------------------ binding to the register
-- An account belongs to at most one resident, and a resident to at most one account.
create unique index accounts_resident on vg.accounts (resident_village, resident_id)
    where resident_id is not null;

-- Attempts to prove an identity, counted per account (at most 5 a day): the ID number is
-- not a secret, so guessing must stay slow.
create table vg.identity_checks (
    id bigint generated always as identity primary key,
    account_id bigint not null references vg.accounts (id),
    checked_at timestamptz not null default now(),
    matched boolean not null
);
create index identity_checks_account on vg.identity_checks (account_id, checked_at);
alter table vg.identity_checks enable row level security;
alter table vg.identity_checks force row level security;
grant select on vg.identity_checks to vg_request;
create policy identity_checks_read on vg.identity_checks for select using (
    account_id = (select vg.account_id())
);

-- The caller's account is bound to the resident whose name AND ID number match the
-- register (exactly one, not bound to another account). Returns the resident's
-- (village, id), or NULL; every attempt is counted; raises after 5 attempts in a day.
create function vg.bind_by_identity(p_name text, p_id_number text, out village bigint, out resident bigint)
language plpgsql volatile security definer set search_path = pg_catalog, vg, pg_temp as $$
declare
    c vg.context := vg.require_context();
    matches integer;
begin
    if c.account_id is null then
        raise exception 'sign in first' using errcode = '42501';
    end if;
    if exists (select from vg.accounts a where a.id = c.account_id and a.resident_id is not null) then
        raise exception 'this account is already bound to a resident' using errcode = '23505';
    end if;
    if (select count(*) from vg.identity_checks i where i.account_id = c.account_id
         and i.checked_at > now() - interval '1 day') >= 5 then
        raise exception 'too many identity checks today' using errcode = '54000';
    end if;
    select count(*), min(r.village_code), min(r.id) into matches, village, resident
      from vg.residents r
     where r.name = p_name and upper(r.id_number) = upper(p_id_number)
       and not exists (select from vg.accounts a where a.resident_village = r.village_code
                                                   and a.resident_id = r.id);
    if matches <> 1 then
        village := null;
        resident := null;
    else
        update vg.accounts set resident_village = village, resident_id = resident
         where id = c.account_id;
    end if;
    insert into vg.identity_checks (account_id, matched) values (c.account_id, matches = 1);
end
$$;

-- A village cadre (or an official above) confirms in person that the account with this
-- phone is the resident: the account must be unbound, the resident inside the caller's
-- write scope and unbound. Returns the account id, or NULL.
create function vg.bind_by_cadre(p_phone text, p_resident bigint) returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, vg, pg_temp as $$
declare
    c vg.context := vg.require_context();
    r vg.residents;
    acct bigint;
begin
    select * into r from vg.residents where id = p_resident;
    if not found or not (r.village_code <@ c.write_scope) then
        return null;
    end if;
    if exists (select from vg.accounts a where a.resident_village = r.village_code and a.resident_id = r.id) then
        return null;
    end if;
    update vg.accounts set resident_village = r.village_code, resident_id = r.id
     where phone = p_phone and resident_id is null
 returning id into acct;
    return acct;
end
$$;

-- ------------------------------------------------------------------ family proxies
-- 亲情账号: with the resident's recorded consent, a relative's account reads what the
-- resident reads and receives the resident's messages. Consent is recorded by the
-- resident's own account, or by the village's cadre who took it in person (a note says how).
create table vg.family_proxies (
    resident_village bigint not null,
    resident_id bigint not null,
    proxy_account bigint not null references vg.accounts (id),
    consent text not null,
    recorded_by bigint not null references vg.accounts (id),
    created_at timestamptz not null default now(),
    revoked_at timestamptz,
    primary key (resident_village, resident_id, proxy_account),
    foreign key (resident_village, resident_id) references vg.residents (village_code, id)
);
create index family_proxies_account on vg.family_proxies (proxy_account) where revoked_at is null;
alter table vg.family_proxies enable row level security;
alter table vg.family_proxies force row level security;
grant select on vg.family_proxies to vg_request;
create policy family_proxies_read on vg.family_proxies for select using (
    proxy_account = (select vg.account_id())
    or (resident_village = (select vg.household_village()) and resident_id = (select vg.resident_id()))
    or resident_village <@ (select vg.read_scope())
);

-- Record (or revoke, p_revoke) a proxy for a resident. The caller is the resident itself,
-- or staff whose write scope holds the resident's village. Returns the proxy's account id,
-- or NULL when there is no such account or the caller may not.
create function vg.set_family_proxy(p_resident bigint, p_phone text, p_consent text, p_revoke boolean)
returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, vg, pg_temp as $$
declare
    c vg.context := vg.require_context();
    r vg.residents;
    proxy bigint;
begin
    select * into r from vg.residents where id = p_resident;
    if not found or c.account_id is null
       or not (c.resident_id = r.id or r.village_code <@ c.write_scope) then
        return null;
    end if;
    select a.id into proxy from vg.accounts a where a.phone = p_phone;
    if proxy is null or proxy = c.account_id then
        return null;
    end if;
    if p_revoke then
        update vg.family_proxies set revoked_at = now()
         where resident_village = r.village_code and resident_id = r.id
           and proxy_account = proxy and revoked_at is null;
    else
        insert into vg.family_proxies (resident_village, resident_id, proxy_account, consent, recorded_by)
        values (r.village_code, r.id, proxy, p_consent, c.account_id)
        on conflict (resident_village, resident_id, proxy_account)
        do update set consent = excluded.consent, recorded_by = excluded.recorded_by,
                      created_at = now(), revoked_at = null;
    end if;
    return proxy;
end
$$;

-- The request context of a proxy includes the villages, memberships and tags of the
-- residents it stands for (so every policy that reads them lets it read what they read);
-- the facts list them as 'proxy_for'. Otherwise 0019_context_speed's function.
create or replace function vg.context_of(p_account bigint, p_session bigint, out c vg.context, out facts jsonb)
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    with a as (
        select a.id, a.phone, a.display_name, a.resident_id, a.resident_village
          from vg.accounts a where a.id = p_account
    ), r as (
        select r.id, r.village_code, r.residence_code, r.residence_member, r.tags
          from a join vg.residents r on r.village_code = a.resident_village and r.id = a.resident_id
    ), p as (  -- 亲情账号: the residents this account stands for, with their consent
        select r.id, r.village_code, r.residence_code, r.residence_member, r.tags
          from vg.family_proxies f
          join vg.residents r on r.village_code = f.resident_village and r.id = f.resident_id
         where f.proxy_account = p_account and f.revoked_at is null
    ), people as (
        select * from r union all select * from p
    ), g as (
        select g.id, g.role, g.unit_code, u.level
          from vg.grants g join vg.org_units u on u.code = g.unit_code
         where g.account_id = p_account and g.revoked_at is null
    ), v as (  -- the villages the account reads as a resident; member: members-only content
        select people.village_code as village, true as member from people
        union
        select people.residence_code, people.residence_member from people
         where people.residence_code is not null and people.residence_code <> people.village_code
    ), villages as (
        select village, bool_or(member) as member from v group by village
    ), inherited as (  -- staff receive what their units' ancestors push down
        select distinct x.a from g, unnest(vg.ancestors_or_self(g.unit_code)) x (a)
         where x.a <> g.unit_code
    ), tags as (
        select coalesce(array_agg(distinct t order by t), '{}') as tags
          from people, unnest(people.tags) t
    )
    select row(null, null, p_session, a.id, r.id, r.village_code, false,
               coalesce((select range_agg(vg.subtree(g.unit_code)) from g), '{}'),
               coalesce((select range_agg(vg.subtree(g.unit_code)) from g where g.role <> 'ANALYST'), '{}'),
               (select coalesce(array_agg(distinct p.a order by p.a), '{}')
                  from (select x.a from villages v, unnest(vg.ancestors_or_self(v.village)) x (a)
                        union select a from inherited) p (a)),
               (select coalesce(array_agg(distinct p.a order by p.a), '{}')
                  from (select x.a from villages v, unnest(vg.ancestors_or_self(v.village)) x (a) where v.member
                        union select a from inherited) p (a)),
               (select coalesce(array_agg(v.village order by v.village is distinct from r.village_code, v.village), '{}')
                  from villages v where v.member),
               (select tags from tags),
               exists (select from g))::vg.context,
           jsonb_build_object(
               'account_id', a.id::text, 'phone', a.phone, 'display_name', a.display_name,
               'resident_id', r.id::text, 'household_village', r.village_code::text,
               'residence_village', r.residence_code::text,
               'villages', (select coalesce(jsonb_agg(v.village::text order by v.village is distinct from r.village_code, v.village), '[]') from villages v),
               'member_villages', (select coalesce(jsonb_agg(v.village::text order by v.village is distinct from r.village_code, v.village), '[]') from villages v where v.member),
               'tags', to_jsonb((select tags from tags)),
               'proxy_for', (select coalesce(jsonb_agg(jsonb_build_object('village', p.village_code::text, 'id', p.id::text)
                                                       order by p.village_code, p.id), '[]') from p),
               'grants', (select coalesce(jsonb_agg(jsonb_build_object(
                              'role', g.role, 'unit', g.unit_code::text, 'level', g.level) order by g.id), '[]')
                            from g))
      from a left join r on true
$$;

-- ------------------------------------------------------------------ receipts
-- A delivery receipt from a channel's callback (WeChat TEMPLATESENDJOBFINISH, an SMS
-- status report), whose signature the server verified. Runs before any context exists,
-- like login: the login role only. Returns how many deliveries it matched.
create function vg.record_receipt(p_channel text, p_msgid text, p_receipt text) returns integer
language plpgsql volatile security definer set search_path = pg_catalog, vg, pg_temp as $$
declare
    n integer;
begin
    perform vg.require_login_path();
    update vg.outbox set receipt = left(p_receipt, 200), receipt_at = now()
     where provider_msgid = p_msgid and channel = p_channel and status = 'SENT';
    get diagnostics n = row_count;
    return n;
end
$$;

-- ------------------------------------------------------------------ privileges
revoke execute on function vg.tier(bigint), vg.notice_pushed(bigint, text, boolean, boolean),
    vg.issue_login_code(text, bytea, text, interval), vg.redeem_login_code(text, bytea, text),
    vg.bind_by_identity(text, text), vg.bind_by_cadre(text, bigint),
    vg.set_family_proxy(bigint, text, text, boolean), vg.context_of(bigint, bigint),
    vg.record_receipt(text, text, text) from public;
grant execute on function vg.tier(bigint), vg.notice_pushed(bigint, text, boolean, boolean)
    to vg_request, vg_worker;
grant execute on function vg.bind_by_identity(text, text), vg.bind_by_cadre(text, bigint),
    vg.set_family_proxy(bigint, text, text, boolean) to vg_request;
grant execute on function vg.issue_login_code(text, bytea, text, interval),
    vg.redeem_login_code(text, bytea, text), vg.record_receipt(text, text, text) to vg_login;

-- The worker: every new table, through a policy of its own (as 0013 for the others).
do $$
declare
    t text;
begin
    foreach t in array array['push_rules', 'broadcasts', 'broadcast_parts',
                             'notification_preferences', 'channel_usage', 'login_codes',
                             'identity_checks', 'family_proxies']
    loop
        execute format('grant select, insert, update on vg.%I to vg_worker', t);
        execute format('create policy %I on vg.%I to vg_worker using (true) with check (true)',
                       t || '_all_worker', t);
    end loop;
end
$$;
