"""Village democracy around the vote (consultations domain): villagers' proposals (art. 21),
the 村务监督委员会's sign-offs and objections (arts. 32-33), resolutions carried out and the
year-end 民主评议. Types and the root fields ConsultationQuery/ConsultationMutation inherit.

Visibility is RLS's; the checks here only turn refusals into clear errors.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from villagegraph import resolvers
from villagegraph.errors import BadUserInput, Conflict, NotFound, database_refusals
from villagegraph.models.consultations import ConsultationProposal as ProposalRow
from villagegraph.models.consultations import ResolutionExecution as ExecutionRow
from villagegraph.models.consultations import SupervisoryObjection as ObjectionRow
from villagegraph.models.consultations import SupervisorySignOff as SignOffRow
from villagegraph.resolvers.consultations import ConsultationWithStatus
from villagegraph.resolvers.democracy import (
    LinksByConsultationIdLoader,
    MilestonesByConsultationIdLoader,
    MilestoneWithOverdue,
    ProposalByIdLoader,
    ReviewTally,
    SupportersByProposalIdLoader,
)
from villagegraph.resolvers.notices import NoticeByIdLoader
from villagegraph.resolvers.residents import CadreByIdLoader
from villagegraph.schema.context import Info
from villagegraph.schema.guards import (
    LoggedIn,
    authorize,
    guarded,
    village_writer,
    villager,
)
from villagegraph.schema.hierarchy import OrgUnit, load_unit, subtree_bounds
from villagegraph.schema.inputs import division_code, record_id, text
from villagegraph.schema.notices import Notice
from villagegraph.schema.pagination import Connection, Keyset, Page
from villagegraph.schema.residents import Cadre
from villagegraph.tenants.principal import Principal

if TYPE_CHECKING:
    from villagegraph.schema.consultations import Consultation

PROPOSAL_ORDER = Keyset(("proposed_at", datetime), ("id", int))
PERIOD_FORMAT = "YYYY-MM"

ConsultationRef = Annotated["Consultation", strawberry.lazy("villagegraph.schema.consultations")]


@strawberry.enum(description="The meeting a villagers' proposal asks for (art. 21).")
class ProposalRule(Enum):
    VILLAGERS_ASSEMBLY = "VILLAGERS_ASSEMBLY"  # one tenth of the adult villagers propose
    REPRESENTATIVES_MEETING = "REPRESENTATIVES_MEETING"  # one third of the representatives


@strawberry.type
class ProposalSupporter:
    name: str
    supported_at: datetime


@strawberry.type(description="村民提议: a matter villagers ask the committee to put to a vote.")
class ConsultationProposal:
    id: strawberry.ID
    title: str
    description: str
    options: list[str]
    rule: ProposalRule
    proposed_at: datetime
    supporters_needed: int = strawberry.field(
        description="One tenth of the adult villagers, or one third of the representatives."
    )
    supporter_count: int
    threshold_reached_at: datetime | None
    convene_by: datetime | None = strawberry.field(
        description="The committee must schedule the vote by then (a supervised task)."
    )
    row: strawberry.Private[ProposalRow]

    @classmethod
    def from_row(cls, row: ProposalRow) -> ConsultationProposal:
        return cls(
            id=strawberry.ID(str(row.id)),
            title=row.title,
            description=row.description,
            options=list(row.options),
            rule=ProposalRule(row.rule),
            proposed_at=row.proposed_at,
            supporters_needed=row.supporters_needed,
            supporter_count=row.supporters,
            threshold_reached_at=row.threshold_reached_at,
            convene_by=row.convene_by,
            row=row,
        )

    @strawberry.field
    async def village(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.row.village_code)
        assert unit is not None
        return unit

    @strawberry.field(description="Who supports it, first first (support is public).")
    async def supporters(self, info: Info) -> list[ProposalSupporter]:
        rows = await info.context.loader(SupportersByProposalIdLoader).load(self.row.id)
        return [ProposalSupporter(name=r.name, supported_at=r.supported_at) for r in rows]

    @strawberry.field(description="The vote it became, once the committee scheduled it.")
    async def consultation(self, info: Info) -> ConsultationRef | None:
        from villagegraph.schema.consultations import Consultation, load_consultation

        if self.row.consultation_id is None:
            return None
        row = await load_consultation(info, self.row.consultation_id)
        return None if row is None else Consultation.from_row(row)

    @strawberry.field(description="The committee's supervised task to convene, once raised.")
    def convening_task_id(self) -> strawberry.ID | None:
        task = self.row.convening_task_id
        return None if task is None else strawberry.ID(str(task))


@strawberry.input
class ProposeConsultationInput:
    title: str
    description: str
    options: list[str]
    rule: ProposalRule | None = None


@strawberry.enum
class SignOffSubject(Enum):
    FINANCE_PERIOD = "FINANCE_PERIOD"
    DISCLOSURE = "DISCLOSURE"


@strawberry.type(description="A supervisory-committee member's sign-off (村务监督委员会审核).")
class SupervisorySignOff:
    id: strawberry.ID
    subject: SignOffSubject
    period: str | None
    note: str | None
    signed_at: datetime
    notice_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: SignOffRow) -> SupervisorySignOff:
        return cls(
            id=strawberry.ID(str(row.id)),
            subject=SignOffSubject(row.subject),
            period=row.period,
            note=row.note,
            signed_at=row.signed_at,
            notice_id=row.notice_id,
        )

    @strawberry.field(description="The disclosure notice signed off.")
    async def notice(self, info: Info) -> Notice | None:
        if self.notice_id is None:
            return None
        row = await info.context.loader(NoticeByIdLoader).load(self.notice_id)
        return None if row is None else Notice.from_row(row)


@strawberry.type(description="An objection of the supervisory committee; the town handles it.")
class SupervisoryObjection:
    id: strawberry.ID
    subject: str
    body: str
    raised_at: datetime
    task_id: strawberry.ID | None = strawberry.field(
        description="The town's supervised task, once the worker raised it."
    )

    @classmethod
    def from_row(cls, row: ObjectionRow) -> SupervisoryObjection:
        task = row.task_id
        return cls(
            id=strawberry.ID(str(row.id)),
            subject=row.subject,
            body=row.body,
            raised_at=row.raised_at,
            task_id=None if task is None else strawberry.ID(str(task)),
        )


@strawberry.type(description="A step in carrying out a resolution.")
class ExecutionMilestone:
    id: strawberry.ID
    title: str
    due_on: date
    completed_at: datetime | None
    completion_note: str | None
    overdue: bool
    overdue_task_id: strawberry.ID | None

    @classmethod
    def from_row(cls, row: MilestoneWithOverdue) -> ExecutionMilestone:
        task = row.overdue_task_id
        return cls(
            id=strawberry.ID(str(row.id)),
            title=row.title,
            due_on=row.due_on,
            completed_at=row.completed_at,
            completion_note=row.completion_note,
            overdue=row.overdue,
            overdue_task_id=None if task is None else strawberry.ID(str(task)),
        )


@strawberry.enum
class ExecutionLinkKind(Enum):
    FINANCE_ENTRY = "FINANCE_ENTRY"
    TASK = "TASK"


@strawberry.type
class ExecutionLink:
    kind: ExecutionLinkKind
    target_id: strawberry.ID


@strawberry.type(
    description="How a binding resolution is carried out (决议执行), visible to members."
)
class ResolutionExecution:
    started_at: datetime
    row: strawberry.Private[ExecutionRow]

    @strawberry.field
    async def responsible(self, info: Info) -> Cadre | None:
        row = await info.context.loader(CadreByIdLoader).load(self.row.responsible_cadre)
        return None if row is None else Cadre.from_row(row)

    @strawberry.field
    async def milestones(self, info: Info) -> list[ExecutionMilestone]:
        loader = info.context.loader(MilestonesByConsultationIdLoader)
        return [ExecutionMilestone.from_row(r) for r in await loader.load(self.row.consultation_id)]

    @strawberry.field(description="Milestones completed over milestones planned, 0 to 1.")
    async def progress(self, info: Info) -> float:
        loader = info.context.loader(MilestonesByConsultationIdLoader)
        rows = await loader.load(self.row.consultation_id)
        return sum(r.completed_at is not None for r in rows) / len(rows) if rows else 0.0

    @strawberry.field(description="Finance entries and tasks that carry it out.")
    async def links(self, info: Info) -> list[ExecutionLink]:
        rows = await info.context.loader(LinksByConsultationIdLoader).load(self.row.consultation_id)
        return [
            ExecutionLink(kind=ExecutionLinkKind(r.kind), target_id=strawberry.ID(str(r.target_id)))
            for r in rows
        ]


@strawberry.enum(description="民主评议: how members rate the committee's execution of the year.")
class ExecutionRating(Enum):
    SATISFIED = "SATISFIED"  # 满意
    BASICALLY_SATISFIED = "BASICALLY_SATISFIED"  # 基本满意
    DISSATISFIED = "DISSATISFIED"  # 不满意


@strawberry.type(
    description="The year-end review (民主评议); ratings are secret, counts come at the close."
)
class ExecutionReview:
    year: int
    closes_at: datetime
    closed: bool
    ratings: int
    rated_by_me: bool
    satisfied: int | None
    basically_satisfied: int | None
    dissatisfied: int | None

    @classmethod
    def from_row(cls, row: ReviewTally) -> ExecutionReview:
        closed = bool(row.closed)
        return cls(
            year=row.year,
            closes_at=row.closes_at,
            closed=closed,
            ratings=row.ratings,
            rated_by_me=row.rated,
            satisfied=row.satisfied if closed else None,
            basically_satisfied=row.basically_satisfied if closed else None,
            dissatisfied=row.dissatisfied if closed else None,
        )


def _period(value: str) -> str:
    if len(value) != 7 or value[4] != "-" or not (value[:4] + value[5:]).isdigit():
        raise BadUserInput(f"`period` must be {PERIOD_FORMAT}.", argument="period")
    if not 1 <= int(value[5:]) <= 12:
        raise BadUserInput(f"`period` must be {PERIOD_FORMAT}.", argument="period")
    return value


async def _supervisor(info: Info, village: int) -> int:
    principal = await authorize(
        info,
        Principal.supervises,
        village,
        refusal="Only members of the village's supervisory committee in office may do this.",
        action="sign off",
    )
    return principal.account_id


async def _resolution(info: Info, id: strawberry.ID) -> ConsultationWithStatus:
    from villagegraph.schema.consultations import load_consultation

    row = await load_consultation(info, record_id(id, "consultation"))
    if row is None:
        raise NotFound("No such consultation, or it is not open to you.", argument="consultation")
    return row


@strawberry.type
class DemocracyQuery:
    @strawberry.field(description="Villagers' proposals in a unit's subtree, newest first.")
    async def proposals(
        self, info: Info, unit: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> Connection[ConsultationProposal]:
        page = Page(PROPOSAL_ORDER, first, after)
        lo, hi = subtree_bounds(division_code(unit))
        db = info.context.db
        rows = await resolvers.democracy.proposals_page(db, lo, hi, page.after, page.limit)
        return page.connection(
            rows,
            ConsultationProposal.from_row,
            lambda: resolvers.democracy.proposals_count(db, lo, hi),
        )

    @strawberry.field
    async def proposal(self, info: Info, id: strawberry.ID) -> ConsultationProposal | None:
        row = await info.context.loader(ProposalByIdLoader).load(record_id(id))
        return None if row is None else ConsultationProposal.from_row(row)

    @strawberry.field(
        description="The supervisory committee's sign-offs of a village, newest first."
    )
    async def supervisory_sign_offs(
        self, info: Info, village: strawberry.ID
    ) -> list[SupervisorySignOff]:
        rows = await resolvers.democracy.signoffs(
            info.context.db, division_code(village, "village")
        )
        return [SupervisorySignOff.from_row(r) for r in rows]

    @strawberry.field(description="Objections of supervisory committees in a unit's subtree.")
    async def supervisory_objections(
        self, info: Info, unit: strawberry.ID
    ) -> list[SupervisoryObjection]:
        lo, hi = subtree_bounds(division_code(unit))
        rows = await resolvers.democracy.objections(info.context.db, lo, hi)
        return [SupervisoryObjection.from_row(r) for r in rows]

    @strawberry.field(description="A village's year-end review (民主评议), when opened.")
    async def execution_review(
        self, info: Info, village: strawberry.ID, year: int
    ) -> ExecutionReview | None:
        row = await resolvers.democracy.review(
            info.context.db, division_code(village, "village"), year
        )
        return None if row is None else ExecutionReview.from_row(row)


def _options(values: list[str]) -> list[str]:
    options = [text(o, "options", max_length=200) for o in values]
    if not 2 <= len(options) <= 20 or len(set(options)) != len(options):
        raise BadUserInput("Give between 2 and 20 distinct options.", argument="options")
    return options


@strawberry.type
class DemocracyMutation:
    @strawberry.mutation(
        description="Propose a vote to the village committee (art. 21).",
        extensions=guarded(LoggedIn("propose")),
    )
    async def propose_consultation(
        self, info: Info, input: ProposeConsultationInput
    ) -> ConsultationProposal:
        title = text(input.title, "title", max_length=200)
        description = text(input.description, "description", max_length=20000)
        options = _options(input.options)
        principal, home = await villager(
            info, "Only villagers may propose, in their household village.", "propose"
        )
        rule = input.rule or ProposalRule.VILLAGERS_ASSEMBLY
        row = await resolvers.democracy.propose(
            info.context.db,
            home.village,
            title,
            description,
            options,
            rule.value,
            home.resident_id,
            principal.account_id,
        )
        return ConsultationProposal.from_row(row)

    @strawberry.mutation(
        description="Support a villagers' proposal (support is public).",
        extensions=guarded(LoggedIn("support proposals")),
    )
    async def support_proposal(self, info: Info, proposal: strawberry.ID) -> ConsultationProposal:
        row = await info.context.loader(ProposalByIdLoader).load(record_id(proposal, "proposal"))
        if row is None:
            raise NotFound("No such proposal, or it is not open to you.", argument="proposal")
        principal = await authorize(
            info,
            Principal.is_villager_of,
            row.village_code,
            refusal="Only villagers of the village may support its proposals.",
        )
        if row.consultation_id is not None:
            raise Conflict("This proposal is already scheduled for a vote.")
        assert principal.resident_id is not None  # is_villager_of
        with database_refusals(
            unique=Conflict("You already support this proposal."),
            wrong_state=Conflict("This proposal is already scheduled for a vote."),
        ):
            updated = await resolvers.democracy.support(
                info.context.db, row, principal.resident_id, principal.account_id
            )
        return ConsultationProposal.from_row(updated)

    @strawberry.mutation(
        description="Sign off a finance period as the supervisory committee.",
        extensions=guarded(LoggedIn("sign off")),
    )
    async def sign_off_finance_period(
        self, info: Info, village: strawberry.ID, period: str, note: str | None = None
    ) -> SupervisorySignOff:
        code = division_code(village, "village")
        account = await _supervisor(info, code)
        with database_refusals(unique=Conflict("This period is already signed off.")):
            row = await resolvers.democracy.sign_off(
                info.context.db,
                code,
                "FINANCE_PERIOD",
                _period(period),
                None,
                None if note is None else text(note, "note", max_length=2000),
                account,
            )
        return SupervisorySignOff.from_row(row)

    @strawberry.mutation(
        description="Sign off a disclosure notice; it then counts as disclosed.",
        extensions=guarded(LoggedIn("sign off")),
    )
    async def sign_off_disclosure(
        self, info: Info, notice: strawberry.ID, note: str | None = None
    ) -> SupervisorySignOff:
        row = await info.context.loader(NoticeByIdLoader).load(record_id(notice, "notice"))
        if row is None:
            raise NotFound("No such notice, or it is not open to you.", argument="notice")
        account = await _supervisor(info, row.publisher_code)
        with database_refusals(unique=Conflict("This disclosure is already signed off.")):
            signed = await resolvers.democracy.sign_off(
                info.context.db,
                row.publisher_code,
                "DISCLOSURE",
                None,
                row.id,
                None if note is None else text(note, "note", max_length=2000),
                account,
            )
        return SupervisorySignOff.from_row(signed)

    @strawberry.mutation(
        description="Raise an objection; it becomes a supervised task for the town.",
        extensions=guarded(LoggedIn("raise objections")),
    )
    async def raise_objection(
        self, info: Info, village: strawberry.ID, subject: str, body: str
    ) -> SupervisoryObjection:
        code = division_code(village, "village")
        account = await _supervisor(info, code)
        row = await resolvers.democracy.raise_objection(
            info.context.db,
            code,
            text(subject, "subject", max_length=200),
            text(body, "body", max_length=5000),
            account,
        )
        return SupervisoryObjection.from_row(row)

    @strawberry.mutation(
        description="Start carrying out a binding resolution that passed.",
        extensions=guarded(LoggedIn("carry out resolutions")),
    )
    async def start_execution(
        self, info: Info, consultation: strawberry.ID, responsible: strawberry.ID
    ) -> ResolutionExecution:
        row = await _resolution(info, consultation)
        principal = await village_writer(
            info, row.village_code, "carry out resolutions", "consultation"
        )
        if not (row.closed_at is not None and row.passed and row.binding):
            raise Conflict("Only a binding resolution that passed is carried out.")
        cadre = record_id(responsible, "responsible")
        with database_refusals(
            unique=Conflict("This resolution is already being carried out."),
            check=BadUserInput(
                "`responsible` must be a cadre of the village committee or party branch in office.",
                argument="responsible",
            ),
            foreign_key=NotFound("No such cadre in this village.", argument="responsible"),
        ):
            await resolvers.democracy.start_execution(
                info.context.db, row, cadre, principal.account_id
            )
        started = await execution_of(info, row.id)
        assert started is not None
        return started

    @strawberry.mutation(
        description="Plan a milestone of a resolution's execution.",
        extensions=guarded(LoggedIn("plan milestones")),
    )
    async def add_execution_milestone(
        self, info: Info, consultation: strawberry.ID, title: str, due_on: date
    ) -> ExecutionMilestone:
        row = await _resolution(info, consultation)
        principal = await village_writer(info, row.village_code, "plan milestones", "consultation")
        with database_refusals(foreign_key=Conflict("Start the execution first (startExecution).")):
            milestone = await resolvers.democracy.add_milestone(
                info.context.db,
                row,
                text(title, "title", max_length=200),
                due_on,
                principal.account_id,
            )
        return ExecutionMilestone.from_row(milestone)

    @strawberry.mutation(
        description="Record a milestone done.",
        extensions=guarded(LoggedIn("complete milestones")),
    )
    async def complete_execution_milestone(
        self, info: Info, id: strawberry.ID, note: str | None = None
    ) -> ExecutionMilestone:
        milestone = await resolvers.democracy.milestone(info.context.db, record_id(id))
        if milestone is None:
            raise NotFound("No such milestone, or it is not open to you.")
        principal = await village_writer(info, milestone.village_code, "complete milestones", "id")
        if milestone.completed_at is not None:
            raise Conflict("This milestone is already done.")
        done = await resolvers.democracy.complete_milestone(
            info.context.db,
            milestone,
            None if note is None else text(note, "note", max_length=2000),
            principal.account_id,
        )
        if done is None:
            raise Conflict("This milestone is already done.")
        return ExecutionMilestone.from_row(done)

    @strawberry.mutation(
        description="Link a finance entry or a task to a resolution's execution.",
        extensions=guarded(LoggedIn("link")),
    )
    async def link_execution(
        self,
        info: Info,
        consultation: strawberry.ID,
        kind: ExecutionLinkKind,
        target: strawberry.ID,
    ) -> list[ExecutionLink]:
        row = await _resolution(info, consultation)
        principal = await village_writer(info, row.village_code, "link", "consultation")
        with database_refusals(
            unique=Conflict("Already linked."),
            foreign_key=NotFound(
                "No such entry or task in this village, or no execution yet.", argument="target"
            ),
        ):
            await resolvers.democracy.link(
                info.context.db, row, kind.value, record_id(target, "target"), principal.account_id
            )
        rows = await LinksByConsultationIdLoader(info.context.db).load(row.id)
        return [
            ExecutionLink(kind=ExecutionLinkKind(r.kind), target_id=strawberry.ID(str(r.target_id)))
            for r in rows
        ]

    @strawberry.mutation(
        description="Open the year-end review (民主评议) of a village's execution.",
        extensions=guarded(LoggedIn("open reviews")),
    )
    async def open_execution_review(
        self, info: Info, village: strawberry.ID, year: int, closes_at: datetime
    ) -> ExecutionReview:
        code = division_code(village, "village")
        principal = await village_writer(info, code, "open reviews")
        now = datetime.now(UTC)
        if not 2000 <= year <= now.year:
            raise BadUserInput("`year` must be a year that has begun.", argument="year")
        if closes_at.tzinfo is None or closes_at <= now:
            raise BadUserInput(
                "`closesAt` must be in the future, with a time zone.", argument="closesAt"
            )
        with database_refusals(unique=Conflict("This year's review is already open.")):
            await resolvers.democracy.open_review(
                info.context.db, code, year, closes_at, principal.account_id
            )
        row = await resolvers.democracy.review(info.context.db, code, year)
        assert row is not None  # opened in this transaction, or found above
        return ExecutionReview.from_row(row)

    @strawberry.mutation(
        description="Rate the committee's execution of the year (secret).",
        extensions=guarded(LoggedIn("rate")),
    )
    async def rate_execution(
        self, info: Info, village: strawberry.ID, year: int, rating: ExecutionRating
    ) -> ExecutionReview:
        code = division_code(village, "village")
        principal = await authorize(
            info,
            Principal.is_villager_of,
            code,
            refusal="Only villagers of the village rate its committee.",
        )
        assert principal.resident_id is not None  # is_villager_of
        if await resolvers.democracy.review(info.context.db, code, year) is None:
            raise NotFound("No review of that year is open.", argument="year")
        with database_refusals(
            unique=Conflict("You have already rated this year."),
            wrong_state=Conflict("This review is closed."),
            foreign_key=NotFound("No review of that year is open.", argument="year"),
        ):
            await resolvers.democracy.rate(
                info.context.db, code, year, principal.resident_id, rating.value
            )
        row = await resolvers.democracy.review(info.context.db, code, year)
        assert row is not None  # opened in this transaction, or found above
        return ExecutionReview.from_row(row)


async def execution_of(info: Info, consultation_id: int) -> ResolutionExecution | None:
    row = await info.context.loader(resolvers.democracy.ExecutionByConsultationIdLoader).load(
        consultation_id
    )
    return None if row is None else ResolutionExecution(started_at=row.started_at, row=row)
