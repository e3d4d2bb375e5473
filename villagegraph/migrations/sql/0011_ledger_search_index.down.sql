set local role vg_owner;
set local search_path = vg, public;
drop function vg.ledger_term_matches(bigint, bigint, text);
reset role;
