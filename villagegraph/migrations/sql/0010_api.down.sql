-- 0010_api downgrade: sent as is, in one transaction, by versions/0010_api.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;
drop trigger notices_notify on vg.notices;
drop function vg.notify_notice();
drop function vg.outbox_depth();
