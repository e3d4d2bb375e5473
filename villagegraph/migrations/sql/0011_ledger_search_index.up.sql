-- 0011_ledger_search_index upgrade: sent as is, in one transaction, by versions/0011_ledger_search_index.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;

create function vg.ledger_term_matches(p_lo bigint, p_hi bigint, p_term text)
returns table (village_code bigint, id bigint)
language plpgsql stable security definer set search_path = vg, public, pg_catalog as $$
begin
    if char_length(p_term) >= 3 then
        return query
        select e.village_code, e.id from vg.ledger_entries e
         where e.village_code between p_lo and p_hi
           and e.village_code <@ (select vg.read_scope())
           and e.search_text like '%' || replace(replace(replace(p_term, '\', '\\'), '%', '\%'),
                                                 '_', '\_') || '%';
    else
        return query
        select e.village_code, e.id from vg.ledger_entries e
         where e.village_code between p_lo and p_hi
           and e.village_code <@ (select vg.read_scope())
           and vg.short_grams(e.search_text) @> array[p_term];
    end if;
end
$$;
revoke execute on function vg.ledger_term_matches(bigint, bigint, text) from public;
grant execute on function vg.ledger_term_matches(bigint, bigint, text) to vg_request;
