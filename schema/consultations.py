"""Consultations (码上协商): types, inputs and root fields for deliberating and voting.

Ballots are secret: the API exposes counts and the caller's own ballot (`myBallot`),
never who voted for what, and per-option counts only once closed (and only from the city's
minimum of ballots up). Only the statutory rules bind (`binding`). Visibility is RLS's; the
checks here only give clear errors. Proposals, the supervisory committee and the execution
of resolutions live in schema/democracy.py; the root classes here inherit its fields.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

import strawberry

from villagegraph import resolvers
from villagegraph.errors import BadUserInput, Conflict, Forbidden, NotFound, database_refusals
from villagegraph.resolvers.consultations import (
    ChannelsByConsultationIdLoader,
    CommentsByConsultationIdLoader,
    ConsultationByIdLoader,
    ConsultationWithStatus,
    ElectorByConsultationIdLoader,
    MyBallotByConsultationIdLoader,
    TallyByConsultationIdLoader,
)
from villagegraph.resolvers.democracy import ProposalByConsultationIdLoader, ProposalByIdLoader
from villagegraph.resolvers.notices import NoticeByIdLoader
from villagegraph.resolvers.tasks import TaskByIdLoader
from villagegraph.schema.context import Info
from villagegraph.schema.democracy import (
    ConsultationProposal,
    DemocracyMutation,
    DemocracyQuery,
    ResolutionExecution,
    execution_of,
)
from villagegraph.schema.guards import LoggedIn, authorize, guarded, village_writer, villager
from villagegraph.schema.hierarchy import OrgUnit, load_unit, subtree_bounds
from villagegraph.schema.inputs import division_code, record_id, text
from villagegraph.schema.notices import Notice
from villagegraph.schema.pagination import Connection, Keyset, Page
from villagegraph.tenants.principal import Principal

MAX_WINDOW_DAYS = 90


# The sort key, and so the cursor, of the connection field below (schema/pagination.py).
CONSULTATION_ORDER = Keyset(("opens_at", datetime), ("id", int))


@strawberry.enum
class ConsultationStatus(Enum):
    DRAFT = "DRAFT"  # the voting window has not opened yet
    OPEN = "OPEN"
    CLOSED = "CLOSED"


@strawberry.enum(description="The rule that decides a consultation.")
class ConsultationRule(Enum):
    # 村民会议: valid with > 1/2 of eligible villagers or households holding >= 2/3 of
    # households; an option needs > 1/2 of the ballots cast.
    VILLAGERS_ASSEMBLY = "VILLAGERS_ASSEMBLY"
    # 村民代表会议: valid with >= 2/3 of the representatives; > 1/2 of those present.
    REPRESENTATIVES_MEETING = "REPRESENTATIVES_MEETING"
    # 意见征集: an advisory poll, never a resolution; no quorum; > 1/2 of the ballots cast.
    SIMPLE_MAJORITY = "SIMPLE_MAJORITY"


@strawberry.enum(description="Who is on the roll (fixed when the consultation is created).")
class Eligibility(Enum):
    VILLAGERS = "VILLAGERS"  # household-registered villagers aged 18+
    VILLAGERS_AND_RESIDENTS = "VILLAGERS_AND_RESIDENTS"  # + admitted long-term residents, 18+
    REPRESENTATIVES = "REPRESENTATIVES"  # 村民代表 appointed and in office, 18+


@strawberry.type
class ConsultationOption:
    index: int
    label: str
    votes: int | None = strawberry.field(
        description="Null while voting: running results beside who-voted-when would unseal it."
    )


@strawberry.type(description="Ballots by how they were cast (turnout only, never options).")
class BallotChannels:
    app: int
    paper: int
    proxy: int = strawberry.field(description="Cast by an authorised proxy (委托投票).")


@strawberry.type(description="An elector's written authorisation of a close relative (委托投票).")
class ProxyAuthorization:
    consultation_id: strawberry.ID
    principal_id: strawberry.ID
    proxy_id: strawberry.ID
    authorized_at: datetime


@strawberry.type
class ConsultationComment:
    id: strawberry.ID
    author_name: str
    body: str
    created_at: datetime


@strawberry.type(description="码上协商: a matter the village deliberates and votes on.")
class Consultation:
    id: strawberry.ID
    title: str
    description: str
    status: ConsultationStatus
    opens_at: datetime
    closes_at: datetime
    rule: ConsultationRule
    eligibility: Eligibility
    closed_at: datetime | None
    binding: bool = strawberry.field(
        description="Whether the result is a binding resolution (决议): only a villagers' "
        "assembly or representatives' meeting (Organic Law arts. 21-22, 25); a simple-majority "
        "poll is advisory (意见征集)."
    )
    counts_published: bool | None = strawberry.field(
        description="Set when closed: false when fewer ballots than the city's minimum were "
        "cast, and only turnout is published."
    )
    voting_open: bool = strawberry.field(description="Whether ballots are accepted now.")
    quorum_met: bool | None = strawberry.field(description="Set when closed.")
    passed: bool | None = strawberry.field(
        description="Set when closed: the vote was valid and an option won a majority."
    )
    row: strawberry.Private[ConsultationWithStatus]

    @classmethod
    def from_row(cls, row: ConsultationWithStatus) -> Consultation:
        return cls(
            id=strawberry.ID(str(row.id)),
            title=row.title,
            description=row.description,
            status=ConsultationStatus(row.status),
            opens_at=row.opens_at,
            closes_at=row.closes_at,
            rule=ConsultationRule(row.rule),
            eligibility=Eligibility(row.eligibility),
            closed_at=row.closed_at,
            binding=row.binding,
            counts_published=row.counts_published,
            voting_open=row.voting_open,
            quorum_met=row.quorum_met,
            passed=row.passed,
            row=row,
        )

    async def _tally(self, info: Info) -> resolvers.consultations.Tally:
        if self.row.closed_at is not None:
            return resolvers.consultations.Tally.from_closed(self.row)
        tally = await info.context.loader(TallyByConsultationIdLoader).load(self.row.id)
        return tally or resolvers.consultations.Tally(None, 0, 0, 0, 0)

    @strawberry.field
    async def village(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.row.village_code)
        assert unit is not None
        return unit

    @strawberry.field(
        description="Options, indexes from 0; their votes are sealed (null) until it closes."
    )
    async def options(self) -> list[ConsultationOption]:
        votes = self.row.votes if self.row.closed_at is not None else None
        return [
            ConsultationOption(index=i, label=label, votes=None if votes is None else votes[i])
            for i, label in enumerate(self.row.options)
        ]

    @strawberry.field(description="Villagers on the roll.")
    async def eligible_count(self, info: Info) -> int:
        return (await self._tally(info)).electors

    @strawberry.field(description="Households with at least one villager on the roll.")
    async def eligible_households(self, info: Info) -> int:
        return (await self._tally(info)).elector_households

    @strawberry.field
    async def ballots_cast(self, info: Info) -> int:
        return (await self._tally(info)).ballots

    @strawberry.field(description="Households of which at least one member voted.")
    async def households_voted(self, info: Info) -> int:
        return (await self._tally(info)).households

    @strawberry.field(description="Ballots cast over villagers on the roll, 0 to 1.")
    async def turnout(self, info: Info) -> float:
        tally = await self._tally(info)
        return tally.ballots / tally.electors if tally.electors else 0.0

    @strawberry.field(description="Ballots by channel: app, paper, proxy (turnout, no options).")
    async def ballots_by_channel(self, info: Info) -> BallotChannels:
        channels = await info.context.loader(ChannelsByConsultationIdLoader).load(self.row.id)
        return BallotChannels(app=channels.app, paper=channels.paper, proxy=channels.proxy)

    @strawberry.field(description="The villagers' proposal it was scheduled from (art. 21).")
    async def proposal(self, info: Info) -> ConsultationProposal | None:
        row = await info.context.loader(ProposalByConsultationIdLoader).load(self.row.id)
        return None if row is None else ConsultationProposal.from_row(row)

    @strawberry.field(description="How the resolution is carried out, once started.")
    async def execution(self, info: Info) -> ResolutionExecution | None:
        return await execution_of(info, self.row.id)

    @strawberry.field(description="The option that won, when closed and passed.")
    def result(self) -> ConsultationOption | None:
        index = self.row.winning_option
        if index is None or self.row.votes is None:
            return None
        assert self.row.votes is not None  # a winner is fixed with the counts, on closing
        return ConsultationOption(
            index=index, label=self.row.options[index], votes=self.row.votes[index]
        )

    @strawberry.field(description="The caller's own ballot (option index), if it voted.")
    async def my_ballot(self, info: Info) -> int | None:
        return await info.context.loader(MyBallotByConsultationIdLoader).load(self.row.id)

    @strawberry.field(description="Whether the caller is on the roll.")
    async def eligible(self, info: Info) -> bool:
        return await info.context.loader(ElectorByConsultationIdLoader).load(self.row.id)

    @strawberry.field(description="The resolution published on the AFFAIRS board.")
    async def resolution(self, info: Info) -> Notice | None:
        notice_id = self.row.resolution_notice_id
        if notice_id is None:
            return None
        row = await info.context.loader(NoticeByIdLoader).load(notice_id)
        return None if row is None else Notice.from_row(row)

    @strawberry.field(description="Deliberation: villagers' comments, oldest first.")
    async def comments(self, info: Info) -> list[ConsultationComment]:
        rows = await info.context.loader(CommentsByConsultationIdLoader).load(self.row.id)
        return [
            ConsultationComment(
                id=strawberry.ID(str(r.id)),
                author_name=r.author_name,
                body=r.body,
                created_at=r.created_at,
            )
            for r in rows
        ]


ConsultationConnection = Connection[Consultation]


@strawberry.input
class CreateConsultationInput:
    unit: strawberry.ID
    title: str
    description: str
    options: list[str]
    opens_at: datetime
    closes_at: datetime
    rule: ConsultationRule | None = None
    eligibility: Eligibility | None = None


async def load_consultation(info: Info, consultation_id: int) -> ConsultationWithStatus | None:
    return await info.context.loader(ConsultationByIdLoader).load(consultation_id)


async def _visible(info: Info, id: strawberry.ID, argument: str = "id") -> ConsultationWithStatus:
    """The consultation `id` names (the argument called `argument`), if visible."""
    row = await info.context.loader(ConsultationByIdLoader).load(record_id(id, argument))
    if row is None:
        raise NotFound("No such consultation, or it is not open to you.")
    return row


@strawberry.type
class ConsultationQuery(DemocracyQuery):
    @strawberry.field(description="Consultations of the villages in a unit's subtree.")
    async def consultations(
        self,
        info: Info,
        unit: strawberry.ID,
        status: ConsultationStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Consultation]:
        page = Page(CONSULTATION_ORDER, first, after)
        lo, hi = subtree_bounds(division_code(unit))
        value = status.value if status else None
        db = info.context.db
        rows = await resolvers.consultations.page(db, lo, hi, value, page.after, page.limit)
        return page.connection(
            rows,
            Consultation.from_row,
            lambda: resolvers.consultations.count(db, lo, hi, value),
        )

    @strawberry.field(description="One consultation, when the caller may see it.")
    async def consultation(self, info: Info, id: strawberry.ID) -> Consultation | None:
        row = await info.context.loader(ConsultationByIdLoader).load(record_id(id))
        return None if row is None else Consultation.from_row(row)


def _window(opens_at: datetime, closes_at: datetime) -> None:
    if opens_at.tzinfo is None or closes_at.tzinfo is None:
        raise BadUserInput("Give times with a time zone.", argument="opensAt")
    if closes_at <= opens_at:
        raise BadUserInput("`closesAt` must be after `opensAt`.", argument="closesAt")
    if closes_at <= datetime.now(UTC):
        raise BadUserInput("`closesAt` must be in the future.", argument="closesAt")
    if (closes_at - opens_at).days > MAX_WINDOW_DAYS:
        raise BadUserInput(
            f"A voting window may last at most {MAX_WINDOW_DAYS} days.", argument="closesAt"
        )


def _rule_and_roll(
    rule: ConsultationRule | None, eligibility: Eligibility | None
) -> tuple[ConsultationRule, Eligibility]:
    rule = rule or ConsultationRule.VILLAGERS_ASSEMBLY
    representatives = rule is ConsultationRule.REPRESENTATIVES_MEETING
    eligibility = eligibility or (
        Eligibility.REPRESENTATIVES if representatives else Eligibility.VILLAGERS
    )
    if representatives != (eligibility is Eligibility.REPRESENTATIVES):
        raise BadUserInput(
            "A representatives' meeting is voted by the representatives, and only it.",
            argument="eligibility",
        )
    return rule, eligibility


async def _open(
    info: Info,
    code: int,
    title: str,
    description: str,
    options: list[str],
    window: tuple[datetime, datetime],
    rule: ConsultationRule,
    eligibility: Eligibility,
    account_id: int,
) -> ConsultationWithStatus:
    row, electors = await resolvers.consultations.create(
        info.context.db,
        code,
        title,
        description,
        options,
        *window,
        rule.value,
        eligibility.value,
        account_id,
    )
    if electors == 0:
        raise BadUserInput(
            "Nobody is eligible: the roll would be empty (villagers need a birth date; "
            "representatives an appointment in office).",
            argument="eligibility",
        )
    return row


def _option(row: ConsultationWithStatus, option: int) -> None:
    if not 0 <= option < len(row.options):
        raise BadUserInput(
            f"`option` must be between 0 and {len(row.options) - 1}.", argument="option"
        )


def _ballot_refusals(who: str) -> Any:
    return database_refusals(
        unique=Conflict(
            f"{who} already voted in this consultation (in the app, on paper or by proxy)."
        ),
        foreign_key=Forbidden(f"{who} not on the roll of this consultation."),
        wrong_state=Conflict("Voting is not open for this consultation.", reason="NOT_OPEN"),
    )


@strawberry.type
class ConsultationMutation(DemocracyMutation):
    @strawberry.mutation(description="Put a matter to the village's vote (码上协商).")
    async def create_consultation(self, info: Info, input: CreateConsultationInput) -> Consultation:
        code = division_code(input.unit)
        title = text(input.title, "title", max_length=200)
        description = text(input.description, "description", max_length=20000)
        options = [text(o, "options", max_length=200) for o in input.options]
        if not 2 <= len(options) <= 20 or len(set(options)) != len(options):
            raise BadUserInput("Give between 2 and 20 distinct options.", argument="options")
        _window(input.opens_at, input.closes_at)
        rule, eligibility = _rule_and_roll(input.rule, input.eligibility)
        principal = await village_writer(info, code, "create consultations", "unit")
        row = await _open(
            info,
            code,
            title,
            description,
            options,
            (input.opens_at, input.closes_at),
            rule,
            eligibility,
            principal.account_id,
        )
        return Consultation.from_row(row)

    @strawberry.mutation(
        description="Schedule a villagers' proposal as a vote (the committee convenes, art. 21).",
        extensions=guarded(LoggedIn("schedule proposals")),
    )
    async def schedule_proposal(
        self, info: Info, proposal: strawberry.ID, opens_at: datetime, closes_at: datetime
    ) -> Consultation:
        found = await info.context.loader(ProposalByIdLoader).load(record_id(proposal, "proposal"))
        if found is None:
            raise NotFound("No such proposal, or it is not open to you.", argument="proposal")
        principal = await village_writer(info, found.village_code, "schedule proposals", "proposal")
        if found.consultation_id is not None:
            raise Conflict("This proposal is already scheduled.")
        _window(opens_at, closes_at)
        rule, eligibility = _rule_and_roll(ConsultationRule(found.rule), None)
        row = await _open(
            info,
            found.village_code,
            found.title,
            found.description,
            list(found.options),
            (opens_at, closes_at),
            rule,
            eligibility,
            principal.account_id,
        )
        await resolvers.democracy.link_consultation(info.context.db, found, row.id)
        task_id = found.convening_task_id
        if task_id is not None:
            task = await info.context.loader(TaskByIdLoader).load(task_id)
            if task is not None and task.completed_at is None:
                note = f"已安排表决（协商 {row.id}）。"
                await resolvers.tasks.complete(info.context.db, task, principal.account_id, note)
        return Consultation.from_row(row)

    @strawberry.mutation(
        description="Cast the caller's one secret ballot, or, with `onBehalfOf`, the ballot "
        "of an elector who authorised the caller as proxy.",
        extensions=guarded(LoggedIn("vote")),
    )
    async def cast_ballot(
        self,
        info: Info,
        consultation: strawberry.ID,
        option: int,
        on_behalf_of: strawberry.ID | None = None,
    ) -> Consultation:
        row = await _visible(info, consultation, "consultation")
        _option(row, option)
        if not row.voting_open:
            raise Conflict("Voting is not open for this consultation.", reason="NOT_OPEN")
        _, home = await villager(info, "Only villagers on the roll may vote.")
        db = info.context.db
        me = (home.village, home.resident_id)
        if on_behalf_of is not None:
            authorised = await resolvers.consultations.proxy_principal(
                db, row, record_id(on_behalf_of, "onBehalfOf")
            )
            if authorised is None:
                # the authorisation is data in the database, like the roll
                raise Forbidden("You are not on the roll of this consultation.")
            elector = (authorised.principal_village, authorised.principal_id)
            with _ballot_refusals("That elector has"):
                await resolvers.consultations.cast_ballot(db, row, option, elector, proxy=me)
            return Consultation.from_row(row)
        if not await resolvers.consultations.is_elector(db, row, *me):
            raise Forbidden("You are not on the roll of this consultation.")
        with _ballot_refusals("You have"):
            await resolvers.consultations.cast_ballot(db, row, option, me)
        return Consultation.from_row(row)

    @strawberry.mutation(
        description="Record a paper ballot cast at a polling station, co-signed by a "
        "supervisory-committee member (`witness`, a cadre id) who is not the recorder.",
        extensions=guarded(LoggedIn("record paper ballots")),
    )
    async def record_paper_ballot(
        self,
        info: Info,
        consultation: strawberry.ID,
        elector: strawberry.ID,
        option: int,
        witness: strawberry.ID,
    ) -> Consultation:
        row = await _visible(info, consultation, "consultation")
        principal = await village_writer(
            info, row.village_code, "record paper ballots", "consultation"
        )
        _option(row, option)
        if not row.voting_open:
            raise Conflict("Voting is not open for this consultation.", reason="NOT_OPEN")
        db = info.context.db
        entry = await resolvers.consultations.elector_of(db, row, record_id(elector, "elector"))
        if entry is None:
            raise NotFound("No such elector on the roll of this consultation.", argument="elector")
        with (
            _ballot_refusals("That elector has"),
            database_refusals(
                check=BadUserInput(
                    "`witness` must be a supervisory-committee member of the village in office, "
                    "not the cadre recording the ballot.",
                    argument="witness",
                )
            ),
        ):
            await resolvers.consultations.record_paper_ballot(
                db,
                row,
                option,
                (entry.resident_village, entry.resident_id),
                record_id(witness, "witness"),
                principal.account_id,
            )
        return Consultation.from_row(row)

    @strawberry.mutation(
        description="Authorise a close relative (same household) on the same roll to vote for "
        "an elector: the caller itself, or, recorded by the village's staff from a written "
        "authorisation, `elector`. A proxy holds at most three (art. 15).",
        extensions=guarded(LoggedIn("authorise a proxy")),
    )
    async def authorize_proxy(
        self,
        info: Info,
        consultation: strawberry.ID,
        proxy: strawberry.ID,
        elector: strawberry.ID | None = None,
    ) -> ProxyAuthorization:
        row = await _visible(info, consultation, "consultation")
        if row.closed_at is not None:
            raise Conflict("This consultation is closed.")
        db = info.context.db
        if elector is not None:
            principal = await village_writer(info, row.village_code, "record proxies", "elector")
            entry = await resolvers.consultations.elector_of(db, row, record_id(elector, "elector"))
            if entry is None:
                raise NotFound("No such elector on the roll.", argument="elector")
        else:
            principal, home = await villager(
                info, "Only an elector on the roll authorises a proxy."
            )
            entry = await resolvers.consultations.elector_of(db, row, home.resident_id)
            if entry is None:
                raise Forbidden("You are not on the roll of this consultation.")
        proxy_id = record_id(proxy, "proxy")
        with database_refusals(
            unique=Conflict("This elector has already authorised a proxy."),
            foreign_key=BadUserInput("The proxy must be on the same roll.", argument="proxy"),
            check=BadUserInput(
                "The proxy must be a close relative (same household) on the same roll, "
                "neither the elector nor anyone's proxy-giver.",
                argument="proxy",
            ),
            wrong_state=Conflict("This proxy already votes for three electors."),
        ):
            made = await resolvers.consultations.authorize_proxy(
                db,
                row,
                (entry.resident_village, entry.resident_id),
                (entry.resident_village, proxy_id),
                principal.account_id,
            )
        return ProxyAuthorization(
            consultation_id=strawberry.ID(str(row.id)),
            principal_id=strawberry.ID(str(made.principal_id)),
            proxy_id=strawberry.ID(str(made.proxy_id)),
            authorized_at=made.authorized_at,
        )

    @strawberry.mutation(
        description="Close the vote: fix turnout and result, publish the resolution. Before "
        "`closesAt` only once every elector has voted.",
        extensions=guarded(LoggedIn("close consultations")),
    )
    async def close_consultation(self, info: Info, id: strawberry.ID) -> Consultation:
        row = await _visible(info, id)
        principal = await village_writer(info, row.village_code, "close consultations", "id")
        early = Conflict(
            "Voting is still open: it closes early only when every elector has voted.",
            reason="VOTING_CONTINUES",
        )
        if row.closed_at is None and row.voting_open:
            tally = await info.context.loader(TallyByConsultationIdLoader).load(row.id)
            if tally is not None and tally.ballots < tally.electors:
                raise early
        with database_refusals(wrong_state=early):
            closed = await resolvers.consultations.close(
                info.context.db, row.id, principal.account_id, None
            )
        if closed is None:
            raise Conflict("This consultation is already closed.")
        return Consultation.from_row(closed)

    @strawberry.mutation(
        description="Comment on an open consultation (deliberation).",
        extensions=guarded(LoggedIn("comment")),
    )
    async def comment_on_consultation(
        self, info: Info, consultation: strawberry.ID, body: str
    ) -> ConsultationComment:
        content = text(body, "body", max_length=2000)
        row = await _visible(info, consultation, "consultation")
        principal = await authorize(
            info,
            Principal.may_read_village,
            row.village_code,
            refusal="Only the village's members and staff may deliberate here.",
        )
        if row.status == "CLOSED":
            raise Conflict("This consultation is closed.")
        comment = await resolvers.consultations.comment(
            info.context.db, row, content, principal.account_id, principal.display_name
        )
        return ConsultationComment(
            id=strawberry.ID(str(comment.id)),
            author_name=comment.author_name,
            body=comment.body,
            created_at=comment.created_at,
        )
