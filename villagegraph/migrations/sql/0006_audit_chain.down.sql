-- 0006_audit_chain downgrade: sent as is, in one transaction, by versions/0006_audit_chain.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;
drop trigger audit_no_truncate on vg.audit_log;
drop trigger audit_append_only on vg.audit_log;
drop trigger audit_chain_link on vg.audit_log;
drop table vg.audit_heads;
drop function vg.audit_append_only(), vg.audit_chain_link();
drop function vg.audit_row_hash(vg.audit_log);
alter table vg.audit_log drop column chain_key, drop column chain_seq, drop column prev_hash, drop column hash;
