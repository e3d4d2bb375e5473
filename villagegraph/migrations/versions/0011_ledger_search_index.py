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

from villagegraph.migrations.helpers import run_sql_file

revision = "0011_ledger_search_index"
down_revision = "0007_inspect_disclosures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0011_ledger_search_index.up.sql")


def downgrade() -> None:
    run_sql_file("0011_ledger_search_index.down.sql")
