-- 0005_rollups downgrade: sent as is, in one transaction, by versions/0005_rollups.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;
drop table vg.unit_monthly_figures, vg.unit_figures;
-- cascade: the triggers on residents, notices and notice_reads go with their functions
drop function vg.rebuild_rollups, vg.rollup_notice_reads cascade;
drop function vg.rollup_notices, vg.rollup_residents, vg.local_month cascade;
