"""The ledger (村情记录 / 电子台账): cadres record village affairs, append-only (a correction
is a new entry naming the one it corrects); superiors search it by keyword over their
subtree for remote inspection (远程验收), and every such read from outside a village is
recorded (schema/inspections.py lists them).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from villagegraph import resolvers
from villagegraph.errors import BadUserInput, Conflict, NotFound
from villagegraph.models.ledger import LedgerEntryBase
from villagegraph.resolvers.ledger import (
    CorrectionByLedgerEntryIdLoader,
    LedgerEntryByIdLoader,
    LedgerFilter,
)
from villagegraph.schema.context import Info
from villagegraph.schema.guards import (
    LoggedIn,
    WritesUnit,
    authorize,
    caller,
    guarded,
    require_caller,
)
from villagegraph.schema.hierarchy import OrgUnit, load_unit, subtree_bounds
from villagegraph.schema.inputs import LOCAL_TIME, division_code, record_id, text
from villagegraph.schema.pagination import Connection, Keyset, Page
from villagegraph.schema.tasks import attachment_links
from villagegraph.tenants.principal import Principal

MAX_TERMS = 5


# The sort keys, and so the cursors, of the connection fields below (schema/pagination.py).
LEDGER_ORDER = Keyset(("relevance", int), ("occurred_on", date), ("id", int))


@strawberry.type(description="村情记录: one entry of a village's ledger.")
class LedgerEntry:
    id: strawberry.ID
    category: str
    occurred_on: date
    text: str
    attachments: list[str] = strawberry.field(description="Links to attached documents.")
    recorded_at: datetime
    village_code: strawberry.Private[int]
    corrects_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: LedgerEntryBase) -> LedgerEntry:
        return cls(
            id=strawberry.ID(str(row.id)),
            category=row.category,
            occurred_on=row.occurred_on,
            text=row.text,
            attachments=list(row.attachments),
            recorded_at=row.recorded_at,
            village_code=row.village_code,
            corrects_id=row.corrects_id,
        )

    @strawberry.field
    async def village(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.village_code)
        assert unit is not None
        return unit

    @strawberry.field(description="The entry this one corrects, if it is a correction.")
    async def corrects(self, info: Info) -> LedgerEntry | None:
        if self.corrects_id is None:
            return None
        row = await info.context.loader(LedgerEntryByIdLoader).load(self.corrects_id)
        return None if row is None else LedgerEntry.from_row(row)

    @strawberry.field(description="The latest correction of this entry, if any.")
    async def corrected_by(self, info: Info) -> LedgerEntry | None:
        row = await info.context.loader(CorrectionByLedgerEntryIdLoader).load(int(self.id))
        return None if row is None else LedgerEntry.from_row(row)


LedgerEntryConnection = Connection[LedgerEntry]


@strawberry.input
class LedgerEntryInput:
    village: strawberry.ID
    category: str
    occurred_on: date
    text: str
    attachments: list[str] | None = None


@strawberry.input
class LedgerCorrectionInput:
    text: str
    category: str | None = None
    occurred_on: date | None = None
    attachments: list[str] | None = None


def past_day(value: date, argument: str = "occurredOn") -> date:
    """A ledger records what happened: no date after today (Asia/Shanghai)."""
    if value > datetime.now(LOCAL_TIME).date():
        raise BadUserInput(f"`{argument}` {value} is in the future.", argument=argument)
    return value


def search_terms(search: str | None) -> list[str]:
    if search is None:
        return []
    terms = list(dict.fromkeys(text(search, "search", max_length=200, required=False).split()))
    if len(terms) > MAX_TERMS:
        raise BadUserInput(f"`search` may hold at most {MAX_TERMS} keywords.", argument="search")
    return terms


@strawberry.type
class LedgerQuery:
    @strawberry.field(
        description="Current ledger entries inside a unit's subtree (a corrected entry is "
        "left out for its correction unless `includeSuperseded`); with `search`, entries "
        "holding every keyword, most relevant first, then newest; `category` and the "
        "`from`/`to` dates (inclusive) narrow it."
    )
    async def ledger(
        self,
        info: Info,
        unit: strawberry.ID,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
        category: str | None = None,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
        include_superseded: bool = False,
    ) -> Connection[LedgerEntry]:
        page = Page(LEDGER_ORDER, first, after)
        code = division_code(unit)
        lo, hi = subtree_bounds(code)
        terms = search_terms(search)
        if from_ and to and from_ > to:
            raise BadUserInput("`from` must not be after `to`.", argument="from")
        narrow = LedgerFilter(
            category=text(category, "category", max_length=50) if category is not None else None,
            since=from_,
            until=to,
            include_superseded=include_superseded,
        )
        db = info.context.db
        rows = await resolvers.ledger.subtree_page(
            db, lo, hi, terms, page.after, page.limit, narrow
        )
        principal = await caller(info)
        if principal is not None:
            await resolvers.inspections.record_inspection(
                db,
                principal,
                subject="LEDGER",
                queried_unit=code,
                villages={row.village_code for row in page.rows(rows)} | {code},
                search=" ".join(terms) or None,
            )
        return page.connection(
            rows,
            LedgerEntry.from_row,
            lambda: resolvers.ledger.subtree_count(db, lo, hi, terms, narrow),
        )


@strawberry.type
class LedgerMutation:
    @strawberry.mutation(
        description="Record an entry in a village's ledger.",
        extensions=guarded(
            WritesUnit(
                "input.village",
                argument="village",
                village=True,
                action="record ledger entries",
                refusal="Only the village's cadres and officials above it may record here.",
            )
        ),
    )
    async def record_ledger_entry(self, info: Info, input: LedgerEntryInput) -> LedgerEntry:
        principal = await require_caller(info)
        village = division_code(input.village, "village")
        row = await resolvers.ledger.record(
            info.context.db,
            village=village,
            category=text(input.category, "category", max_length=50),
            occurred_on=past_day(input.occurred_on),
            text=text(input.text, "text", max_length=20000),
            attachments=attachment_links(input.attachments),
            corrects=None,
            account_id=principal.account_id,
        )
        return LedgerEntry.from_row(row)

    @strawberry.mutation(
        description="Correct an entry: a new entry referring to it; the original stays.",
        extensions=guarded(LoggedIn("correct ledger entries")),
    )
    async def correct_ledger_entry(
        self, info: Info, id: strawberry.ID, input: LedgerCorrectionInput
    ) -> LedgerEntry:
        original = await info.context.loader(LedgerEntryByIdLoader).load(record_id(id))
        if original is None:
            raise NotFound("No such ledger entry, or it is not visible to you.", argument="id")
        village = original.village_code
        principal = await authorize(
            info,
            Principal.can_write,
            village,
            refusal="Only the village's cadres and officials above it may correct it.",
        )
        latest = await resolvers.ledger.correction_of(info.context.db, village, original.id)
        if latest is not None:
            raise Conflict(f"This entry is already corrected by entry {latest}; correct that one.")
        row = await resolvers.ledger.record(
            info.context.db,
            village=village,
            category=text(input.category, "category", max_length=50)
            if input.category is not None
            else original.category,
            occurred_on=past_day(input.occurred_on) if input.occurred_on else original.occurred_on,
            text=text(input.text, "text", max_length=20000),
            attachments=attachment_links(input.attachments)
            if input.attachments is not None
            else list(original.attachments),
            corrects=original.id,
            account_id=principal.account_id,
        )
        return LedgerEntry.from_row(row)
