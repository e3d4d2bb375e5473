"""Tasks (待办/督办): superiors assign work to units inside their subtree; the assignee's
staff acknowledge and complete it; the issuer's side may reopen it. Reminders and
escalation are raised by the worker (villagegraph/worker) and shown here.

Status is derived at read time (OVERDUE once the due date passes), so it is never stale.
Reading a village's tasks from outside the village is recorded as an inspection (远程验收).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

import strawberry

from villagegraph import resolvers
from villagegraph.errors import BadUserInput, Conflict, Forbidden, NotFound
from villagegraph.resolvers.inspections import record_inspection
from villagegraph.resolvers.tasks import RemindersByTaskIdLoader, TaskByIdLoader
from villagegraph.schema.context import Info, require_principal
from villagegraph.schema.hierarchy import OrgUnit, load_unit, require_unit, subtree_bounds
from villagegraph.schema.inputs import division_code, record_id, text
from villagegraph.schema.pagination import Connection, Keyset, Page
from villagegraph.tenants.hierarchy import contains
from villagegraph.tenants.principal import STAFF_ROLES, Principal

MAX_ASSIGNEES = 100
MAX_ATTACHMENTS = 10


# The sort key, and so the cursor, of the connection field below (schema/pagination.py).
TASK_ORDER = Keyset(("due_at", datetime), ("id", int))


@strawberry.enum(description="OVERDUE is derived from the due date when read.")
class TaskStatus(Enum):
    OPEN = "OPEN"
    DONE = "DONE"
    OVERDUE = "OVERDUE"


@strawberry.enum
class ReminderKind(Enum):
    DUE_SOON = "DUE_SOON"  # before the due date
    OVERDUE = "OVERDUE"  # when it passed
    ESCALATED = "ESCALATED"  # 逾期时限较长的通知上级部门


@strawberry.type
class TaskReminder:
    kind: ReminderKind
    sent_at: datetime


@strawberry.type(description="待办/督办: one unit's copy of an assignment.")
class Task:
    id: strawberry.ID
    title: str
    body: str
    due_at: datetime
    status: TaskStatus
    supervised: bool = strawberry.field(description="督办: followed by the issuer.")
    attachments: list[str] = strawberry.field(description="Links to attached documents.")
    acknowledged_at: datetime | None
    completed_at: datetime | None
    completion_note: str | None
    reopened_at: datetime | None
    escalated_at: datetime | None
    created_at: datetime
    from_disclosure_check: bool = strawberry.field(
        description="Raised by the disclosure-compliance check, not by a person."
    )
    issuer_code: strawberry.Private[int]
    assignee_code: strawberry.Private[int]
    escalated_code: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: Any) -> Task:
        return cls(
            id=strawberry.ID(str(row["id"])),
            title=row["title"],
            body=row["body"],
            due_at=row["due_at"],
            status=TaskStatus(row["status"]),
            supervised=row["supervised"],
            attachments=list(row["attachments"]),
            acknowledged_at=row["acknowledged_at"],
            completed_at=row["completed_at"],
            completion_note=row["completion_note"],
            reopened_at=row["reopened_at"],
            escalated_at=row["escalated_at"],
            created_at=row["created_at"],
            from_disclosure_check=(row["source_key"] or "").startswith("disclosure:"),
            issuer_code=row["issuer_code"],
            assignee_code=row["assignee_code"],
            escalated_code=row["escalated_to"],
        )

    @strawberry.field(description="The unit that assigned the task.")
    async def issuer(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.issuer_code)
        assert unit is not None
        return unit

    @strawberry.field(description="The unit that must do it.")
    async def assignee(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.assignee_code)
        assert unit is not None
        return unit

    @strawberry.field(description="The issuer's superior, once the task was long overdue.")
    async def escalated_to(self, info: Info) -> OrgUnit | None:
        if self.escalated_code is None:
            return None
        return await load_unit(info, self.escalated_code)

    @strawberry.field(description="Reminders sent to the assignee's staff, oldest first.")
    async def reminders(self, info: Info) -> list[TaskReminder]:
        rows = await info.context.loader(RemindersByTaskIdLoader).load(int(self.id))
        return [TaskReminder(kind=ReminderKind(r["kind"]), sent_at=r["sent_at"]) for r in rows]


TaskConnection = Connection[Task]


@strawberry.input
class AssignTaskInput:
    assignees: list[strawberry.ID]
    title: str
    body: str
    due_at: datetime
    supervised: bool | None = False
    attachments: list[str] | None = None


def attachment_links(values: list[str] | None, argument: str = "attachments") -> list[str]:
    """Attachments are links (http or https), not uploads."""
    links = []
    for value in values or []:
        link = text(value, argument, max_length=1000)
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BadUserInput(f"`{argument}` must be http(s) links.", argument=argument)
        links.append(link)
    if len(links) > MAX_ATTACHMENTS:
        raise BadUserInput(
            f"`{argument}` may hold at most {MAX_ATTACHMENTS} links.", argument=argument
        )
    return links


def _future(value: datetime, argument: str) -> datetime:
    if value.tzinfo is None:
        raise BadUserInput(f"`{argument}` needs a time zone offset.", argument=argument)
    if value <= datetime.now(UTC):
        raise BadUserInput(f"`{argument}` must be in the future.", argument=argument)
    return value


def issuer_for(principal: Principal, assignee: int) -> int | None:
    """The caller's nearest unit strictly above the assignee, where it is staff."""
    above = [
        g.unit
        for g in principal.grants
        if g.role in STAFF_ROLES and g.unit != assignee and contains(g.unit, assignee)
    ]
    return max(above) if above else None


def acts_for_assignee(principal: Principal, task: Any) -> bool:
    """Staff of the assignee's side: inside the assignee's unit, not on the issuer's side."""
    return any(
        g.role in STAFF_ROLES
        and contains(task["assignee_code"], g.unit)
        and not contains(g.unit, task["issuer_code"])
        for g in principal.grants
    )


def acts_for_issuer(principal: Principal, task: Any) -> bool:
    return any(
        g.role in STAFF_ROLES and contains(g.unit, task["issuer_code"]) for g in principal.grants
    )


async def _task(info: Info, id: strawberry.ID) -> Any:
    row = await info.context.loader(TaskByIdLoader).load(record_id(id))
    if row is None:
        raise NotFound("No such task, or it is not visible to you.", argument="id")
    return row


async def inspect_tasks(info: Info, unit: int, rows: list[Any]) -> None:
    principal = await info.context.db.principal()
    if principal is None:
        return
    await record_inspection(
        info.context.db,
        principal,
        subject="TASKS",
        queried_unit=unit,
        villages={row["assignee_code"] for row in rows} | {unit},
    )


@strawberry.type
class TaskQuery:
    @strawberry.field(
        description="Tasks assigned inside a unit's subtree, soonest due first. "
        "`escalated: true` keeps those escalated to this unit."
    )
    async def tasks(
        self,
        info: Info,
        unit: strawberry.ID,
        status: TaskStatus | None = None,
        escalated: bool | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Task]:
        page = Page(TASK_ORDER, first, after)
        code = division_code(unit)
        lo, hi = subtree_bounds(code)
        status_value = status.value if status else None
        db = info.context.db
        rows = await resolvers.tasks.subtree_page(
            db, code, lo, hi, status_value, bool(escalated), page.after, page.limit
        )
        await inspect_tasks(info, code, page.rows(rows))
        return page.connection(
            rows,
            Task.from_row,
            lambda: resolvers.tasks.subtree_count(db, code, lo, hi, status_value, bool(escalated)),
        )

    @strawberry.field(description="One task, when the caller can see it.")
    async def task(self, info: Info, id: strawberry.ID) -> Task | None:
        row = await info.context.loader(TaskByIdLoader).load(record_id(id))
        if row is None:
            return None
        await inspect_tasks(info, row["assignee_code"], [row])
        return Task.from_row(row)


@strawberry.type
class TaskMutation:
    @strawberry.mutation(description="Assign a task to units inside the caller's subtree.")
    async def assign_task(self, info: Info, input: AssignTaskInput) -> list[Task]:
        principal = await require_principal(info, "assign tasks")
        assignees = list(
            dict.fromkeys(division_code(a, "assignees") for a in input.assignees or [])
        )
        if not assignees or len(assignees) > MAX_ASSIGNEES:
            raise BadUserInput(
                f"`assignees` must name 1 to {MAX_ASSIGNEES} units.", argument="assignees"
            )
        title = text(input.title, "title", max_length=200)
        body = text(input.body, "body", max_length=20000)
        due_at = _future(input.due_at, "dueAt")
        attachments = attachment_links(input.attachments)
        assignments = []
        for assignee in assignees:
            await require_unit(info, assignee, "assignees")
            issuer = issuer_for(principal, assignee)
            if issuer is None:
                raise Forbidden(
                    f"Unit {assignee} is outside your subtree; assign tasks only to units "
                    "below the ones you serve.",
                    argument="assignees",
                )
            assignments.append((assignee, issuer))
        rows = await resolvers.tasks.assign(
            info.context.db,
            assignments=assignments,
            title=title,
            body=body,
            due_at=due_at,
            supervised=bool(input.supervised),
            attachments=attachments,
            account_id=principal.account_id,
        )
        return [Task.from_row(row) for row in rows]

    @strawberry.mutation(description="The assignee's staff confirm they received the task.")
    async def acknowledge_task(self, info: Info, id: strawberry.ID) -> Task:
        principal = await require_principal(info, "acknowledge tasks")
        task = await _task(info, id)
        if not acts_for_assignee(principal, task):
            raise Forbidden("Only staff of the assigned unit may acknowledge this task.")
        return Task.from_row(
            await resolvers.tasks.acknowledge(info.context.db, task, principal.account_id)
        )

    @strawberry.mutation(description="The assignee's staff complete the task, with a note.")
    async def complete_task(self, info: Info, id: strawberry.ID, note: str | None = None) -> Task:
        principal = await require_principal(info, "complete tasks")
        task = await _task(info, id)
        if not acts_for_assignee(principal, task):
            raise Forbidden("Only staff of the assigned unit may complete this task.")
        if task["completed_at"] is not None:
            raise Conflict("This task is already done.")
        cleaned = None if note is None else text(note, "note", max_length=2000, required=False)
        row = await resolvers.tasks.complete(
            info.context.db, task, principal.account_id, cleaned or None
        )
        if row is None:
            raise Conflict("This task is already done.")
        return Task.from_row(row)

    @strawberry.mutation(description="The issuer's side reopens a done task, optionally re-dated.")
    async def reopen_task(
        self,
        info: Info,
        id: strawberry.ID,
        due_at: datetime | None = None,
        note: str | None = None,
    ) -> Task:
        principal = await require_principal(info, "reopen tasks")
        task = await _task(info, id)
        if not acts_for_issuer(principal, task):
            raise Forbidden("Only the issuing unit or its superiors may reopen this task.")
        if task["completed_at"] is None:
            raise Conflict("This task is not done; there is nothing to reopen.")
        new_due = None if due_at is None else _future(due_at, "dueAt")
        cleaned = None if note is None else text(note, "note", max_length=2000, required=False)
        row = await resolvers.tasks.reopen(info.context.db, task, new_due, cleaned or None)
        if row is None:
            raise Conflict("This task is not done; there is nothing to reopen.")
        return Task.from_row(row)
