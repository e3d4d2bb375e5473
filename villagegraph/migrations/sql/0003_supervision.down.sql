-- 0003_supervision downgrade: sent as is, in one transaction, by versions/0003_supervision.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;

drop table vg.channel_addresses, vg.disclosure_rules, vg.inspections,
                          vg.ledger_entries, vg.task_rules, vg.task_reminders, vg.tasks;
               alter table vg.outbox drop column channel, drop column locked_until,
                                     drop column delivered_by;
