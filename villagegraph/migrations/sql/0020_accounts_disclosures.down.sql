-- 0020_accounts_disclosures downgrade: sent as is, in one transaction, by versions/0020_accounts_disclosures.py.
-- Conventions: docs/CONVENTIONS.md. Mapped finance categories keep their chart names.

set local search_path = vg, public;

drop trigger notices_withdrawal on vg.notices;
drop function vg.notice_withdrawal();
drop policy notices_withdraw on vg.notices;
revoke update (withdrawal_reason) on vg.notices from vg_request;
drop policy notices_publish_undecided on vg.notices;
alter table vg.notices
    drop column period, drop column attachments, drop column withdrawn_at,
    drop column withdrawn_by, drop column withdrawal_reason, drop column corrects_id,
    drop column correction_reason;

drop policy ledger_entries_record_dated on vg.ledger_entries;

drop trigger finance_entries_decision on vg.finance_entries;
drop function vg.finance_entry_decision();
drop trigger finance_entries_approval on vg.finance_entries;
drop function vg.finance_entry_approval();
drop policy finance_entries_approve on vg.finance_entries;
drop policy finance_budgets_set_chart on vg.finance_budgets;
drop policy finance_entries_record_chart on vg.finance_entries;
drop policy finance_entries_read on vg.finance_entries;
create policy finance_entries_read on vg.finance_entries for select using (
    village_code <@ (select vg.read_scope())
    or village_code = any ((select vg.member_villages())::bigint[])
);
revoke update (status, decision_reason) on vg.finance_entries from vg_request;
revoke insert (subject_code) on vg.finance_entries from vg_request;
delete from vg.finance_entries where status <> 'BOOKED';
alter table vg.finance_entries
    drop column subject_code, drop column status, drop column decided_by,
    drop column decided_at, drop column decision_reason;

drop table vg.finance_rules;
drop function vg.finance_subject(bigint, text, text, text);
drop table vg.account_subjects;
