set local role vg_owner;
set local search_path = vg, public;
drop table vg.unit_monthly_figures, vg.unit_figures;
drop function vg.rebuild_rollups, vg.rollup_notice_reads cascade;
drop function vg.rollup_notices, vg.rollup_residents, vg.local_month cascade;
reset role;
