"""Ledger keyword search through its indexes under RLS.

Under row-level security PostgreSQL uses a query's condition as an index condition only
when its operator is leakproof; LIKE and array containment are not, so a search over a
county read every entry of the county and computed its short grams (0.4 s for 11 k
entries). vg.ledger_term_matches finds the keys of the entries holding one term through
the trigram or short-gram index, as the owner, inside the caller's read scope (the
ledger_entries_read policy); the caller's query then reads those rows under RLS as before.
It returns keys only, never text.

Revision ID: 0011_ledger_search_index
Revises: 0007_inspect_disclosures
"""

from alembic import op

from villagegraph.migrations.helpers import as_owner

revision = "0011_ledger_search_index"
down_revision = "0007_inspect_disclosures"
branch_labels = None
depends_on = None


MATCHES = r"""
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
"""


def upgrade() -> None:
    with as_owner():
        op.execute(MATCHES)


def downgrade() -> None:
    with as_owner():
        op.execute("drop function vg.ledger_term_matches(bigint, bigint, text)")
