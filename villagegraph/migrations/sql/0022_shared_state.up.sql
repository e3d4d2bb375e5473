-- 0022_shared_state upgrade: sent as is, in one transaction, by
-- versions/0022_shared_state.py. Conventions: docs/CONVENTIONS.md.
set local search_path = vg, public;

-- ------------------------------------------------------------------ rate buckets
-- One token bucket per caller key ("account:<id>" or "address:<ip>"), shared by every
-- serving process. No role reads or writes the table; vg.rate_take is the only way in.
create unlogged table vg.rate_buckets (
    key text primary key,
    tokens double precision not null,
    updated_at timestamptz not null default clock_timestamp()
);
alter table vg.rate_buckets enable row level security;
alter table vg.rate_buckets force row level security;
create policy rate_buckets_read on vg.rate_buckets for select using (false);

-- Take one request from `p_key`'s bucket (refilling at p_rate per second up to p_burst);
-- returns 0 when allowed, else the seconds until one token is back. Atomic per key: the
-- upsert locks the row, so concurrent processes never both spend the last token.
create function vg.rate_take(p_key text, p_rate double precision, p_burst double precision)
returns double precision
language plpgsql volatile security definer
set search_path = pg_catalog, vg, pg_temp as $$
declare
    now_ts timestamptz := clock_timestamp();
    left_over double precision;
begin
    if p_key is null or p_rate is null or p_burst is null or length(p_key) > 200 then
        raise exception 'rate_take needs a key, a rate and a burst' using errcode = '22023';
    end if;
    insert into vg.rate_buckets as b (key, tokens, updated_at)
    values (p_key, p_burst - 1, now_ts)
    on conflict (key) do update
       set tokens = least(p_burst, b.tokens
                   + extract(epoch from now_ts - b.updated_at) * p_rate) - 1,
           updated_at = now_ts
    returning tokens into left_over;
    if left_over >= 0 then
        return 0;
    end if;
    -- Refused: give the token back (a refused request spends nothing).
    update vg.rate_buckets set tokens = tokens + 1 where key = p_key;
    if p_rate <= 0 then
        return 60;
    end if;
    return (-left_over) / p_rate;
end
$$;
revoke execute on function vg.rate_take(text, double precision, double precision) from public;
grant execute on function vg.rate_take(text, double precision, double precision) to vg_request;

-- Forget buckets idle for an hour (any full bucket is as good as none); run by the worker.
create function vg.prune_rate_buckets() returns bigint
language sql volatile security definer
set search_path = pg_catalog, vg, pg_temp as $$
    with gone as (
        delete from vg.rate_buckets where updated_at < clock_timestamp() - interval '1 hour'
        returning 1
    )
    select count(*) from gone
$$;
revoke execute on function vg.prune_rate_buckets() from public;
grant execute on function vg.prune_rate_buckets() to vg_worker;

-- ------------------------------------------------------------------ persisted documents
-- Automatic persisted queries (villagegraph/persisted.py): documents addressed by their
-- sha256, which the database computes itself, so no caller can store a document under
-- another's hash. Bounded: past 10000 documents the least recently used go first.
create unlogged table vg.persisted_documents (
    sha256 text primary key,
    document text not null,
    used_at timestamptz not null default clock_timestamp()
);
alter table vg.persisted_documents enable row level security;
alter table vg.persisted_documents force row level security;
create policy persisted_documents_read on vg.persisted_documents for select using (false);
create index persisted_documents_used on vg.persisted_documents (used_at);

create function vg.persist_document(p_document text) returns text
language plpgsql volatile security definer
set search_path = pg_catalog, vg, pg_temp as $$
declare
    digest text;
begin
    if p_document is null or length(p_document) > 100000 then
        raise exception 'a persisted document is between 1 and 100000 characters'
            using errcode = '22023';
    end if;
    digest := encode(sha256(convert_to(p_document, 'UTF8')), 'hex');
    insert into vg.persisted_documents (sha256, document) values (digest, p_document)
    on conflict (sha256) do update set used_at = clock_timestamp();
    if random() < 0.01 then
        delete from vg.persisted_documents
         where sha256 in (select sha256 from vg.persisted_documents
                           order by used_at desc offset 10000);
    end if;
    return digest;
end
$$;
revoke execute on function vg.persist_document(text) from public;
grant execute on function vg.persist_document(text) to vg_request;

create function vg.persisted_document(p_sha256 text) returns text
language sql volatile security definer
set search_path = pg_catalog, vg, pg_temp as $$
    update vg.persisted_documents set used_at = clock_timestamp()
     where sha256 = lower(p_sha256)
    returning document
$$;
revoke execute on function vg.persisted_document(text) from public;
grant execute on function vg.persisted_document(text) to vg_request;
