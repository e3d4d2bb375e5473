-- 0014_personal_data downgrade: sent as is, in one transaction, by versions/0014_personal_data.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;
alter policy cadres_appoint on vg.cadres with check (
    village_code <@ (select vg.write_scope()) and appointed_by = (select vg.account_id())
);
alter policy consultation_electors_enrol on vg.consultation_electors with check (
    village_code <@ (select vg.write_scope())
);
drop trigger residents_membership on vg.residents;
drop function vg.residents_membership_check();
drop table vg.membership_requests;
drop function vg.membership_request_decision_check();
drop function vg.membership_request_admit();
drop function vg.resident_contacts(bigint[]);
create function vg.resident_contacts(p_ids bigint[])
returns table (id bigint, id_number text, phone text, masked boolean)
language sql stable security definer set search_path = pg_catalog, vg, pg_temp as $$
    with caller as (
        select vg.read_scope() as scope, vg.cadre_villages() as own, vg.resident_id() as self
    )
    select r.id,
           case when full_view then r.id_number else vg.mask_id_number(r.id_number) end,
           case when full_view then r.phone else vg.mask_phone(r.phone) end,
           not full_view
      from vg.residents r
      cross join caller c
      cross join lateral (
          select coalesce(r.village_code = any (c.own) or r.id = c.self, false)) v (full_view)
     where r.id = any (p_ids)
       and (r.village_code <@ c.scope or r.residence_code <@ c.scope or r.id = c.self)
$$;
revoke execute on function vg.resident_contacts(bigint[]) from public;
grant execute on function vg.resident_contacts(bigint[]) to vg_request;
create or replace function vg.resident_ids_by_identity(p_id_number text, p_phone text)
returns setof bigint
language sql stable security definer set search_path = pg_catalog, vg, pg_temp as $$
    select r.id from vg.residents r
     where (p_id_number is not null or p_phone is not null)
       and (p_id_number is null or r.id_number = p_id_number)
       and (p_phone is null or r.phone = p_phone)
       and (r.village_code <@ vg.read_scope() or r.residence_code <@ vg.read_scope()
            or r.id = vg.resident_id())
$$;
drop table vg.personal_data_reads;
drop function vg.party_member_count(bigint, bigint, date);
drop function vg.resident_counts(bigint, bigint, date, text[], bigint, text[]);
drop function vg.exact_statistics_for(bigint, bigint);
drop function vg.age_band(date, date);
drop function vg.resident_pseudonyms(bigint, bigint);
grant select on vg.resident_history to vg_request;
alter policy residents_read on vg.residents using (
    village_code <@ (select vg.read_scope())
    or residence_code <@ (select vg.read_scope())
    or id = (select vg.resident_id())
);
alter policy households_read on vg.households using (village_code <@ (select vg.read_scope()));
alter policy resident_history_read on vg.resident_history using (
    village_code <@ (select vg.read_scope())
);
alter policy party_members_read on vg.party_members using (
    village_code <@ (select vg.read_scope())
    or (village_code = (select vg.household_village()) and resident_id = (select vg.resident_id()))
);
drop function vg.is_sensitive_tag(bigint, text);
drop table vg.sensitive_tags;
drop function vg.protected_count(bigint, numeric);
drop function vg.min_group_size();
drop table vg.disclosure_settings;
