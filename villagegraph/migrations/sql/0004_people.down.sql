-- 0004_people downgrade: sent as is, in one transaction, by versions/0004_people.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;
drop trigger residents_history on vg.residents;
drop table vg.shelters, vg.listings, vg.party_members, vg.cadres, vg.resident_history, vg.households;
drop function vg.earth_point, vg.great_circle_meters, vg.resident_contacts,
    vg.resident_ids_by_identity, vg.mask_id_number, vg.mask_phone, vg.track_resident_history,
    vg.effective_date, vg.cadre_villages, vg.has_context;
drop index vg.residents_household, vg.residents_id_number, vg.residents_phone;
drop policy residents_update on vg.residents;
revoke update on vg.residents from vg_request;
grant select on vg.residents to vg_request;
