-- 0006_audit_chain upgrade: sent as is, in one transaction, by versions/0006_audit_chain.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;

alter table vg.audit_log
    add column chain_key bigint,
    add column chain_seq bigint,
    add column prev_hash text,
    add column hash text;

-- The newest link of each chain; its row lock is what orders appends within a chain.
create table vg.audit_heads (
    chain_key bigint primary key,   -- tenant code, or -account id for tenantless rows
    seq bigint not null,
    hash text not null
);

-- What a link covers: every column a reader relies on, plus the previous link's hash.
-- jsonb text is canonical and the timestamp is taken as epoch seconds, so the digest
-- does not depend on the session's TimeZone or DateStyle.
create function vg.audit_row_hash(r vg.audit_log) returns text
language sql stable parallel safe as $$
    select encode(sha256(convert_to(jsonb_build_array(
        r.chain_key, r.chain_seq, r.id, extract(epoch from r.at), r.account_id, r.action,
        r.tenant_code, r.entity, r.entity_id, r.detail, r.prev_hash)::text, 'UTF8')), 'hex')
$$;

create function vg.audit_chain_link() returns trigger
language plpgsql security definer set search_path = vg, pg_catalog as $$
begin
    new.chain_key := coalesce(new.tenant_code, -coalesce(new.account_id, 0));
    insert into vg.audit_heads as h (chain_key, seq, hash) values (new.chain_key, 1, '')
    on conflict (chain_key) do update set seq = h.seq + 1
    returning h.seq, h.hash into new.chain_seq, new.prev_hash;
    new.hash := vg.audit_row_hash(new);
    update vg.audit_heads set hash = new.hash where chain_key = new.chain_key;
    return new;
end
$$;

create function vg.audit_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'vg.audit_log is append-only (% refused)', tg_op
        using errcode = 'insufficient_privilege';
end
$$;

do $$
declare
    r vg.audit_log;
begin
    for r in select * from vg.audit_log order by id loop
        r.chain_key := coalesce(r.tenant_code, -coalesce(r.account_id, 0));
        insert into vg.audit_heads as h (chain_key, seq, hash) values (r.chain_key, 1, '')
        on conflict (chain_key) do update set seq = h.seq + 1
        returning h.seq, h.hash into r.chain_seq, r.prev_hash;
        r.hash := vg.audit_row_hash(r);
        update vg.audit_heads set hash = r.hash where chain_key = r.chain_key;
        update vg.audit_log
           set chain_key = r.chain_key, chain_seq = r.chain_seq,
               prev_hash = r.prev_hash, hash = r.hash
         where id = r.id;
    end loop;
end
$$;

alter table vg.audit_log
    alter column chain_key set not null,
    alter column chain_seq set not null,
    alter column prev_hash set not null,
    alter column hash set not null;
create unique index audit_log_chain on vg.audit_log (chain_key, chain_seq);

create trigger audit_chain_link before insert on vg.audit_log
    for each row execute function vg.audit_chain_link();
create trigger audit_append_only before update or delete on vg.audit_log
    for each row execute function vg.audit_append_only();
create trigger audit_no_truncate before truncate on vg.audit_log
    for each statement execute function vg.audit_append_only();

-- Staff may read the heads of their subtree's chains (to anchor them elsewhere).
create policy audit_heads_read on vg.audit_heads for select using (
    chain_key <@ (select vg.read_scope())
);

-- Tenant tables: row-level security on and forced (the owner bypasses it only through
-- BYPASSRLS), and the request role's table privileges. Policies follow below.
alter table vg.audit_heads enable row level security;
alter table vg.audit_heads force row level security;
grant select on vg.audit_heads to vg_request;
