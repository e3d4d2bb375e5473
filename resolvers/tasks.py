"""Tasks (待办/督办): assigning, acknowledging, completing, reopening, listing, and the
worker's reminder and escalation scans.

Status is derived in SQL from `completed_at` and `due_at` at read time, never stored, so it
cannot go stale. Resolvers never decide visibility (RLS does); the scans run as the owner
role in the worker and take `now` from their caller, so tests control the clock.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import asyncpg

from villagegraph.models import from_record, from_records
from villagegraph.models.accounts import Grant
from villagegraph.models.inspections import DisclosureRule
from villagegraph.models.tasks import TaskBase, TaskReminder, TaskReopening, TaskRule
from villagegraph.resolvers.loaders import Loader, by_key, grouped
from villagegraph.resolvers.measure import Measure
from villagegraph.resolvers.notices import BOARD_LABELS
from villagegraph.resolvers.notifications import enqueue_notification
from villagegraph.tenants.session import ScopedSession

TASK_COLUMNS = (
    "t.id, t.assignee_code, t.issuer_code, t.issued_by, t.title, t.body, t.due_at, "
    "t.supervised, t.attachments, t.source_key, t.acknowledged_at, t.completed_at, "
    "t.completion_note, t.reopened_at, t.escalated_to, t.escalated_at, t.created_at, "
    "t.urge_count, t.last_urged_at, t.reopen_reason, t.relayed_from_unit, t.relayed_from, "
    "case when t.completed_at is not null then 'DONE' "
    "when t.due_at <= now() then 'OVERDUE' else 'OPEN' end as status"
)


class TaskWithStatus(TaskBase):
    """A task as TASK_COLUMNS reads it: its columns and the status derived at read time
    (OPEN, OVERDUE or DONE)."""

    status: str


class RelayCounts(NamedTuple):
    """A relayed task's parts: how many, done, and late."""

    relayed_from: int
    parts: int
    done: int
    late: int


# The SQL meaning of each TaskStatus at read time.
STATUS_FILTERS = {
    "OPEN": "t.completed_at is null and t.due_at > now()",
    "OVERDUE": "t.completed_at is null and t.due_at <= now()",
    "DONE": "t.completed_at is not null",
}

# Staff who act for a unit: its officials (towns and above) and cadres (villages).
UNIT_STAFF = "g.role in ('OFFICIAL', 'CADRE') and g.revoked_at is null"


def _filters(status: str | None) -> str:
    """$1-$2 the subtree; $3 the unit the tasks escalated to, or null for all."""
    clauses = ["t.assignee_code between $1 and $2", "($3::bigint is null or t.escalated_to = $3)"]
    if status is not None:
        clauses.append(STATUS_FILTERS[status])
    return " and ".join(clauses)


async def subtree_page(
    db: ScopedSession,
    unit: int,
    lo: int,
    hi: int,
    status: str | None,
    escalated_only: bool,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[TaskWithStatus]:
    """Tasks assigned inside a subtree, soonest due first (keyset on due_at, id)."""
    after_due, after_id = after or (None, None)
    rows = await db.fetch(
        f"""select {TASK_COLUMNS} from vg.tasks t
             where {_filters(status)}
               and ($4::timestamptz is null or (t.due_at, t.id) > ($4, $5))
             order by t.due_at, t.id
             limit $6""",
        lo,
        hi,
        unit if escalated_only else None,
        after_due,
        after_id,
        limit,
    )
    return from_records(TaskWithStatus, rows)


async def subtree_count(
    db: ScopedSession, unit: int, lo: int, hi: int, status: str | None, escalated_only: bool
) -> int:
    return int(
        await db.fetchval(
            f"select count(*) from vg.tasks t where {_filters(status)}",
            lo,
            hi,
            unit if escalated_only else None,
        )
    )


async def unit_staff(db: ScopedSession | asyncpg.Connection, units: list[int]) -> list[Grant]:
    """The grants (unit_code, account_id) of the staff acting for each unit."""
    rows = await db.fetch(
        f"""select g.unit_code, g.account_id from vg.grants g
             where g.unit_code = any($1::bigint[]) and {UNIT_STAFF}
             order by g.unit_code, g.account_id""",
        units,
    )
    return from_records(Grant, rows)


async def assign(
    db: ScopedSession,
    *,
    assignments: list[tuple[int, int]],
    title: str,
    body: str,
    due_at: datetime,
    supervised: bool,
    attachments: list[str],
    account_id: int | None,
    relayed_from: tuple[int, int] | None = None,
    source_key: str | None = None,
) -> list[TaskWithStatus]:
    """One task per (assignee, issuer); each assignee's staff are told in the same transaction.
    `relayed_from` (unit, task id) makes them parts of a relayed task; `source_key` names
    what raised them (e.g. `inspection:<id>`)."""
    relay_unit, relay_id = relayed_from or (None, None)
    records = await db.fetch(
        f"""insert into vg.tasks as t
                (assignee_code, issuer_code, issued_by, title, body, due_at, supervised,
                 attachments, relayed_from_unit, relayed_from, source_key)
            select a.assignee, a.issuer, $3, $4, $5, $6, $7, $8, $9, $10, $11
              from unnest($1::bigint[], $2::bigint[]) with ordinality as a (assignee, issuer, n)
             order by a.n
            returning {TASK_COLUMNS}""",
        [assignee for assignee, _ in assignments],
        [issuer for _, issuer in assignments],
        account_id,
        title,
        body,
        due_at,
        supervised,
        attachments,
        relay_unit,
        relay_id,
        source_key,
    )
    rows = from_records(TaskWithStatus, records)
    assignees = [assignee for assignee, _ in assignments]
    staff = grouped(await unit_staff(db, assignees), assignees, "unit_code")
    for row, recipients in zip(rows, staff, strict=True):
        await db.audit(
            "task.assign",
            row.assignee_code,
            "task",
            row.id,
            {
                "issuer": row.issuer_code,
                "title": title,
                "supervised": supervised,
                "relayed_from": relay_id,
                "source": source_key,
            },
        )
        for recipient in recipients:
            await enqueue_notification(
                db,
                kind="task.assigned",
                tenant=row.assignee_code,
                recipient_account=recipient.account_id,
                payload=task_payload(row),
                idempotency_key=f"task:{row.id}:assigned:{recipient.account_id}",
            )
    return rows


def task_payload(row: TaskBase) -> dict[str, Any]:
    return {
        "task": row.id,
        "title": row.title,
        "due_at": row.due_at.isoformat(),
        "supervised": row.supervised,
        "assignee": str(row.assignee_code),
        "issuer": str(row.issuer_code),
    }


async def acknowledge(db: ScopedSession, task: TaskWithStatus, account_id: int) -> TaskWithStatus:
    row = await db.fetchrow(
        f"""update vg.tasks t set acknowledged_at = coalesce(t.acknowledged_at, now()),
                                  acknowledged_by = coalesce(t.acknowledged_by, $3)
             where t.assignee_code = $1 and t.id = $2
            returning {TASK_COLUMNS}""",
        task.assignee_code,
        task.id,
        account_id,
    )
    assert row is not None  # the caller loaded it and acts for the assignee
    await db.audit("task.acknowledge", task.assignee_code, "task", task.id)
    return from_record(TaskWithStatus, row)


async def complete(
    db: ScopedSession, task: TaskWithStatus, account_id: int, note: str | None
) -> TaskWithStatus | None:
    record = await db.fetchrow(
        f"""update vg.tasks t set completed_at = now(), completed_by = $3, completion_note = $4,
                                  acknowledged_at = coalesce(t.acknowledged_at, now()),
                                  acknowledged_by = coalesce(t.acknowledged_by, $3)
             where t.assignee_code = $1 and t.id = $2 and t.completed_at is null
            returning {TASK_COLUMNS}""",
        task.assignee_code,
        task.id,
        account_id,
        note,
    )
    await db.audit("task.complete", task.assignee_code, "task", task.id, {"note": note})
    if record is None:
        return None
    row = from_record(TaskWithStatus, record)
    await db.fetchval("select vg.notify_task_done($1)", task.id)
    if row.relayed_from is not None:
        await db.fetchval("select vg.roll_up_relay($1)", task.id)
    return row


async def reopen(
    db: ScopedSession, task: TaskWithStatus, due_at: datetime, reason: str
) -> TaskWithStatus | None:
    """Open a done task again under a new due date, with the reason; the database keeps the
    completion it undid (vg.task_reopenings) and clears any escalation."""
    row = await db.fetchrow(
        f"""update vg.tasks t set completed_at = null, completed_by = null,
                                  completion_note = null, reopened_at = now(),
                                  due_at = $3, reopen_reason = $4
             where t.assignee_code = $1 and t.id = $2 and t.completed_at is not null
            returning {TASK_COLUMNS}""",
        task.assignee_code,
        task.id,
        due_at,
        reason,
    )
    await db.audit(
        "task.reopen",
        task.assignee_code,
        "task",
        task.id,
        {
            "reason": reason,
            "due_at": due_at.isoformat(),
            "previous_due_at": task.due_at.isoformat(),
        },
    )
    return None if row is None else from_record(TaskWithStatus, row)


async def urge(db: ScopedSession, task: TaskWithStatus, note: str | None) -> TaskWithStatus | None:
    """催办: count the urging on the task and tell the assignee's staff, once per urging."""
    record = await db.fetchrow(
        f"""update vg.tasks t set urge_count = t.urge_count + 1, last_urged_at = now()
             where t.assignee_code = $1 and t.id = $2 and t.completed_at is null
            returning {TASK_COLUMNS}""",
        task.assignee_code,
        task.id,
    )
    if record is None:
        return None
    row = from_record(TaskWithStatus, record)
    await db.audit(
        "task.urge",
        task.assignee_code,
        "task",
        task.id,
        {"note": note, "count": row.urge_count},
    )
    for recipient in await unit_staff(db, [row.assignee_code]):
        await enqueue_notification(
            db,
            kind="task.urged",
            tenant=row.assignee_code,
            recipient_account=recipient.account_id,
            payload={**task_payload(row), "note": note, "urge_count": row.urge_count},
            idempotency_key=f"task:{row.id}:urged:{row.urge_count}:{recipient.account_id}",
        )
    return row


# --- each city's rules, edited by the city's own officials --------------------------------

DEFAULT_REMIND_BEFORE = timedelta(hours=24)
DEFAULT_ESCALATE_AFTER = timedelta(days=3)


async def task_rules(db: ScopedSession, city: int) -> TaskRule | None:
    """The city's reminder and escalation timing, or None when it uses the defaults (or
    the caller may not read it)."""
    row = await db.fetchrow(
        "select city_code, remind_before, escalate_after from vg.task_rules where city_code = $1",
        city,
    )
    return None if row is None else from_record(TaskRule, row)


async def set_task_rules(
    db: ScopedSession, city: int, remind_before: timedelta, escalate_after: timedelta
) -> TaskRule:
    row = await db.fetchrow(
        """insert into vg.task_rules as r (city_code, remind_before, escalate_after)
           values ($1, $2, $3)
           on conflict (city_code) do update
              set remind_before = excluded.remind_before, escalate_after = excluded.escalate_after
           returning city_code, remind_before, escalate_after""",
        city,
        remind_before,
        escalate_after,
    )
    await db.audit(
        "task_rules.set",
        city,
        "task_rules",
        city,
        {
            "remind_before_hours": remind_before // timedelta(hours=1),
            "escalate_after_hours": escalate_after // timedelta(hours=1),
        },
    )
    assert row is not None  # an upsert returns its row
    return from_record(TaskRule, row)


DISCLOSURE_RULE_COLUMNS = (
    "city_code, board, period_months, deadline_offset_months, deadline_day, effective_from,"
    " remedy_days"
)


async def disclosure_rules(db: ScopedSession, city: int) -> list[DisclosureRule]:
    rows = await db.fetch(
        f"select {DISCLOSURE_RULE_COLUMNS} from vg.disclosure_rules where city_code = $1"
        " order by board",
        city,
    )
    return from_records(DisclosureRule, rows)


async def set_disclosure_rule(db: ScopedSession, rule: DisclosureRule) -> DisclosureRule:
    """Insert or replace the city's rule for one board (the compliance scan reads it)."""
    row = await db.fetchrow(
        f"""insert into vg.disclosure_rules ({DISCLOSURE_RULE_COLUMNS})
            values ($1, $2, $3, $4, $5, $6, $7)
            on conflict (city_code, board) do update
               set period_months = excluded.period_months,
                   deadline_offset_months = excluded.deadline_offset_months,
                   deadline_day = excluded.deadline_day,
                   effective_from = excluded.effective_from,
                   remedy_days = excluded.remedy_days
            returning {DISCLOSURE_RULE_COLUMNS}""",
        rule.city_code,
        rule.board,
        rule.period_months,
        rule.deadline_offset_months,
        rule.deadline_day,
        rule.effective_from,
        rule.remedy_days,
    )
    assert row is not None  # an upsert returns its row
    detail = {k: str(v) if k == "effective_from" else v for k, v in rule.model_dump().items()}
    await db.audit("disclosure_rules.set", rule.city_code, "disclosure_rules", rule.board, detail)
    return from_record(DisclosureRule, row)


class TaskByIdLoader(Loader[int, TaskWithStatus | None]):
    async def batch_load(self, keys: list[int]) -> list[TaskWithStatus | None]:
        rows = await self.db.fetch(
            f"select {TASK_COLUMNS} from vg.tasks t where t.id = any($1::bigint[])", keys
        )
        return by_key(from_records(TaskWithStatus, rows), keys, "id")


class RelayProgressByTaskIdLoader(Loader[int, RelayCounts | None]):
    """Per task, its relayed parts: how many, done, and late (done after their due date, or
    not done and past it)."""

    async def batch_load(self, keys: list[int]) -> list[RelayCounts | None]:
        rows = await self.db.fetch(
            """select t.relayed_from, count(*) as parts,
                      count(*) filter (where t.completed_at is not null) as done,
                      count(*) filter (where t.completed_at > t.due_at
                                          or (t.completed_at is null and t.due_at <= now())) as late
                 from vg.tasks t
                where t.relayed_from = any($1::bigint[])
                group by t.relayed_from""",
            keys,
        )
        return by_key([RelayCounts(**row) for row in rows], keys, "relayed_from")


class RelayedPartsByTaskIdLoader(Loader[int, list[TaskWithStatus]]):
    async def batch_load(self, keys: list[int]) -> list[list[TaskWithStatus]]:
        rows = await self.db.fetch(
            f"""select {TASK_COLUMNS} from vg.tasks t
                 where t.relayed_from = any($1::bigint[]) order by t.relayed_from, t.assignee_code""",
            keys,
        )
        return grouped(from_records(TaskWithStatus, rows), keys, "relayed_from")


class ReopeningsByTaskIdLoader(Loader[int, list[TaskReopening]]):
    async def batch_load(self, keys: list[int]) -> list[list[TaskReopening]]:
        rows = await self.db.fetch(
            """select task_id, reopened_at, reason, previous_due_at, previous_completed_at,
                      new_due_at
                 from vg.task_reopenings
                where task_id = any($1::bigint[]) order by task_id, reopened_at""",
            keys,
        )
        return grouped(from_records(TaskReopening, rows), keys, "task_id")


class RemindersByTaskIdLoader(Loader[int, list[TaskReminder]]):
    async def batch_load(self, keys: list[int]) -> list[list[TaskReminder]]:
        rows = await self.db.fetch(
            """select task_id, kind, sent_at from vg.task_reminders
                where task_id = any($1::bigint[]) order by task_id, sent_at, kind""",
            keys,
        )
        return grouped(from_records(TaskReminder, rows), keys, "task_id")


# The worker's scans. Each is one statement per kind of event: the reminder row is the
# once-only marker (its primary key), and the outbox rows for every staff member of the
# unit are written by the same statement, so a crash between the two cannot lose either.
# The open-task scans walk the partial index tasks_open_due.

_NOTIFY_ASSIGNEE_STAFF = f"""
insert into vg.outbox (tenant_code, kind, recipient_account, payload, idempotency_key)
select t.assignee_code, 'task.reminder', g.account_id,
       jsonb_build_object('task', t.id, 'title', t.title, 'due_at', t.due_at,
                          'supervised', t.supervised, 'assignee', t.assignee_code::text,
                          'issuer', t.issuer_code::text, 'reminder', r.kind),
       format('task:%s:%s:%s:%s', t.id, r.kind, extract(epoch from r.due_at)::bigint, g.account_id)
  from sent r
  join vg.tasks t on t.assignee_code = r.assignee_code and t.id = r.task_id
  join vg.grants g on g.unit_code = t.assignee_code and {UNIT_STAFF}
union all
-- 督办: the issuer's superior hears of a supervised task the moment it is overdue.
select t.assignee_code, 'task.supervised_overdue', g.account_id,
       jsonb_build_object('task', t.id, 'title', t.title, 'due_at', t.due_at,
                          'supervised', true, 'assignee', t.assignee_code::text,
                          'issuer', t.issuer_code::text, 'reminder', r.kind),
       format('task:%s:SUPERVISED:%s:%s', t.id, extract(epoch from r.due_at)::bigint, g.account_id)
  from sent r
  join vg.tasks t on t.assignee_code = r.assignee_code and t.id = r.task_id
  join vg.org_units issuer on issuer.code = t.issuer_code
  join vg.grants g on g.unit_code = issuer.parent_code and {UNIT_STAFF}
 where r.kind = 'OVERDUE' and t.supervised
on conflict (idempotency_key) do nothing
"""

# When each reminder is due; `rule` is the task's city's row of vg.task_rules, if any.
REMINDER_WINDOWS = {
    "DUE_SOON": "t.due_at > $1 and t.due_at <= $1 + coalesce(rule.remind_before, '24 hours')",
    "OVERDUE": "t.due_at <= $1",
}


async def remind_due_tasks(conn: asyncpg.Connection, now: datetime) -> int:
    """Remind the assignee's staff once before the due date and once when it passes; a
    supervised (督办) task's issuer's superior is told when it passes. Returns the number of
    notifications written."""
    sent = 0
    for kind, window in REMINDER_WINDOWS.items():
        status = await conn.execute(
            f"""with sent as (
                    insert into vg.task_reminders (assignee_code, task_id, kind, due_at, sent_at)
                    select t.assignee_code, t.id, $2, t.due_at, $1
                      from vg.tasks t
                      left join vg.task_rules rule
                        on rule.city_code = t.assignee_code - t.assignee_code % 100000000
                     where t.completed_at is null and {window}
                       and not exists (
                           select 1 from vg.task_reminders done
                            where done.assignee_code = t.assignee_code and done.task_id = t.id
                              and done.kind = $2 and done.due_at = t.due_at)
                    on conflict do nothing
                    returning assignee_code, task_id, kind, due_at
                )
                {_NOTIFY_ASSIGNEE_STAFF}""",
            now,
            kind,
        )
        sent += int(status.split()[-1])
    return sent


async def escalate_overdue_tasks(conn: asyncpg.Connection, now: datetime) -> int:
    """逾期时限较长的通知上级部门: tasks overdue longer than the city's `escalate_after`
    (3 days by default) escalate to the issuer's superior unit, once, and the staff of both
    the superior and the issuer are told.
    Tasks issued by the city itself have no superior and stay where they are. Returns the
    number of notifications written."""
    status = await conn.execute(
        f"""with escalated as (
                update vg.tasks t
                   set escalated_to = issuer.parent_code, escalated_at = $1
                  from vg.org_units issuer
                 where issuer.code = t.issuer_code and issuer.parent_code is not null
                   and t.completed_at is null and t.escalated_to is null
                   and t.due_at + coalesce(
                         (select rule.escalate_after from vg.task_rules rule
                           where rule.city_code = t.assignee_code - t.assignee_code % 100000000),
                         interval '3 days') <= $1
                returning t.assignee_code, t.id, t.due_at
            ), sent as (
                insert into vg.task_reminders (assignee_code, task_id, kind, due_at, sent_at)
                select assignee_code, id, 'ESCALATED', due_at, $1 from escalated
                on conflict do nothing
                returning assignee_code, task_id, kind, due_at
            )
            insert into vg.outbox (tenant_code, kind, recipient_account, payload, idempotency_key)
            select e.assignee_code, $2, g.account_id,
                   jsonb_build_object('task', t.id, 'title', t.title, 'due_at', t.due_at,
                                      'supervised', t.supervised,
                                      'assignee', t.assignee_code::text,
                                      'issuer', t.issuer_code::text,
                                      'escalated_to', issuer.parent_code::text),
                   format('task:%s:ESCALATED:%s:%s', t.id,
                          extract(epoch from e.due_at)::bigint, g.account_id)
              from sent e
              join vg.tasks t on t.assignee_code = e.assignee_code and t.id = e.task_id
              join vg.org_units issuer on issuer.code = t.issuer_code
              join vg.grants g on g.unit_code in (issuer.parent_code, t.issuer_code)
                              and {UNIT_STAFF}
            on conflict (idempotency_key) do nothing""",
        now,
        "task.escalated",
    )
    return int(status.split()[-1])


async def raise_disclosure_tasks(conn: asyncpg.Connection, now: datetime) -> int:
    """Disclosure compliance: every village without a disclosure of a rule's period on its
    board by a deadline that has passed (a notice declaring a month of that period,
    published before the deadline, not withdrawn, and signed off by the village's
    supervisory committee where it has one, issue 15) gets one supervised task from its
    town, once per missed period (the task's source key), and its staff are told. The task
    names the months that were due and the last day they were due by. Returns the number
    of tasks raised."""
    raised = await conn.fetchval(
        f"""with periods as (
                select r.city_code, r.board, r.remedy_days, to_char(p.start, 'YYYY-MM') as period,
                       p.start, r.period_months as months,
                       case when r.period_months = 1 then to_char(p.start, 'YYYY"年"FMMM"月"')
                            else to_char(p.start, 'YYYY"年"FMMM') || '–'
                                 || to_char(p.start + make_interval(months => r.period_months - 1),
                                            'FMMM"月"')
                       end as label,
                       ((p.start + make_interval(months => r.deadline_offset_months,
                                                 days => r.deadline_day))::timestamp
                           at time zone 'Asia/Shanghai') as deadline
                  from vg.disclosure_rules r
                 cross join lateral generate_series(
                       make_date(extract(year from r.effective_from)::int,
                                 ((extract(month from r.effective_from)::int - 1)
                                   / r.period_months) * r.period_months + 1, 1),
                       ($1 at time zone 'Asia/Shanghai')::date,
                       make_interval(months => r.period_months)) as p (start)
            ), missed as (
                select v.code as village, v.parent_code as town, p.*,
                       to_char(p.deadline at time zone 'Asia/Shanghai' - interval '1 day',
                               'YYYY-MM-DD') as due
                  from periods p
                  join vg.org_units v
                    on v.code between p.city_code and vg.subtree_end(p.city_code)
                   and v.level = 'VILLAGE' and v.parent_code is not null
                   and v.valid_from <= p.deadline::date
                   and (v.valid_to is null or v.valid_to > p.deadline::date)
                 where p.deadline <= $1
                   and p.deadline > $1 - interval '1 year'
                   and not exists (
                       select 1 from vg.notices n
                        where n.publisher_code = v.code and n.board = p.board
                          and n.period >= p.period
                          and n.period < to_char(p.start + make_interval(months => p.months),
                                                 'YYYY-MM')
                          and n.withdrawn_at is null
                          and n.published_at < p.deadline
                          -- signed off by the supervisory committee, where it has one
                          and vg.disclosure_counts(n.publisher_code, n.id))
            ), raised as (
                insert into vg.tasks (assignee_code, issuer_code, title, body, due_at,
                                      supervised, source_key)
                select m.village, m.town,
                       format('%s逾期未公开：%s（应于%s前公开）', $2::jsonb ->> m.board,
                              m.label, m.due),
                       format('按规定，%s的%s应于%s（含当日）前发布并注明所公开的期间；'
                              '截至检查时未见声明该期间的公开。请尽快补发并说明原因。',
                              m.label, $2::jsonb ->> m.board, m.due),
                       $1 + make_interval(days => m.remedy_days), true,
                       format('disclosure:%s:%s', m.board, m.period)
                  from missed m
                on conflict (assignee_code, source_key) where source_key is not null do nothing
                returning id, assignee_code, issuer_code, title, due_at
            ), notified as (
            insert into vg.outbox (tenant_code, kind, recipient_account, payload, idempotency_key)
            select t.assignee_code, 'task.assigned', g.account_id,
                   jsonb_build_object('task', t.id, 'title', t.title, 'due_at', t.due_at,
                                      'supervised', true, 'assignee', t.assignee_code::text,
                                      'issuer', t.issuer_code::text),
                   format('task:%s:assigned:%s', t.id, g.account_id)
              from raised t
              join vg.grants g on g.unit_code = t.assignee_code and {UNIT_STAFF}
            on conflict (idempotency_key) do nothing
            returning 1
            )
            select count(*) from raised""",
        now,
        json.dumps(BOARD_LABELS, ensure_ascii=False),
    )
    return int(raised)


# --- analytics measures (resolvers/analytics.py) ---------------------------------------

TASKS = Measure(
    name="TASKS",
    description="Tasks (待办/督办) by assignee unit, when assigned; category: supervised"
    " (督办) or not.",
    source="vg.tasks t",
    tenant="t.assignee_code",
    time="t.created_at",
    category="case when t.supervised then 'SUPERVISED' else 'ROUTINE' end",
)


TASKS_COMPLETED_LATE = Measure(
    name="TASKS_COMPLETED_LATE",
    description="Tasks completed after their due date, by assignee unit and completion"
    " time; category: supervised or not.",
    source="vg.tasks t",
    tenant="t.assignee_code",
    time="t.completed_at",
    category="case when t.supervised then 'SUPERVISED' else 'ROUTINE' end",
    value="count(*) filter (where t.completed_at > t.due_at)",
)
