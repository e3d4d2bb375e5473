-- 0022_shared_state downgrade.
set local search_path = vg, public;
drop function vg.persisted_document(text);
drop function vg.persist_document(text);
drop table vg.persisted_documents;
drop function vg.prune_rate_buckets();
drop function vg.rate_take(text, double precision, double precision);
drop table vg.rate_buckets;
