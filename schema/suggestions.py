"""Suggestions (提建议): types, inputs and root fields for proposals and their answers.

Villagers-only: members of the village and staff above it read; RLS enforces it.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from villagegraph import resolvers
from villagegraph.errors import BadUserInput, Conflict, NotFound, database_refusals
from villagegraph.models.suggestions import Suggestion as SuggestionRow
from villagegraph.resolvers.suggestions import RepliesBySuggestionIdLoader, SuggestionByIdLoader
from villagegraph.schema.context import Info
from villagegraph.schema.guards import require_caller, village_writer, villager
from villagegraph.schema.hierarchy import OrgUnit, load_unit, subtree_bounds
from villagegraph.schema.inputs import division_code, record_id, text
from villagegraph.schema.pagination import Connection, Keyset, Page

# The sort key, and so the cursor, of the connection field below (schema/pagination.py).
SUGGESTION_ORDER = Keyset(("submitted_at", datetime), ("id", int))


@strawberry.enum
class SuggestionStatus(Enum):
    SUBMITTED = "SUBMITTED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    IN_PROGRESS = "IN_PROGRESS"
    ANSWERED = "ANSWERED"
    CLOSED = "CLOSED"
    REJECTED = "REJECTED"


@strawberry.type
class SuggestionReply:
    id: strawberry.ID
    body: str
    replied_at: datetime


@strawberry.type(description="提建议: a villager's proposal to its village, and the answers.")
class Suggestion:
    id: strawberry.ID
    title: str
    body: str
    status: SuggestionStatus
    reason: str | None = strawberry.field(description="Why it was rejected.")
    submitted_at: datetime
    first_answered_at: datetime | None
    updated_at: datetime
    row: strawberry.Private[SuggestionRow]

    @classmethod
    def from_row(cls, row: SuggestionRow) -> Suggestion:
        return cls(
            id=strawberry.ID(str(row.id)),
            title=row.title,
            body=row.body,
            status=SuggestionStatus(row.status),
            reason=row.reason,
            submitted_at=row.submitted_at,
            first_answered_at=row.first_answered_at,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field
    async def village(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.row.village_code)
        assert unit is not None
        return unit

    @strawberry.field(description="Whether the caller submitted it.")
    async def mine(self, info: Info) -> bool:
        return self.row.submitted_by == info.context.db.account_id

    @strawberry.field(description="Answers, oldest first.")
    async def replies(self, info: Info) -> list[SuggestionReply]:
        rows = await info.context.loader(RepliesBySuggestionIdLoader).load(self.row.id)
        return [
            SuggestionReply(id=strawberry.ID(str(r.id)), body=r.body, replied_at=r.replied_at)
            for r in rows
        ]


SuggestionConnection = Connection[Suggestion]


@strawberry.input
class SubmitSuggestionInput:
    title: str
    body: str


async def _handled(info: Info, id: strawberry.ID, action: str) -> SuggestionRow:
    await require_caller(info, action)
    row = await info.context.loader(SuggestionByIdLoader).load(record_id(id))
    if row is None:
        raise NotFound("No such suggestion, or it is not open to you.")
    await village_writer(info, row.village_code, action, "id")
    return row


@strawberry.type
class SuggestionQuery:
    @strawberry.field(description="Suggestions to the villages in a unit's subtree, newest first.")
    async def suggestions(
        self,
        info: Info,
        unit: strawberry.ID,
        status: SuggestionStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Suggestion]:
        page = Page(SUGGESTION_ORDER, first, after)
        lo, hi = subtree_bounds(division_code(unit))
        value = status.value if status else None
        db = info.context.db
        rows = await resolvers.suggestions.page(db, lo, hi, value, page.after, page.limit)
        return page.connection(
            rows,
            Suggestion.from_row,
            lambda: resolvers.suggestions.count(db, lo, hi, value),
        )

    @strawberry.field(description="One suggestion, when the caller may see it.")
    async def suggestion(self, info: Info, id: strawberry.ID) -> Suggestion | None:
        row = await info.context.loader(SuggestionByIdLoader).load(record_id(id))
        return None if row is None else Suggestion.from_row(row)


@strawberry.type
class SuggestionMutation:
    @strawberry.mutation(description="提建议: propose something to the caller's own village.")
    async def submit_suggestion(self, info: Info, input: SubmitSuggestionInput) -> Suggestion:
        title = text(input.title, "title", max_length=200)
        body = text(input.body, "body", max_length=5000)
        principal, home = await villager(
            info, "Only villagers may submit suggestions to their village.", "submit suggestions"
        )
        row = await resolvers.suggestions.submit(
            info.context.db,
            home.village,
            home.resident_id,
            principal.account_id,
            title,
            body,
        )
        return Suggestion.from_row(row)

    @strawberry.mutation(description="Answer a suggestion; the submitter is notified.")
    async def reply_to_suggestion(self, info: Info, id: strawberry.ID, body: str) -> Suggestion:
        content = text(body, "body", max_length=5000)
        row = await _handled(info, id, "answer suggestions")
        principal = await require_caller(info)
        with database_refusals(
            wrong_state=Conflict(f"A {_said(row.status)} suggestion cannot be answered.")
        ):
            answered = await resolvers.suggestions.reply(
                info.context.db, row, content, principal.account_id
            )
        return Suggestion.from_row(answered)

    @strawberry.mutation(
        description="Move a suggestion along: acknowledged, in progress, closed, rejected."
    )
    async def set_suggestion_status(
        self,
        info: Info,
        id: strawberry.ID,
        status: SuggestionStatus,
        reason: str | None = None,
    ) -> Suggestion:
        row = await _handled(info, id, "handle suggestions")
        if status is SuggestionStatus.ANSWERED:
            raise BadUserInput("Answer with replyToSuggestion.", argument="status")
        cleaned = text(reason, "reason", max_length=1000, required=False) if reason else None
        if status is SuggestionStatus.REJECTED and not cleaned:
            raise BadUserInput("A rejection needs a reason.", argument="reason")
        refused = f"A {_said(row.status)} suggestion cannot become {_said(status.value)}."
        with database_refusals(wrong_state=Conflict(refused)):
            moved = await resolvers.suggestions.move(info.context.db, row, status.value, cleaned)
        return Suggestion.from_row(moved)


def _said(status: str) -> str:
    return status.lower().replace("_", " ")
