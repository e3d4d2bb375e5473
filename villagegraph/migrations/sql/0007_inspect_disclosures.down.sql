-- 0007_inspect_disclosures downgrade: sent as is, in one transaction, by versions/0007_inspect_disclosures.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;
delete from vg.inspections where subject in ('NOTICES', 'FINANCE');

alter table vg.inspections drop constraint inspections_subject_check,
                   add constraint inspections_subject_check
                   check (subject in ('LEDGER', 'TASKS'));
