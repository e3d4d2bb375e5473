-- 0017_supervision_tasks downgrade: sent as is, in one transaction, by
-- versions/0017_supervision_tasks.py. Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;

drop function vg.roll_up_relay(bigint);
drop trigger inspection_reports_review on vg.inspection_reports;
drop function vg.guard_inspection_review();
drop table vg.inspection_reports, vg.task_reopenings;
drop policy task_rules_set on vg.task_rules;
drop policy task_rules_change on vg.task_rules;
drop policy disclosure_rules_set on vg.disclosure_rules;
drop policy disclosure_rules_change on vg.disclosure_rules;
revoke insert, update on vg.task_rules, vg.disclosure_rules from vg_request;
revoke update (urge_count, last_urged_at, reopen_reason) on vg.tasks from vg_request;
alter table vg.tasks drop column urge_count, drop column last_urged_at,
    drop column reopen_reason, drop column relayed_from_unit, drop column relayed_from;

-- The task guard as 0003_supervision wrote it.
create or replace function vg.guard_task_update() returns trigger
language plpgsql as $$
begin
    if vg.account_id() is null then
        return new;
    end if;
    if (new.due_at is distinct from old.due_at
        or (old.completed_at is not null and new.completed_at is null))
       and not (old.issuer_code <@ vg.write_scope()) then
        raise exception 'only the issuing unit or its superiors may re-date or reopen a task'
            using errcode = 'insufficient_privilege';
    end if;
    if (new.completed_by is distinct from old.completed_by and new.completed_by <> vg.account_id())
       or (new.acknowledged_by is distinct from old.acknowledged_by
           and new.acknowledged_by <> vg.account_id()) then
        raise exception 'a task is completed or acknowledged only in one''s own name'
            using errcode = 'insufficient_privilege';
    end if;
    return new;
end
$$;
