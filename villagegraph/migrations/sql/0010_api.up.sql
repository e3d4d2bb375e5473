-- 0010_api upgrade: sent as is, in one transaction, by versions/0010_api.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;

create function vg.notify_notice() returns trigger
language plpgsql as $$
begin
    perform pg_notify('vg_notice', json_build_object(
        'id', new.id::text, 'publisher', new.publisher_code::text)::text);
    return null;
end
$$;
create trigger notices_notify after insert on vg.notices
    for each row execute function vg.notify_notice();

create function vg.outbox_depth() returns table (status text, messages bigint)
language sql stable security definer set search_path = vg, pg_catalog as $$
    select status, count(*) from vg.outbox group by status
$$;
revoke execute on function vg.outbox_depth() from public;
grant execute on function vg.outbox_depth() to vg_request;
