-- 0017_supervision_tasks upgrade: sent as is, in one transaction, by
-- versions/0017_supervision_tasks.py. Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;

-- ------------------------------------------------------------------ tasks
-- 催办 is counted on the task; a relayed part names the task it was handed on from (the
-- original's assignee relayed it to units below), so progress rolls up to the original.
alter table vg.tasks
    add column urge_count integer not null default 0 check (urge_count >= 0),
    add column last_urged_at timestamptz,
    add column reopen_reason text,
    add column relayed_from_unit bigint,
    add column relayed_from bigint,
    add constraint tasks_relayed_from_fkey foreign key (relayed_from_unit, relayed_from)
        references vg.tasks (assignee_code, id),
    add constraint tasks_relayed_from_check check ((relayed_from is null) = (relayed_from_unit is null));
create index tasks_relayed_from on vg.tasks (relayed_from_unit, relayed_from)
    where relayed_from is not null;
grant update (urge_count, last_urged_at, reopen_reason) on vg.tasks to vg_request;

-- Every reopening, with the completion it undid: the lateness of that completion stays on
-- record although the task is open again under a new due date.
create table vg.task_reopenings (
    assignee_code bigint not null,
    task_id bigint not null,
    reopened_at timestamptz not null default now(),
    reopened_by bigint references vg.accounts (id),
    reason text not null,
    previous_due_at timestamptz not null,
    previous_completed_at timestamptz not null,
    new_due_at timestamptz not null,
    primary key (assignee_code, task_id, reopened_at),
    foreign key (assignee_code, task_id) references vg.tasks (assignee_code, id)
);
alter table vg.task_reopenings enable row level security;
alter table vg.task_reopenings force row level security;
grant select on vg.task_reopenings to vg_request;
grant insert (assignee_code, task_id, reopened_by, reason, previous_due_at,
              previous_completed_at, new_due_at) on vg.task_reopenings to vg_request;
create policy task_reopenings_read on vg.task_reopenings for select using (
    assignee_code <@ (select vg.read_scope())
);
create policy task_reopenings_record on vg.task_reopenings for insert with check (
    assignee_code <@ (select vg.write_scope())
    and reopened_by = (select vg.account_id())
);

-- The guard of 0003_supervision, and: reopening needs a reason and a due date still ahead
-- (so a task done on time cannot turn overdue, and escalate, the moment it is reopened);
-- it clears the escalation, which counts again from the new due date. 催办 is the issuing
-- side's, one at a time, on an open task.
create or replace function vg.guard_task_update() returns trigger
language plpgsql as $$
begin
    if vg.account_id() is not null then
        if (new.due_at is distinct from old.due_at
            or (old.completed_at is not null and new.completed_at is null)
            or new.reopen_reason is distinct from old.reopen_reason
            or new.urge_count is distinct from old.urge_count)
           and not (old.issuer_code <@ vg.write_scope()) then
            raise exception 'only the issuing unit or its superiors may re-date, reopen or urge a task'
                using errcode = 'insufficient_privilege';
        end if;
        if (new.completed_by is distinct from old.completed_by and new.completed_by <> vg.account_id())
           or (new.acknowledged_by is distinct from old.acknowledged_by
               and new.acknowledged_by <> vg.account_id()) then
            raise exception 'a task is completed or acknowledged only in one''s own name'
                using errcode = 'insufficient_privilege';
        end if;
    end if;
    if new.urge_count is distinct from old.urge_count
       and (new.urge_count <> old.urge_count + 1 or old.completed_at is not null) then
        raise exception 'a task is urged once at a time, and only while open'
            using errcode = 'check_violation';
    end if;
    if old.completed_at is not null and new.completed_at is null then
        if new.due_at <= now() or coalesce(btrim(new.reopen_reason), '') = '' then
            raise exception 'a task is reopened only with a reason and a new due date ahead'
                using errcode = 'check_violation';
        end if;
        new.escalated_to := null;
        new.escalated_at := null;
    end if;
    return new;
end
$$;

create function vg.trace_task_reopening() returns trigger
language plpgsql as $$
begin
    insert into vg.task_reopenings (assignee_code, task_id, reopened_by, reason,
                                    previous_due_at, previous_completed_at, new_due_at)
    values (new.assignee_code, new.id, vg.account_id(), new.reopen_reason,
            old.due_at, old.completed_at, new.due_at);
    return null;
end
$$;
create trigger tasks_trace_reopening after update on vg.tasks
    for each row when (old.completed_at is not null and new.completed_at is null)
    execute function vg.trace_task_reopening();

-- Relayed work rolls up: when the caller's part is done and every part relayed from the
-- same task is done, that task is done too (at the last part's completion time), its
-- issuer's staff are told, and the roll-up continues upwards. The village that finished
-- the last part cannot write its town's task, so this runs as the owner, only for a done
-- part the caller may write. Returns the highest task completed, or null.
create function vg.roll_up_relay(p_part bigint) returns bigint
language plpgsql volatile security definer set search_path = pg_catalog, vg, pg_temp as $$
declare
    part record;
    original record;
    finished bigint;
begin
    select t.assignee_code, t.id, t.relayed_from_unit, t.relayed_from into part
      from vg.tasks t
     where t.id = p_part and t.completed_at is not null
       and t.assignee_code <@ vg.write_scope();
    while found and part.relayed_from is not null loop
        exit when exists (select from vg.tasks p
                           where p.relayed_from_unit = part.relayed_from_unit
                             and p.relayed_from = part.relayed_from and p.completed_at is null);
        update vg.tasks o
           set completed_at = (select max(p.completed_at) from vg.tasks p
                                where p.relayed_from_unit = o.assignee_code and p.relayed_from = o.id),
               completion_note = '下级分解任务全部完成'
         where o.assignee_code = part.relayed_from_unit and o.id = part.relayed_from
           and o.completed_at is null
        returning o.assignee_code, o.id, o.issuer_code, o.title, o.due_at, o.completed_at,
                  o.relayed_from_unit, o.relayed_from into original;
        exit when not found;
        finished := original.id;
        insert into vg.audit_log (account_id, action, tenant_code, entity, entity_id, detail)
        values (vg.account_id(), 'task.relay_complete', original.assignee_code, 'task',
                original.id::text, jsonb_build_object('last_part', part.id));
        insert into vg.outbox (tenant_code, kind, recipient_account, payload, idempotency_key)
        select original.assignee_code, 'task.completed', g.account_id,
               jsonb_build_object('task', original.id, 'title', original.title,
                                  'due_at', original.due_at, 'completed_at', original.completed_at,
                                  'on_time', original.completed_at <= original.due_at,
                                  'relayed', true, 'assignee', original.assignee_code::text,
                                  'issuer', original.issuer_code::text),
               format('task:%s:completed:%s:%s', original.id,
                      extract(epoch from original.completed_at)::bigint, g.account_id)
          from vg.grants g
         where g.unit_code = original.issuer_code and g.role in ('OFFICIAL', 'CADRE')
           and g.revoked_at is null
        on conflict (idempotency_key) do nothing;
        select original.assignee_code, original.id, original.relayed_from_unit,
               original.relayed_from into part;
    end loop;
    return finished;
end
$$;
revoke execute on function vg.roll_up_relay(bigint) from public;
grant execute on function vg.roll_up_relay(bigint) to vg_request;

-- ------------------------------------------------------------------ rules
-- The city's own officials set its reminder, escalation and disclosure rules (a write
-- grant at the city itself, not below it).
grant insert (city_code, remind_before, escalate_after) on vg.task_rules to vg_request;
grant update (remind_before, escalate_after) on vg.task_rules to vg_request;
create policy task_rules_set on vg.task_rules for insert with check (
    city_code <@ (select vg.write_scope()) and city_code % 100000000 = 0
);
create policy task_rules_change on vg.task_rules for update
    using (city_code <@ (select vg.write_scope()) and city_code % 100000000 = 0)
    with check (city_code <@ (select vg.write_scope()) and city_code % 100000000 = 0);
grant insert (city_code, board, period_months, deadline_offset_months, deadline_day,
              effective_from, remedy_days) on vg.disclosure_rules to vg_request;
grant update (period_months, deadline_offset_months, deadline_day, effective_from, remedy_days)
    on vg.disclosure_rules to vg_request;
create policy disclosure_rules_set on vg.disclosure_rules for insert with check (
    city_code <@ (select vg.write_scope()) and city_code % 100000000 = 0
);
create policy disclosure_rules_change on vg.disclosure_rules for update
    using (city_code <@ (select vg.write_scope()) and city_code % 100000000 = 0)
    with check (city_code <@ (select vg.write_scope()) and city_code % 100000000 = 0);

-- ------------------------------------------------------------------ inspections
-- 远程验收 with a verdict: what was checked, the findings and evidence, and for RECTIFY a
-- supervised rectification task (整改) whose completion the inspecting side accepts or
-- rejects. The automatic read log (vg.inspections) is separate and unchanged.
create sequence vg.inspection_reports_id_seq;
create table vg.inspection_reports (
    unit_code bigint not null references vg.org_units (code),
    id bigint not null default nextval('vg.inspection_reports_id_seq'),
    inspector_unit bigint not null references vg.org_units (code),
    inspected_by bigint not null references vg.accounts (id),
    subject text not null,
    checklist jsonb not null default '[]',
    verdict text not null check (verdict in ('PASS', 'RECTIFY')),
    findings text not null default '',
    evidence text[] not null default '{}',
    rectify_by timestamptz,
    rectification_task bigint,
    rejections integer not null default 0 check (rejections >= 0),
    review_note text,
    accepted_by bigint references vg.accounts (id),
    accepted_at timestamptz,
    recorded_at timestamptz not null default now(),
    primary key (unit_code, id),
    foreign key (unit_code, rectification_task) references vg.tasks (assignee_code, id),
    check ((verdict = 'RECTIFY') = (rectify_by is not null and rectification_task is not null)),
    check (unit_code <> inspector_unit)
);
alter sequence vg.inspection_reports_id_seq owned by vg.inspection_reports.id;
create unique index inspection_reports_id on vg.inspection_reports (id);
create index inspection_reports_unit_time on vg.inspection_reports (unit_code, recorded_at desc, id desc);
alter table vg.inspection_reports enable row level security;
alter table vg.inspection_reports force row level security;
grant select on vg.inspection_reports to vg_request;
grant insert (unit_code, id, inspector_unit, inspected_by, subject, checklist, verdict, findings,
              evidence, rectify_by, rectification_task) on vg.inspection_reports to vg_request;
grant update (rejections, review_note, accepted_by) on vg.inspection_reports to vg_request;
grant usage on sequence vg.inspection_reports_id_seq to vg_request;
create policy inspection_reports_read on vg.inspection_reports for select using (
    unit_code <@ (select vg.read_scope())
);
create policy inspection_reports_record on vg.inspection_reports for insert with check (
    inspector_unit <@ (select vg.write_scope())
    and unit_code <@ vg.subtree(inspector_unit)
    and inspected_by = (select vg.account_id())
);
create policy inspection_reports_review on vg.inspection_reports for update
    using (inspector_unit <@ (select vg.write_scope()))
    with check (inspector_unit <@ (select vg.write_scope()));

-- Acceptance is the reviewer's own, once, and stamped by the database.
create function vg.guard_inspection_review() returns trigger
language plpgsql as $$
begin
    if new.accepted_by is distinct from old.accepted_by then
        if old.accepted_by is not null or new.accepted_by is distinct from vg.account_id() then
            raise exception 'a rectification is accepted once, in one''s own name'
                using errcode = 'insufficient_privilege';
        end if;
        new.accepted_at := now();
    end if;
    return new;
end
$$;
create trigger inspection_reports_review before update on vg.inspection_reports
    for each row execute function vg.guard_inspection_review();

-- The worker's policies and grants (0013_database_boundary) for the new tables.
grant select, insert, update on vg.task_reopenings, vg.inspection_reports to vg_worker;
create policy task_reopenings_all_worker on vg.task_reopenings to vg_worker
    using (true) with check (true);
create policy inspection_reports_all_worker on vg.inspection_reports to vg_worker
    using (true) with check (true);
grant usage on sequence vg.inspection_reports_id_seq to vg_worker;
