-- 0011_ledger_search_index downgrade: sent as is, in one transaction, by versions/0011_ledger_search_index.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;
drop function vg.ledger_term_matches(bigint, bigint, text);
