"""Tasks (待办/督办): superiors assign work to units inside their subtree; the assignee's
staff acknowledge and complete it, or relay it to the units below them (progress rolls up);
the issuer's side urges (催办) and may reopen it with a new due date and a reason. Reminders
and escalation are raised by the worker (villagegraph/worker) and shown here; each city's
officials edit their city's reminder, escalation and disclosure rules.

Status is derived at read time (OVERDUE once the due date passes), so it is never stale.
Reading a village's tasks from outside the village is recorded as an inspection (远程验收).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import Enum
from urllib.parse import urlsplit

import strawberry

from villagegraph import resolvers
from villagegraph.errors import BadUserInput, Conflict, Forbidden, NotFound
from villagegraph.models.inspections import DisclosureRule as DisclosureRuleRow
from villagegraph.models.tasks import TaskRule
from villagegraph.resolvers.inspections import record_inspection
from villagegraph.resolvers.tasks import (
    DEFAULT_ESCALATE_AFTER,
    DEFAULT_REMIND_BEFORE,
    RelayedPartsByTaskIdLoader,
    RelayProgressByTaskIdLoader,
    RemindersByTaskIdLoader,
    ReopeningsByTaskIdLoader,
    TaskByIdLoader,
    TaskWithStatus,
)
from villagegraph.schema.context import Info
from villagegraph.schema.guards import LoggedIn, authorize, caller, guarded, permits, require_caller
from villagegraph.schema.hierarchy import OrgUnit, load_unit, require_unit, subtree_bounds
from villagegraph.schema.inputs import division_code, record_id, text
from villagegraph.schema.notices import Board
from villagegraph.schema.pagination import Connection, Keyset, Page
from villagegraph.tenants.hierarchy import Level, contains, level_of
from villagegraph.tenants.principal import Principal

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


@strawberry.type(description="A reopening of a done task, with the completion it undid.")
class TaskReopening:
    reopened_at: datetime
    reason: str
    previous_due_at: datetime
    previous_completed_at: datetime
    new_due_at: datetime

    @strawberry.field(description="The undone completion came after its due date.")
    def completed_late(self) -> bool:
        return self.previous_completed_at > self.previous_due_at


@strawberry.type(description="Progress of a relayed task's parts (转办 to the units below).")
class RelayProgress:
    parts: int
    done: int
    late: int = strawberry.field(
        description="Parts done after their due date, or not done and past it."
    )


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
    urge_count: int = strawberry.field(description="催办: times the issuing side urged it.")
    last_urged_at: datetime | None
    reopen_reason: str | None = strawberry.field(description="Why it was last reopened.")
    from_disclosure_check: bool = strawberry.field(
        description="Raised by the disclosure-compliance check, not by a person."
    )
    issuer_code: strawberry.Private[int]
    assignee_code: strawberry.Private[int]
    escalated_code: strawberry.Private[int | None]
    relayed_from_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: TaskWithStatus) -> Task:
        return cls(
            id=strawberry.ID(str(row.id)),
            title=row.title,
            body=row.body,
            due_at=row.due_at,
            status=TaskStatus(row.status),
            supervised=row.supervised,
            attachments=list(row.attachments),
            acknowledged_at=row.acknowledged_at,
            completed_at=row.completed_at,
            completion_note=row.completion_note,
            reopened_at=row.reopened_at,
            escalated_at=row.escalated_at,
            created_at=row.created_at,
            urge_count=row.urge_count,
            last_urged_at=row.last_urged_at,
            reopen_reason=row.reopen_reason,
            from_disclosure_check=(row.source_key or "").startswith("disclosure:"),
            issuer_code=row.issuer_code,
            assignee_code=row.assignee_code,
            escalated_code=row.escalated_to,
            relayed_from_id=row.relayed_from,
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
        return [TaskReminder(kind=ReminderKind(r.kind), sent_at=r.sent_at) for r in rows]

    @strawberry.field(description="The task this one was relayed from, when visible.")
    async def relayed_from(self, info: Info) -> Task | None:
        if self.relayed_from_id is None:
            return None
        row = await info.context.loader(TaskByIdLoader).load(self.relayed_from_id)
        return None if row is None else Task.from_row(row)

    @strawberry.field(description="The parts this task was relayed to, by assignee.")
    async def relayed_parts(self, info: Info) -> list[Task]:
        rows = await info.context.loader(RelayedPartsByTaskIdLoader).load(int(self.id))
        return [Task.from_row(row) for row in rows]

    @strawberry.field(
        description="Progress of the relayed parts; null when not relayed. The task is done "
        "when all its parts are."
    )
    async def relay(self, info: Info) -> RelayProgress | None:
        row = await info.context.loader(RelayProgressByTaskIdLoader).load(int(self.id))
        if row is None:
            return None
        return RelayProgress(parts=row.parts, done=row.done, late=row.late)

    @strawberry.field(description="Each reopening, oldest first, with the completion it undid.")
    async def reopenings(self, info: Info) -> list[TaskReopening]:
        rows = await info.context.loader(ReopeningsByTaskIdLoader).load(int(self.id))
        return [
            TaskReopening(
                reopened_at=r.reopened_at,
                reason=r.reason,
                previous_due_at=r.previous_due_at,
                previous_completed_at=r.previous_completed_at,
                new_due_at=r.new_due_at,
            )
            for r in rows
        ]


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


def future_time(value: datetime, argument: str) -> datetime:
    if value.tzinfo is None:
        raise BadUserInput(f"`{argument}` needs a time zone offset.", argument=argument)
    if value <= datetime.now(UTC):
        raise BadUserInput(f"`{argument}` must be in the future.", argument=argument)
    return value


async def _task(info: Info, id: strawberry.ID) -> TaskWithStatus:
    row = await info.context.loader(TaskByIdLoader).load(record_id(id))
    if row is None:
        raise NotFound("No such task, or it is not visible to you.", argument="id")
    return row


async def inspect_tasks(info: Info, unit: int, rows: list[TaskWithStatus]) -> None:
    principal = await caller(info)
    if principal is None:
        return
    await record_inspection(
        info.context.db,
        principal,
        subject="TASKS",
        queried_unit=unit,
        villages={row.assignee_code for row in rows} | {unit},
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
        await inspect_tasks(info, row.assignee_code, [row])
        return Task.from_row(row)


@strawberry.type
class TaskMutation:
    @strawberry.mutation(
        description="Assign a task to units inside the caller's subtree.",
        extensions=guarded(LoggedIn("assign tasks")),
    )
    async def assign_task(self, info: Info, input: AssignTaskInput) -> list[Task]:
        principal = await require_caller(info)
        assignees = list(
            dict.fromkeys(division_code(a, "assignees") for a in input.assignees or [])
        )
        if not assignees or len(assignees) > MAX_ASSIGNEES:
            raise BadUserInput(
                f"`assignees` must name 1 to {MAX_ASSIGNEES} units.", argument="assignees"
            )
        title = text(input.title, "title", max_length=200)
        body = text(input.body, "body", max_length=20000)
        due_at = future_time(input.due_at, "dueAt")
        attachments = attachment_links(input.attachments)
        assignments = []
        for assignee in assignees:
            await require_unit(info, assignee, "assignees")
            await authorize(
                info,
                Principal.issues_to,
                assignee,
                refusal=f"Unit {assignee} is outside your subtree; assign tasks only to units "
                "below the ones you serve.",
                argument="assignees",
            )
            assignments.append((assignee, principal.issuer_for(assignee)))
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

    @strawberry.mutation(
        description="The assignee's staff confirm they received the task.",
        extensions=guarded(LoggedIn("acknowledge tasks")),
    )
    async def acknowledge_task(self, info: Info, id: strawberry.ID) -> Task:
        task = await _task(info, id)
        principal = await authorize(
            info,
            Principal.acts_for_assignee,
            task.assignee_code,
            task.issuer_code,
            refusal="Only staff of the assigned unit may acknowledge this task.",
        )
        return Task.from_row(
            await resolvers.tasks.acknowledge(info.context.db, task, principal.account_id)
        )

    @strawberry.mutation(
        description="The assignee's staff complete the task, with a note.",
        extensions=guarded(LoggedIn("complete tasks")),
    )
    async def complete_task(self, info: Info, id: strawberry.ID, note: str | None = None) -> Task:
        task = await _task(info, id)
        principal = await authorize(
            info,
            Principal.acts_for_assignee,
            task.assignee_code,
            task.issuer_code,
            refusal="Only staff of the assigned unit may complete this task.",
        )
        if task.completed_at is not None:
            raise Conflict("This task is already done.")
        if await info.context.loader(RelayProgressByTaskIdLoader).load(task.id) is not None:
            raise Conflict("This task was relayed; it is done when all its parts are.")
        cleaned = None if note is None else text(note, "note", max_length=2000, required=False)
        row = await resolvers.tasks.complete(
            info.context.db, task, principal.account_id, cleaned or None
        )
        if row is None:
            raise Conflict("This task is already done.")
        return Task.from_row(row)

    @strawberry.mutation(
        description="The issuing side reopens a done task under a new due date (required, in "
        "the future) with a reason (required; `note` is its older name). The completion it "
        "undoes stays on record in `reopenings`; escalation counts from the new due date.",
        extensions=guarded(LoggedIn("reopen tasks")),
    )
    async def reopen_task(
        self,
        info: Info,
        id: strawberry.ID,
        due_at: datetime | None = None,
        note: str | None = None,
        reason: str | None = None,
    ) -> Task:
        task = await _task(info, id)
        await authorize(
            info,
            Principal.acts_for_issuer,
            task.issuer_code,
            refusal="Only the issuing unit or its superiors may reopen this task.",
        )
        if due_at is None:
            raise BadUserInput("Give the reopened task a new due date (`dueAt`).", argument="dueAt")
        new_due = future_time(due_at, "dueAt")
        why = text(reason if reason is not None else note or "", "reason", max_length=2000)
        if task.completed_at is None:
            raise Conflict("This task is not done; there is nothing to reopen.")
        row = await resolvers.tasks.reopen(info.context.db, task, new_due, why)
        if row is None:
            raise Conflict("This task is not done; there is nothing to reopen.")
        return Task.from_row(row)

    @strawberry.mutation(
        description="催办: the issuing side urges an open task; its assignee's staff are told "
        "and the urging is counted (`urgeCount`).",
        extensions=guarded(LoggedIn("urge tasks")),
    )
    async def urge_task(self, info: Info, id: strawberry.ID, note: str | None = None) -> Task:
        cleaned = None if note is None else text(note, "note", max_length=500, required=False)
        task = await _task(info, id)
        await authorize(
            info,
            Principal.acts_for_issuer,
            task.issuer_code,
            refusal="Only the issuing unit or its superiors may urge this task.",
        )
        if task.completed_at is not None:
            raise Conflict("This task is already done.")
        row = await resolvers.tasks.urge(info.context.db, task, cleaned or None)
        if row is None:
            raise Conflict("This task is already done.")
        return Task.from_row(row)

    @strawberry.mutation(
        description="转办: the assignee hands its task on to units below it, one part each "
        "(due by the task's due date unless `dueAt` is earlier). The task is done when all "
        "its parts are; `relay` shows the progress.",
        extensions=guarded(LoggedIn("relay tasks")),
    )
    async def relay_task(
        self,
        info: Info,
        id: strawberry.ID,
        assignees: list[strawberry.ID],
        due_at: datetime | None = None,
    ) -> list[Task]:
        units = list(dict.fromkeys(division_code(a, "assignees") for a in assignees))
        if not units or len(units) > MAX_ASSIGNEES:
            raise BadUserInput(
                f"`assignees` must name 1 to {MAX_ASSIGNEES} units.", argument="assignees"
            )
        task = await _task(info, id)
        principal = await authorize(
            info,
            Principal.relays_for,
            task.assignee_code,
            task.issuer_code,
            refusal="Only the assigned unit's own staff may relay this task.",
        )
        if task.completed_at is not None:
            raise Conflict("This task is already done.")
        part_due = task.due_at if due_at is None else future_time(due_at, "dueAt")
        if part_due > task.due_at:
            raise BadUserInput("Parts may not be due after the task itself.", argument="dueAt")
        unit = task.assignee_code
        for code in units:
            await require_unit(info, code, "assignees")
            if code == unit or not contains(unit, code):
                raise Forbidden(
                    f"Unit {code} is not below {unit}; relay only to its own units.",
                    argument="assignees",
                )
        parts = await info.context.loader(RelayedPartsByTaskIdLoader).load(task.id)
        if {part.assignee_code for part in parts} & set(units):
            raise Conflict("A unit named already holds a part of this task.")
        rows = await resolvers.tasks.assign(
            info.context.db,
            assignments=[(code, unit) for code in units],
            title=task.title,
            body=task.body,
            due_at=part_due,
            supervised=task.supervised,
            attachments=list(task.attachments),
            account_id=principal.account_id,
            relayed_from=(unit, task.id),
        )
        return [Task.from_row(row) for row in rows]


# --- each city's rules ------------------------------------------------------------------

MAX_REMIND_BEFORE_HOURS = 30 * 24
MAX_ESCALATE_AFTER_HOURS = 90 * 24
PERIOD_MONTHS = (1, 2, 3, 4, 6, 12)


@strawberry.type(description="A city's reminder and escalation timing (defaults when unset).")
class TaskRules:
    remind_before_hours: int = strawberry.field(description="The due-soon reminder, hours ahead.")
    escalate_after_hours: int = strawberry.field(
        description="Hours overdue before a task escalates to the issuer's superior."
    )
    is_default: bool
    city_code: strawberry.Private[int]

    @strawberry.field
    async def city(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.city_code)
        assert unit is not None
        return unit


@strawberry.input
class TaskRulesInput:
    city: strawberry.ID
    remind_before_hours: int
    escalate_after_hours: int


@strawberry.type(description="When a board must be disclosed in a city (公开时限), per period.")
class DisclosureRule:
    board: Board
    period_months: int
    deadline_offset_months: int = strawberry.field(
        description="Months after the period's start of the deadline's month."
    )
    deadline_day: int
    effective_from: date
    remedy_days: int = strawberry.field(description="Days a late village gets to catch up.")


@strawberry.input
class DisclosureRuleInput:
    city: strawberry.ID
    board: Board
    period_months: int
    deadline_offset_months: int
    deadline_day: int
    effective_from: date
    remedy_days: int | None = 5


def _hours(value: timedelta) -> int:
    return int(value // timedelta(hours=1))


def _rules(city: int, row: TaskRule | None) -> TaskRules:
    if row is None:
        return TaskRules(
            remind_before_hours=_hours(DEFAULT_REMIND_BEFORE),
            escalate_after_hours=_hours(DEFAULT_ESCALATE_AFTER),
            is_default=True,
            city_code=city,
        )
    return TaskRules(
        remind_before_hours=_hours(row.remind_before),
        escalate_after_hours=_hours(row.escalate_after),
        is_default=False,
        city_code=city,
    )


def _disclosure_rule(row: DisclosureRuleRow) -> DisclosureRule:
    return DisclosureRule(
        board=Board(row.board),
        period_months=row.period_months,
        deadline_offset_months=row.deadline_offset_months,
        deadline_day=row.deadline_day,
        effective_from=row.effective_from,
        remedy_days=row.remedy_days,
    )


async def _city_of_caller(info: Info, city: strawberry.ID) -> int:
    """The city a rule change is for; only the city's own officials change its rules."""
    code = division_code(city, "city")
    if level_of(code) is not Level.CITY:
        raise BadUserInput("`city` must name a city (市).", argument="city")
    await authorize(
        info,
        Principal.is_staff_of,
        code,
        refusal="Only the city's own officials set its rules.",
        argument="city",
    )
    return code


def _within(value: int, low: int, high: int, argument: str) -> int:
    if not low <= value <= high:
        raise BadUserInput(f"`{argument}` must be between {low} and {high}.", argument=argument)
    return value


@strawberry.type
class TaskRuleQuery:
    @strawberry.field(description="A city's reminder and escalation timing, for its staff.")
    async def task_rules(self, info: Info, city: strawberry.ID) -> TaskRules | None:
        code = division_code(city, "city")
        if not await permits(info, Principal.has_grant_within, code):
            return None
        return _rules(code, await resolvers.tasks.task_rules(info.context.db, code))

    @strawberry.field(description="A city's disclosure deadlines per board, for its staff.")
    async def disclosure_rules(self, info: Info, city: strawberry.ID) -> list[DisclosureRule]:
        rows = await resolvers.tasks.disclosure_rules(info.context.db, division_code(city, "city"))
        return [_disclosure_rule(row) for row in rows]


@strawberry.type
class TaskRuleMutation:
    @strawberry.mutation(
        description="The city's officials set its reminder and escalation timing.",
        extensions=guarded(LoggedIn("set task rules")),
    )
    async def set_task_rules(self, info: Info, input: TaskRulesInput) -> TaskRules:
        city = await _city_of_caller(info, input.city)
        remind = _within(input.remind_before_hours, 1, MAX_REMIND_BEFORE_HOURS, "remindBeforeHours")
        escalate = _within(
            input.escalate_after_hours, 1, MAX_ESCALATE_AFTER_HOURS, "escalateAfterHours"
        )
        row = await resolvers.tasks.set_task_rules(
            info.context.db, city, timedelta(hours=remind), timedelta(hours=escalate)
        )
        return _rules(city, row)

    @strawberry.mutation(
        description="The city's officials set one board's disclosure deadline.",
        extensions=guarded(LoggedIn("set disclosure rules")),
    )
    async def set_disclosure_rules(self, info: Info, input: DisclosureRuleInput) -> DisclosureRule:
        city = await _city_of_caller(info, input.city)
        if input.period_months not in PERIOD_MONTHS:
            raise BadUserInput(
                f"`periodMonths` must be one of {', '.join(map(str, PERIOD_MONTHS))}.",
                argument="periodMonths",
            )
        rule = DisclosureRuleRow(
            city_code=city,
            board=input.board.value,
            period_months=input.period_months,
            deadline_offset_months=_within(
                input.deadline_offset_months, 0, 12, "deadlineOffsetMonths"
            ),
            deadline_day=_within(input.deadline_day, 1, 28, "deadlineDay"),
            effective_from=input.effective_from,
            remedy_days=_within(
                5 if input.remedy_days is None else input.remedy_days, 1, 90, "remedyDays"
            ),
        )
        return _disclosure_rule(await resolvers.tasks.set_disclosure_rule(info.context.db, rule))
