-- 0003_supervision upgrade: sent as is, in one transaction, by versions/0003_supervision.py.
-- Conventions: docs/CONVENTIONS.md.

set local search_path = vg, public;

-- One row per assignee unit; the assignee is the tenant. Status is never stored: DONE when
-- completed_at is set, otherwise OVERDUE once due_at has passed, otherwise OPEN.
create sequence vg.tasks_id_seq;
create table vg.tasks (
    assignee_code bigint not null references vg.org_units (code),
    id bigint not null default nextval('vg.tasks_id_seq'),
    issuer_code bigint not null references vg.org_units (code),
    issued_by bigint references vg.accounts (id),        -- null: raised by a worker scan
    title text not null,
    body text not null,
    due_at timestamptz not null,
    supervised boolean not null default false,           -- 督办
    attachments text[] not null default '{}',
    source_key text,                                      -- e.g. disclosure:FINANCE:2026-10
    acknowledged_at timestamptz,
    acknowledged_by bigint references vg.accounts (id),
    completed_at timestamptz,
    completed_by bigint references vg.accounts (id),
    completion_note text,
    reopened_at timestamptz,
    escalated_to bigint references vg.org_units (code),
    escalated_at timestamptz,
    created_at timestamptz not null default now(),
    primary key (assignee_code, id),
    check (assignee_code <> issuer_code)
);
alter sequence vg.tasks_id_seq owned by vg.tasks.id;
create unique index tasks_id on vg.tasks (id);
create index tasks_assignee_due on vg.tasks (assignee_code, due_at, id);
create index tasks_open_due on vg.tasks (due_at) where completed_at is null;
create index tasks_escalated on vg.tasks (escalated_to, due_at) where escalated_to is not null;
create unique index tasks_source on vg.tasks (assignee_code, source_key) where source_key is not null;

-- A reminder is sent once per task, kind and due date (a reopened task with a new due date
-- is reminded again); the primary key is what makes the scans idempotent.
create table vg.task_reminders (
    assignee_code bigint not null,
    task_id bigint not null,
    kind text not null check (kind in ('DUE_SOON', 'OVERDUE', 'ESCALATED')),
    due_at timestamptz not null,
    sent_at timestamptz not null,
    primary key (assignee_code, task_id, kind, due_at),
    foreign key (assignee_code, task_id) references vg.tasks (assignee_code, id)
);

-- Per-city timing of reminders and escalation; a city without a row gets the defaults.
create table vg.task_rules (
    city_code bigint primary key references vg.org_units (code),
    remind_before interval not null default interval '24 hours',
    escalate_after interval not null default interval '3 days'
);

-- 村情记录 / 电子台账: append-only. A correction is a new entry naming the one it corrects.
create sequence vg.ledger_entries_id_seq;
create table vg.ledger_entries (
    village_code bigint not null references vg.org_units (code),
    id bigint not null default nextval('vg.ledger_entries_id_seq'),
    category text not null,
    occurred_on date not null,
    text text not null,
    attachments text[] not null default '{}',
    corrects_id bigint,
    recorded_by bigint references vg.accounts (id),
    recorded_at timestamptz not null default now(),
    search_text text generated always as (category || ' ' || text) stored,
    primary key (village_code, id),
    foreign key (village_code, corrects_id) references vg.ledger_entries (village_code, id)
);
alter sequence vg.ledger_entries_id_seq owned by vg.ledger_entries.id;
create unique index ledger_entries_id on vg.ledger_entries (id);
create index ledger_entries_village_date on vg.ledger_entries (village_code, occurred_on desc, id desc);
create index ledger_entries_corrects on vg.ledger_entries (village_code, corrects_id)
    where corrects_id is not null;
-- Keywords of 3+ characters are found through trigrams. A 1-2 character keyword holds no
-- trigram, so those are found through the set of every 1- and 2-character substring of
-- the text (what pg_bigm does), or, when the planner prefers, through the subtree's btree.
-- Entries are written by hand and searched often, so no pending lists: every insert goes
-- straight into the indexes and the planner never prices a search at a pending-list scan.
create function vg.short_grams(body text) returns text[]
language sql immutable strict parallel safe as $$
    select array(
        select distinct substr(body, i, n)
          from generate_series(1, char_length(body)) i, (values (1), (2)) as g (n)
         where i + n - 1 <= char_length(body)
    )
$$;
create index ledger_entries_search_trgm on vg.ledger_entries using gin (search_text gin_trgm_ops)
    with (fastupdate = off);
create index ledger_entries_search_short on vg.ledger_entries
    using gin (vg.short_grams(search_text)) with (fastupdate = off);

-- 远程验收: every read of a village's ledger or tasks by someone without a grant at the
-- village itself leaves a row here, in the reading request's transaction.
create sequence vg.inspections_id_seq;
create table vg.inspections (
    village_code bigint not null references vg.org_units (code),
    id bigint not null default nextval('vg.inspections_id_seq'),
    account_id bigint not null references vg.accounts (id),
    inspector_name text not null,
    subject text not null check (subject in ('LEDGER', 'TASKS')),
    queried_unit bigint not null,
    search text,
    inspected_at timestamptz not null default now(),
    primary key (village_code, id)
);
alter sequence vg.inspections_id_seq owned by vg.inspections.id;
create index inspections_village_time on vg.inspections (village_code, inspected_at desc, id desc);

-- Disclosure deadlines per city and board. A period starts every `period_months` months
-- (aligned to January); its deadline is day `deadline_day` of the month
-- `deadline_offset_months` after the period's start (finance: month M by the 10th of M+1;
-- general affairs: the quarter by the 20th of its first month). A village complies when it
-- published on the board after the previous period's deadline and by this one's.
create table vg.disclosure_rules (
    city_code bigint not null references vg.org_units (code),
    board text not null,
    period_months integer not null check (period_months in (1, 2, 3, 4, 6, 12)),
    deadline_offset_months integer not null check (deadline_offset_months between 0 and 12),
    deadline_day integer not null check (deadline_day between 1 and 28),
    effective_from date not null,
    remedy_days integer not null default 5 check (remedy_days > 0),
    primary key (city_code, board)
);

-- Where each account receives notifications on channels that need an address of their
-- own (WeChat openid); SMS falls back to the account's phone.
create table vg.channel_addresses (
    account_id bigint not null references vg.accounts (id),
    channel text not null check (channel in ('wechat', 'sms', 'webhook')),
    address text not null,
    primary key (account_id, channel)
);

alter table vg.outbox
    add column channel text,                 -- null: the worker's configured default
    add column locked_until timestamptz,     -- a claiming worker's lease
    add column delivered_by text;            -- which worker delivered it

-- Tenant tables: row-level security on and forced (the owner bypasses it only through
-- BYPASSRLS), and the request role's table privileges. Policies follow below.
alter table vg.task_reminders enable row level security;
alter table vg.task_reminders force row level security;
grant select on vg.task_reminders to vg_request;
alter table vg.task_rules enable row level security;
alter table vg.task_rules force row level security;
grant select on vg.task_rules to vg_request;
alter table vg.disclosure_rules enable row level security;
alter table vg.disclosure_rules force row level security;
grant select on vg.disclosure_rules to vg_request;
alter table vg.channel_addresses enable row level security;
alter table vg.channel_addresses force row level security;
grant select on vg.channel_addresses to vg_request;
alter table vg.tasks enable row level security;
alter table vg.tasks force row level security;
grant select, insert on vg.tasks to vg_request;
alter table vg.ledger_entries enable row level security;
alter table vg.ledger_entries force row level security;
grant select, insert on vg.ledger_entries to vg_request;
alter table vg.inspections enable row level security;
alter table vg.inspections force row level security;
grant select, insert on vg.inspections to vg_request;

grant usage on sequence vg.tasks_id_seq, vg.ledger_entries_id_seq, vg.inspections_id_seq
    to vg_request;

-- Tasks: readable over the caller's subtree (issuers and the superiors a task escalates
-- to are above its assignee); issued only by staff whose write scope holds the issuer,
-- to units strictly inside the issuer's subtree.
create policy tasks_read on vg.tasks for select using (
    assignee_code <@ (select vg.read_scope())
);
create policy tasks_assign on vg.tasks for insert with check (
    issuer_code <@ (select vg.write_scope())
    and assignee_code <@ vg.subtree(issuer_code)
    and issued_by = (select vg.account_id())
);
create policy tasks_update on vg.tasks for update
    using (assignee_code <@ (select vg.write_scope()))
    with check (assignee_code <@ (select vg.write_scope()));
grant update (acknowledged_at, acknowledged_by, completed_at, completed_by, completion_note,
              reopened_at, due_at) on vg.tasks to vg_request;

-- The policy lets both sides of a task update it; who may do what is decided here, so an
-- assignee cannot move its own deadline or undo a completion by hand. Requests only: the
-- worker (no request context) escalates through its own columns.
create function vg.guard_task_update() returns trigger
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
create trigger tasks_guard_update before update on vg.tasks
    for each row execute function vg.guard_task_update();

-- 督办: the issuing unit's staff hear when a task is done. The assignee cannot read the
-- issuer's grants, so this runs as the owner, but only for a done task the caller may
-- write, and it reveals nothing back (it returns how many were told).
create function vg.notify_task_done(p_task bigint) returns integer
language sql volatile security definer set search_path = vg, pg_catalog as $$
    with told as (
        insert into vg.outbox (tenant_code, kind, recipient_account, payload, idempotency_key)
        select t.assignee_code, 'task.completed', g.account_id,
               jsonb_build_object('task', t.id, 'title', t.title, 'due_at', t.due_at,
                                  'completed_at', t.completed_at, 'on_time', t.completed_at <= t.due_at,
                                  'assignee', t.assignee_code::text, 'issuer', t.issuer_code::text),
               format('task:%s:completed:%s:%s', t.id,
                      extract(epoch from t.completed_at)::bigint, g.account_id)
          from vg.tasks t
          join vg.grants g on g.unit_code = t.issuer_code
                          and g.role in ('OFFICIAL', 'CADRE') and g.revoked_at is null
         where t.id = p_task and t.completed_at is not null
           and t.assignee_code <@ vg.write_scope()
        on conflict (idempotency_key) do nothing
        returning 1
    )
    select count(*)::integer from told
$$;
revoke execute on function vg.notify_task_done(bigint) from public;
grant execute on function vg.notify_task_done(bigint) to vg_request;

create policy task_reminders_read on vg.task_reminders for select using (
    assignee_code <@ (select vg.read_scope())
);
-- Rules are read by staff anywhere inside the city they govern.
create policy task_rules_read on vg.task_rules for select using (
    (select vg.read_scope()) && vg.subtree(city_code)
);

-- The ledger: staff and analysts over their subtree; only staff of the village or above
-- record, as themselves. No update or delete privilege exists: corrections append.
create policy ledger_entries_read on vg.ledger_entries for select using (
    village_code <@ (select vg.read_scope())
);
create policy ledger_entries_record on vg.ledger_entries for insert with check (
    village_code <@ (select vg.write_scope())
    and recorded_by = (select vg.account_id())
);

-- Inspections: the village and everyone above it read them; an inspector records only
-- its own reads of villages it may read.
create policy inspections_read on vg.inspections for select using (
    village_code <@ (select vg.read_scope())
);
create policy inspections_record on vg.inspections for insert with check (
    village_code <@ (select vg.read_scope())
    and account_id = (select vg.account_id())
);

create policy disclosure_rules_read on vg.disclosure_rules for select using (
    (select vg.read_scope()) && vg.subtree(city_code)
);
create policy channel_addresses_read on vg.channel_addresses for select using (
    account_id = (select vg.account_id())
);
