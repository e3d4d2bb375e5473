"""Village democracy around the vote (part of the consultations domain): villagers'
proposals and their supporters (Organic Law art. 21), the 村务监督委员会's sign-offs and
objections (arts. 32-33), the execution of resolutions (milestones, links, the year-end
民主评议), and the worker's scan that turns what is due into supervised tasks.

The database decides what matters: the supporter threshold and its count
(vg.proposal_support), who may sign off (a supervisor in office, RLS), which resolution
may be carried out (vg.execution_check), that ratings are secret and tallied only after
the review closed (vg.execution_review_tally). Tasks are created through
resolvers.tasks.assign, never with SQL of their own here. This module never decides who
may see a row; RLS does.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import NamedTuple, cast

import asyncpg

from villagegraph.models import from_record, from_records
from villagegraph.models.consultations import (
    ConsultationBase,
    ConsultationProposal,
    ExecutionLink,
    ExecutionMilestoneBase,
    ProposalSupporter,
    ResolutionExecution,
    SupervisoryObjection,
    SupervisorySignOff,
)
from villagegraph.models.tasks import TaskBase
from villagegraph.resolvers.loaders import Loader, by_key, grouped
from villagegraph.resolvers.tasks import assign
from villagegraph.tenants.session import ScopedSession, WorkerStatements

PROPOSAL_COLUMNS = (
    "p.village_code, p.id, p.title, p.description, p.options, p.rule, p.proposer_village, "
    "p.proposer_id, p.proposed_at, p.supporters_needed, p.supporters, p.threshold_reached_at, "
    "p.convene_by, p.convening_task_id, p.consultation_id"
)
MILESTONE_COLUMNS = (
    "m.village_code, m.id, m.consultation_id, m.title, m.due_on, m.completed_at, "
    "m.completion_note, m.overdue_task_id, "
    "(m.completed_at is null and m.due_on < vg.shanghai_today()) as overdue"
)
# How long the village has to answer a supervised task raised here.
REMEDY = timedelta(days=7)


class MilestoneWithOverdue(ExecutionMilestoneBase):
    """A milestone as MILESTONE_COLUMNS reads it: its columns and whether it is overdue
    (not completed and due before today in China Standard Time)."""

    overdue: bool


class ReviewTally(NamedTuple):
    """A year-end review (民主评议) with its tally: counts stay 0 until it has closed;
    `rated` says whether the caller rated."""

    village_code: int
    year: int
    opened_at: datetime
    closes_at: datetime
    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    ratings: int
    closed: bool
    rated: bool


# --- proposals (村民提议, art. 21) -------------------------------------------------------


async def propose(
    db: ScopedSession,
    village: int,
    title: str,
    description: str,
    options: list[str],
    rule: str,
    resident: int,
    account_id: int,
) -> ConsultationProposal:
    row = await db.fetchrow(
        f"""insert into vg.consultation_proposals as p
                (village_code, title, description, options, rule, proposer_village,
                 proposer_id, proposed_by)
            values ($1, $2, $3, $4, $5, $1, $6, $7)
            returning {PROPOSAL_COLUMNS}""",
        village,
        title,
        description,
        options,
        rule,
        resident,
        account_id,
    )
    assert row is not None
    await db.audit("proposal.propose", village, "proposal", row["id"], {"title": title})
    made = await proposal(db, row["id"])
    assert made is not None
    return made


async def support(
    db: ScopedSession, proposal_row: ConsultationProposal, resident: int, account_id: int
) -> ConsultationProposal:
    await db.execute(
        """insert into vg.proposal_supporters
               (village_code, proposal_id, resident_village, resident_id, supported_by)
           values ($1, $2, $1, $3, $4)""",
        proposal_row.village_code,
        proposal_row.id,
        resident,
        account_id,
    )
    await db.audit("proposal.support", proposal_row.village_code, "proposal", proposal_row.id)
    supported = await proposal(db, proposal_row.id)
    assert supported is not None
    return supported


async def link_consultation(
    db: ScopedSession, proposal_row: ConsultationProposal, consultation: int
) -> None:
    await db.execute(
        "update vg.consultation_proposals set consultation_id = $3 where village_code = $1 and id = $2",
        proposal_row.village_code,
        proposal_row.id,
        consultation,
    )
    await db.audit(
        "proposal.schedule",
        proposal_row.village_code,
        "proposal",
        proposal_row.id,
        {"consultation": consultation},
    )


async def proposal(db: ScopedSession, proposal_id: int) -> ConsultationProposal | None:
    row = await db.fetchrow(
        f"select {PROPOSAL_COLUMNS} from vg.consultation_proposals p where p.id = $1", proposal_id
    )
    return None if row is None else from_record(ConsultationProposal, row)


async def proposals_page(
    db: ScopedSession, lo: int, hi: int, after: tuple[datetime, int] | None, limit: int
) -> list[ConsultationProposal]:
    after_time, after_id = after or (None, None)
    rows = await db.fetch(
        f"""select {PROPOSAL_COLUMNS} from vg.consultation_proposals p
             where p.village_code between $1 and $2
               and ($3::timestamptz is null or (p.proposed_at, p.id) < ($3, $4))
             order by p.proposed_at desc, p.id desc
             limit $5""",
        lo,
        hi,
        after_time,
        after_id,
        limit,
    )
    return from_records(ConsultationProposal, rows)


async def proposals_count(db: ScopedSession, lo: int, hi: int) -> int:
    return int(
        await db.fetchval(
            "select count(*) from vg.consultation_proposals p where p.village_code between $1 and $2",
            lo,
            hi,
        )
    )


class ProposalByIdLoader(Loader[int, ConsultationProposal | None]):
    async def batch_load(self, keys: list[int]) -> list[ConsultationProposal | None]:
        rows = await self.db.fetch(
            f"select {PROPOSAL_COLUMNS} from vg.consultation_proposals p where p.id = any($1::bigint[])",
            keys,
        )
        return by_key(from_records(ConsultationProposal, rows), keys, "id")


class SupportersByProposalIdLoader(Loader[int, list[ProposalSupporter]]):
    """Supporters by name, first first: support is public to the village's members."""

    async def batch_load(self, keys: list[int]) -> list[list[ProposalSupporter]]:
        rows = await self.db.fetch(
            """select proposal_id, resident_id, name, supported_at from vg.proposal_supporters
                where proposal_id = any($1::bigint[]) order by supported_at, resident_id""",
            keys,
        )
        return grouped(from_records(ProposalSupporter, rows), keys, "proposal_id")


class ProposalByConsultationIdLoader(Loader[int, ConsultationProposal | None]):
    async def batch_load(self, keys: list[int]) -> list[ConsultationProposal | None]:
        rows = await self.db.fetch(
            f"""select {PROPOSAL_COLUMNS} from vg.consultation_proposals p
                 where p.consultation_id = any($1::bigint[])""",
            keys,
        )
        return by_key(from_records(ConsultationProposal, rows), keys, "consultation_id")


# --- the supervisory committee (村务监督委员会, arts. 32-33) --------------------------------

SIGNOFF_COLUMNS = "village_code, id, subject, period, notice_id, note, signed_by, signed_at"


async def sign_off(
    db: ScopedSession,
    village: int,
    subject: str,
    period: str | None,
    notice: int | None,
    note: str | None,
    account_id: int,
) -> SupervisorySignOff:
    record = await db.fetchrow(
        f"""insert into vg.supervisory_signoffs
                (village_code, subject, period, notice_id, note, signed_by)
            values ($1, $2, $3, $4, $5, $6)
            returning {SIGNOFF_COLUMNS}""",
        village,
        subject,
        period,
        notice,
        note,
        account_id,
    )
    assert record is not None
    row = from_record(SupervisorySignOff, record)
    await db.audit(
        "supervision.sign_off",
        village,
        "supervisory_signoff",
        row.id,
        {"subject": subject, "period": period, "notice": notice},
    )
    return row


async def signoffs(db: ScopedSession, village: int) -> list[SupervisorySignOff]:
    rows = await db.fetch(
        f"""select {SIGNOFF_COLUMNS} from vg.supervisory_signoffs
             where village_code = $1 order by signed_at desc, id desc limit 100""",
        village,
    )
    return from_records(SupervisorySignOff, rows)


async def raise_objection(
    db: ScopedSession, village: int, subject: str, body: str, account_id: int
) -> SupervisoryObjection:
    record = await db.fetchrow(
        """insert into vg.supervisory_objections (village_code, subject, body, raised_by)
           values ($1, $2, $3, $4)
           returning village_code, id, subject, body, raised_at, task_assignee, task_id""",
        village,
        subject,
        body,
        account_id,
    )
    assert record is not None
    row = from_record(SupervisoryObjection, record)
    await db.audit("supervision.objection", village, "supervisory_objection", row.id)
    return row


async def objections(db: ScopedSession, lo: int, hi: int) -> list[SupervisoryObjection]:
    rows = await db.fetch(
        """select village_code, id, subject, body, raised_at, task_assignee, task_id
             from vg.supervisory_objections where village_code between $1 and $2
            order by raised_at desc, id desc limit 100""",
        lo,
        hi,
    )
    return from_records(SupervisoryObjection, rows)


# --- resolutions carried out -------------------------------------------------------------


async def start_execution(
    db: ScopedSession, consultation: ConsultationBase, cadre: int, account_id: int
) -> None:
    await db.execute(
        """insert into vg.resolution_executions
               (village_code, consultation_id, responsible_cadre, started_by)
           values ($1, $2, $3, $4)""",
        consultation.village_code,
        consultation.id,
        cadre,
        account_id,
    )
    await db.audit(
        "execution.start",
        consultation.village_code,
        "consultation",
        consultation.id,
        {"responsible_cadre": cadre},
    )


async def add_milestone(
    db: ScopedSession, consultation: ConsultationBase, title: str, due_on: date, account_id: int
) -> MilestoneWithOverdue:
    record = await db.fetchrow(
        f"""insert into vg.execution_milestones as m
                (village_code, consultation_id, title, due_on, created_by)
            values ($1, $2, $3, $4, $5)
            returning {MILESTONE_COLUMNS}""",
        consultation.village_code,
        consultation.id,
        title,
        due_on,
        account_id,
    )
    assert record is not None
    row = from_record(MilestoneWithOverdue, record)
    await db.audit(
        "execution.milestone",
        consultation.village_code,
        "execution_milestone",
        row.id,
        {"title": title, "due_on": due_on},
    )
    return row


async def complete_milestone(
    db: ScopedSession, milestone: ExecutionMilestoneBase, note: str | None, account_id: int
) -> MilestoneWithOverdue | None:
    row = await db.fetchrow(
        f"""update vg.execution_milestones m
               set completed_at = now(), completed_by = $3, completion_note = $4
             where m.village_code = $1 and m.id = $2 and m.completed_at is null
         returning {MILESTONE_COLUMNS}""",
        milestone.village_code,
        milestone.id,
        account_id,
        note,
    )
    await db.audit(
        "execution.milestone_done",
        milestone.village_code,
        "execution_milestone",
        milestone.id,
        {"note": note},
    )
    return None if row is None else from_record(MilestoneWithOverdue, row)


async def milestone(db: ScopedSession, milestone_id: int) -> MilestoneWithOverdue | None:
    row = await db.fetchrow(
        f"select {MILESTONE_COLUMNS} from vg.execution_milestones m where m.id = $1", milestone_id
    )
    return None if row is None else from_record(MilestoneWithOverdue, row)


async def link(
    db: ScopedSession, consultation: ConsultationBase, kind: str, target: int, account_id: int
) -> None:
    await db.execute(
        """insert into vg.execution_links (village_code, consultation_id, kind, target_id, linked_by)
           values ($1, $2, $3, $4, $5)""",
        consultation.village_code,
        consultation.id,
        kind,
        target,
        account_id,
    )
    await db.audit(
        "execution.link",
        consultation.village_code,
        "consultation",
        consultation.id,
        {"kind": kind, "target": target},
    )


class ExecutionByConsultationIdLoader(Loader[int, ResolutionExecution | None]):
    async def batch_load(self, keys: list[int]) -> list[ResolutionExecution | None]:
        rows = await self.db.fetch(
            """select e.village_code, e.consultation_id, e.responsible_cadre, e.started_at
                 from vg.resolution_executions e where e.consultation_id = any($1::bigint[])""",
            keys,
        )
        return by_key(from_records(ResolutionExecution, rows), keys, "consultation_id")


class MilestonesByConsultationIdLoader(Loader[int, list[MilestoneWithOverdue]]):
    async def batch_load(self, keys: list[int]) -> list[list[MilestoneWithOverdue]]:
        rows = await self.db.fetch(
            f"""select {MILESTONE_COLUMNS} from vg.execution_milestones m
                 where m.consultation_id = any($1::bigint[]) order by m.due_on, m.id""",
            keys,
        )
        return grouped(from_records(MilestoneWithOverdue, rows), keys, "consultation_id")


class LinksByConsultationIdLoader(Loader[int, list[ExecutionLink]]):
    async def batch_load(self, keys: list[int]) -> list[list[ExecutionLink]]:
        rows = await self.db.fetch(
            """select consultation_id, kind, target_id from vg.execution_links
                where consultation_id = any($1::bigint[]) order by kind, target_id""",
            keys,
        )
        return grouped(from_records(ExecutionLink, rows), keys, "consultation_id")


async def open_review(
    db: ScopedSession, village: int, year: int, closes_at: datetime, account_id: int
) -> None:
    await db.execute(
        "insert into vg.execution_reviews (village_code, year, opened_by, closes_at) values ($1, $2, $3, $4)",
        village,
        year,
        account_id,
        closes_at,
    )
    await db.audit("execution.review_open", village, "execution_review", f"{village}:{year}")


async def rate(db: ScopedSession, village: int, year: int, resident: int, rating: str) -> None:
    await db.execute(
        """insert into vg.execution_ratings (village_code, year, resident_village, resident_id, rating)
           values ($1, $2, $1, $3, $4)""",
        village,
        year,
        resident,
        rating,
    )
    # Like a ballot: that a member rated, never how (dated to the day by the database).
    await db.audit("execution.rating", village, "execution_review", f"{village}:{year}")


async def review(db: ScopedSession, village: int, year: int) -> ReviewTally | None:
    """The review with its tally (counts only once it has closed), or None."""
    row = await db.fetchrow(
        """select v.village_code, v.year, v.opened_at, v.closes_at, t.*,
                  exists (select 1 from vg.execution_ratings x
                           where x.village_code = v.village_code and x.year = v.year
                             and x.resident_village = vg.household_village()
                             and x.resident_id = vg.resident_id()) as rated
             from vg.execution_reviews v
             cross join lateral vg.execution_review_tally(v.village_code, v.year) t
            where v.village_code = $1 and v.year = $2""",
        village,
        year,
    )
    return None if row is None else ReviewTally(**dict(row))


# --- the worker: what is due becomes a supervised task (督办) ---------------------------


async def _raise(
    conn: asyncpg.Connection, assignee: int, issuer: int, title: str, body: str, due_at: datetime
) -> TaskBase:
    (task,) = await assign(
        cast(ScopedSession, WorkerStatements(conn)),
        assignments=[(assignee, issuer)],
        title=title,
        body=body,
        due_at=due_at,
        supervised=True,
        attachments=[],
        account_id=None,
    )
    return task


async def raise_democracy_tasks(conn: asyncpg.Connection, now: datetime) -> int:
    """Supervised tasks for what the law requires of the village: convening a meeting that
    enough villagers proposed (art. 21, to the village from its town), answering the
    supervisory committee's objections (to the town), and carrying out a resolution's
    overdue milestones (to the village). Each source row remembers its task, so a second
    pass raises nothing again. Returns the number of tasks raised."""
    raised = 0
    async with conn.transaction():
        for p in await conn.fetch(
            """select p.village_code, p.id, p.title, p.supporters, p.convene_by, u.parent_code
                 from vg.consultation_proposals p join vg.org_units u on u.code = p.village_code
                where p.threshold_reached_at is not null and p.convening_task_id is null
                  and p.consultation_id is null and u.parent_code is not null
                for update of p skip locked"""
        ):
            task = await _raise(
                conn,
                p["village_code"],
                p["parent_code"],
                f"依法召集村民议事：{p['title']}",
                f"{p['supporters']} 名村民联名提议（村民委员会组织法第二十一条），"
                "村民委员会应当召集会议并在期限内安排表决。",
                p["convene_by"],
            )
            await conn.execute(
                "update vg.consultation_proposals set convening_task_id = $3"
                " where village_code = $1 and id = $2",
                p["village_code"],
                p["id"],
                task.id,
            )
            raised += 1
        raised += await _raise_objection_tasks(conn, now)
        raised += await _raise_milestone_tasks(conn, now)
    return raised


async def _raise_objection_tasks(conn: asyncpg.Connection, now: datetime) -> int:
    raised = 0
    for o in await conn.fetch(
        """select o.village_code, o.id, o.subject, o.body, u.parent_code
             from vg.supervisory_objections o join vg.org_units u on u.code = o.village_code
            where o.task_id is null and u.parent_code is not null
            for update of o skip locked"""
    ):
        task = await _raise(
            conn,
            o["parent_code"],
            o["village_code"],
            f"村务监督委员会异议：{o['subject']}",
            o["body"],
            now + REMEDY,
        )
        await conn.execute(
            "update vg.supervisory_objections set task_assignee = $3, task_id = $4"
            " where village_code = $1 and id = $2",
            o["village_code"],
            o["id"],
            task.assignee_code,
            task.id,
        )
        raised += 1
    return raised


async def _raise_milestone_tasks(conn: asyncpg.Connection, now: datetime) -> int:
    raised = 0
    for m in await conn.fetch(
        """select m.village_code, m.id, m.title, m.due_on, c.title as resolution, u.parent_code
             from vg.execution_milestones m
             join vg.consultations c on c.village_code = m.village_code and c.id = m.consultation_id
             join vg.org_units u on u.code = m.village_code
            where m.completed_at is null and m.overdue_task_id is null
              and m.due_on < ($1 at time zone 'Asia/Shanghai')::date and u.parent_code is not null
            for update of m skip locked""",
        now,
    ):
        task = await _raise(
            conn,
            m["village_code"],
            m["parent_code"],
            f"决议执行逾期：{m['title']}",
            f"决议「{m['resolution']}」的执行节点「{m['title']}」应于 {m['due_on']} 完成，"
            "请尽快落实并报告进度。",
            now + REMEDY,
        )
        await conn.execute(
            "update vg.execution_milestones set overdue_task_assignee = $1, overdue_task_id = $3"
            " where village_code = $1 and id = $2",
            m["village_code"],
            m["id"],
            task.id,
        )
        raised += 1
    return raised
