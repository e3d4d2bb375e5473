"""Residents, households, cadres and party members as the API shows them, and their
statistics by age band, tag, gender and unit as of a date.

RLS decides which residents a caller sees; the database masks ID numbers, phones and
birth dates (vg.resident_contacts, the birth-date column expression) and protects small
statistics (vg.resident_counts). This module never decides visibility or masking itself;
it refuses identity filters to callers the database would not show the value to, so the
refusal is explicit rather than an empty answer. Admission to a village as a member goes
through membership requests that the village's own staff decide.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry

from villagegraph import resolvers
from villagegraph.errors import BadUserInput, Conflict, Forbidden, NotFound, database_refusals
from villagegraph.models.residents import Cadre as CadreRow
from villagegraph.models.residents import MembershipRequest as MembershipRequestRow
from villagegraph.resolvers.residents import (
    CadreByIdLoader,
    HouseholdByKeyLoader,
    MembershipRequestByIdLoader,
    PartyMembershipByResidentIdLoader,
    ResidentByIdLoader,
    ResidentContactByIdLoader,
    ResidentsByHouseholdLoader,
    ResidentWithBirthYear,
)
from villagegraph.schema.context import Info
from villagegraph.schema.guards import (
    LoggedIn,
    WritesUnit,
    authorize,
    caller,
    guarded,
    permits,
    require_caller,
)
from villagegraph.schema.hierarchy import OrgUnit, load_unit, require_unit, subtree_bounds
from villagegraph.schema.inputs import LOCAL_TIME, division_code, record_id, tag_list, text
from villagegraph.schema.pagination import Connection, Keyset, Page
from villagegraph.tenants.hierarchy import Level, child_divisor, level_of
from villagegraph.tenants.principal import Principal


def today() -> date:
    return datetime.now(LOCAL_TIME).date()


# The sort key, and so the cursor, of the connection field below (schema/pagination.py).
RESIDENT_ORDER = Keyset(("id", int))
MEMBERSHIP_REQUEST_ORDER = Keyset(("id", int))  # newest first: `after` pages to lower ids


@strawberry.enum
class Gender(Enum):
    MALE = "M"
    FEMALE = "F"


@strawberry.federation.type(keys=["id"], description="A registered resident (村民/居民).")
class Resident:
    id: strawberry.ID
    name: str
    tags: list[str]
    gender: Gender | None
    birth_date: date | None = strawberry.field(
        description="Exactly where idNumber is shown in full (cadres of the household "
        "village, the resident itself); null for everyone else, since a masked ID number "
        "hides exactly these digits. Use birthYear for statistics."
    )
    birth_year: int | None = strawberry.field(
        description="The year of birth, for every viewer of the row."
    )
    residence_member: bool = strawberry.field(
        description="Admitted as a member of the residence village by that village's staff."
    )
    household_no: str | None = strawberry.field(description="户号 within the household village.")
    village_code: strawberry.Private[int]
    residence_code: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: ResidentWithBirthYear) -> Resident:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            tags=list(row.tags),
            gender=Gender(row.gender) if row.gender else None,
            birth_date=row.birth_date,
            birth_year=row.birth_year,
            residence_member=bool(row.residence_member) and row.residence_code is not None,
            household_no=row.household_no,
            village_code=row.village_code,
            residence_code=row.residence_code,
        )

    @strawberry.field(description="The household-registration village (户籍所在村社).")
    async def village(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.village_code)
        assert unit is not None
        return unit

    @strawberry.field(description="The residence village (常驻村社), when it differs.")
    async def residence_village(self, info: Info) -> OrgUnit | None:
        if self.residence_code is None:
            return None
        return await load_unit(info, self.residence_code)

    @strawberry.field(
        description="身份证号: in full only for cadres of the household village (and the "
        "resident itself), otherwise masked like 330302********1234. Each full read by "
        "someone other than the resident is recorded (vg.personal_data_reads)."
    )
    async def id_number(self, info: Info) -> str | None:
        contact = await info.context.loader(ResidentContactByIdLoader).load(int(self.id))
        return None if contact is None else contact.id_number

    @strawberry.field(description="Phone: in full only where idNumber is, else 138****0010.")
    async def phone(self, info: Info) -> str | None:
        contact = await info.context.loader(ResidentContactByIdLoader).load(int(self.id))
        return None if contact is None else contact.phone

    @strawberry.field(description="The household (户) in the register, for staff.")
    async def household(self, info: Info) -> Household | None:
        if self.household_no is None:
            return None
        key = (self.village_code, self.household_no)
        row = await info.context.loader(HouseholdByKeyLoader).load(key)
        if row is None:
            return None
        return Household(
            number=row.household_no,
            address=row.address,
            registered_on=row.registered_on,
            village_code=row.village_code,
        )

    @strawberry.field(description="党籍: the current or latest party membership, if any.")
    async def party_membership(self, info: Info) -> PartyMembership | None:
        row = await info.context.loader(PartyMembershipByResidentIdLoader).load(int(self.id))
        if row is None:
            return None
        return PartyMembership(
            joined_on=row.joined_on, left_on=row.left_on, branch_code=row.branch_code
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Resident | None:
        if not str(id).isdigit():
            return None
        row = await info.context.loader(ResidentByIdLoader).load(int(id))
        return None if row is None else cls.from_row(row)


@strawberry.type(description="A household (户) of the register.")
class Household:
    number: str = strawberry.field(description="户号")
    address: str | None
    registered_on: date | None
    village_code: strawberry.Private[int]

    @strawberry.field(description="Members the caller may see, in id order.")
    async def members(self, info: Info) -> list[Resident]:
        rows = await info.context.loader(ResidentsByHouseholdLoader).load(
            (self.village_code, self.number)
        )
        return [Resident.from_row(row) for row in rows]


@strawberry.type(description="Membership of the Communist Party of China (党员) with its dates.")
class PartyMembership:
    joined_on: date
    left_on: date | None
    branch_code: strawberry.Private[int]

    @strawberry.field(description="The party branch (党支部), by its village or community.")
    async def branch(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.branch_code)
        assert unit is not None
        return unit


ResidentConnection = Connection[Resident]


@strawberry.enum(description="Where a membership request stands.")
class MembershipStatus(Enum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    ENDED = "ENDED"  # the resident moved or left after being admitted


@strawberry.type(
    description="A request that a village admit a resident living there as a member "
    "(接纳为本村成员). Asked by the household village's staff (or the resident); decided "
    "only by the staff of the village asked."
)
class MembershipRequest:
    id: strawberry.ID
    status: MembershipStatus
    requested_at: datetime
    decided_at: datetime | None
    reason: str | None
    village_code: strawberry.Private[int]
    resident_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: MembershipRequestRow) -> MembershipRequest:
        return cls(
            id=strawberry.ID(str(row.id)),
            status=MembershipStatus(row.status),
            requested_at=row.requested_at,
            decided_at=row.decided_at,
            reason=row.reason,
            village_code=row.village_code,
            resident_id=row.resident_id,
        )

    @strawberry.field(description="The village asked to admit the resident.")
    async def village(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.village_code)
        assert unit is not None
        return unit

    @strawberry.field(description="The resident, when the caller may see it.")
    async def resident(self, info: Info) -> Resident | None:
        row = await info.context.loader(ResidentByIdLoader).load(self.resident_id)
        return None if row is None else Resident.from_row(row)


@strawberry.enum(description="A way to group resident statistics.")
class ResidentDimension(Enum):
    AGE_BAND = "AGE_BAND"  # 年龄段 on the statistics date
    GENDER = "GENDER"
    TAG = "TAG"  # 低保, 党员, 老人 …: a resident counts under each of its tags
    UNIT = "UNIT"  # the child unit one tier down (the village itself for a village)


@strawberry.type(description="One cell of a grouped head count.")
class ResidentGroup:
    age_band: str | None = strawberry.field(description="0-17, 18-34, 35-59, 60-79, 80+.")
    gender: Gender | None
    tag: str | None = strawberry.field(description="Null under TAG: residents with no tag.")
    count: int
    unit_code: strawberry.Private[int | None]

    @strawberry.field
    async def unit(self, info: Info) -> OrgUnit | None:
        return None if self.unit_code is None else await load_unit(info, self.unit_code)


PROTECTION = (
    "Unless the caller is a cadre of the one village asked about, counts are protected: "
    "a group of fewer than minGroupSize residents is left out (a scalar reads 0) and every "
    "other count is perturbed by -2..+2, the same for the same people every time."
)


@strawberry.type(
    description="Head counts of a subtree as of a date (history-stable). " + PROTECTION
)
class ResidentStatistics:
    unit: OrgUnit
    on: date
    total: int = strawberry.field(description="0 when fewer than minGroupSize (protected).")
    groups: list[ResidentGroup] = strawberry.field(
        description="Groups of at least minGroupSize when protected."
    )
    protected: bool = strawberry.field(description="Whether the counts are protected.")
    suppressed_groups: int = strawberry.field(
        description="How many groups were left out for being too small."
    )
    min_group_size: int
    lo: strawberry.Private[int]
    hi: strawberry.Private[int]

    @strawberry.field(description="党员 with a membership on that date (0: protected, too few).")
    async def party_members(self, info: Info) -> int:
        count = await resolvers.residents.party_member_count(
            info.context.db, self.lo, self.hi, self.on
        )
        return count or 0

    @strawberry.field(description="Cadre positions held on that date.")
    async def cadres(self, info: Info) -> list[Cadre]:
        rows = await resolvers.residents.cadres_serving(info.context.db, self.lo, self.hi, self.on)
        return [Cadre.from_row(row) for row in rows]


@strawberry.enum(description="村(居)民委员会, 党支部, 村务监督委员会 or 村民代表.")
class CadreBody(Enum):
    COMMITTEE = "COMMITTEE"
    PARTY_BRANCH = "PARTY_BRANCH"
    # 村务监督委员会 (Organic Law arts. 32-33): no committee member nor their household.
    SUPERVISORY_COMMITTEE = "SUPERVISORY_COMMITTEE"
    # 村民代表 (art. 25): villagers, at most one per five households.
    REPRESENTATIVES = "REPRESENTATIVES"


@strawberry.type(description="A village cadre position (村干部) with its term.")
class Cadre:
    id: strawberry.ID
    name: str
    body: CadreBody
    position: str = strawberry.field(description="书记, 主任, 委员 …")
    term_start: date
    term_end: date | None
    village_code: strawberry.Private[int]
    resident_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: CadreRow) -> Cadre:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            body=CadreBody(row.body),
            position=row.position,
            term_start=row.term_start,
            term_end=row.term_end,
            village_code=row.village_code,
            resident_id=row.resident_id,
        )

    @strawberry.field
    async def village(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.village_code)
        assert unit is not None
        return unit

    @strawberry.field(description="The cadre's resident record, when the caller may see it.")
    async def resident(self, info: Info) -> Resident | None:
        if self.resident_id is None:
            return None
        row = await info.context.loader(ResidentByIdLoader).load(self.resident_id)
        return None if row is None else Resident.from_row(row)


@strawberry.input
class AppointCadreInput:
    village: strawberry.ID
    name: str
    body: CadreBody
    position: str
    term_start: date
    resident: strawberry.ID | None = None


@strawberry.input(description="Only the fields given change; the change is dated `effectiveOn`.")
class UpdateResidentInput:
    tags: list[str] | None = None
    residence: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="常驻村社; null: lives where registered."
    )
    residence_member: bool | None = strawberry.field(
        default=None,
        description="false ends the membership in the residence village; true asks that "
        "village to admit the resident (a membership request its staff decide), it does not "
        "admit by itself.",
    )
    effective_on: date | None = strawberry.field(
        default=None, description="When the change took effect (default today; not future)."
    )


def _identity(value: str | None, argument: str) -> str | None:
    return None if value is None else text(value, argument, max_length=32)


async def _require_full_identity_view(info: Info, unit: int) -> None:
    """Exact-match identity filters only where the caller sees ID numbers in full: a cadre
    of the village (the database answers nobody elsewhere, vg.resident_ids_by_identity)."""
    if not await permits(info, Principal.is_cadre_of, unit) or level_of(unit) is not Level.VILLAGE:
        # FORBIDDEN for anonymous callers too: logging in would not make them a cadre here.
        raise Forbidden(
            "Only cadres of the village may look residents up by ID number or phone; ask "
            "for one village whose cadre you are."
        )


@strawberry.type
class ResidentQuery:
    @strawberry.field(
        description="Residents registered in a unit's subtree, optionally having all the "
        "tags or an exact ID number / phone (drill-down from statistics). The idNumber and "
        "phone filters are for the cadres of the village asked about, who see those values "
        "in full; anyone else is refused with FORBIDDEN, never answered with a count."
    )
    async def residents(
        self,
        info: Info,
        unit: strawberry.ID,
        tags: list[str] | None = None,
        id_number: str | None = None,
        phone: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Resident]:
        page = Page(RESIDENT_ORDER, first, after)
        lo, hi = subtree_bounds(division_code(unit))
        wanted = tag_list(tags, "tags")
        number, mobile = _identity(id_number, "idNumber"), _identity(phone, "phone")
        if number is not None or mobile is not None:
            await _require_full_identity_view(info, lo)
        db = info.context.db
        rows = await resolvers.residents.residents_page(
            db, lo, hi, wanted, number, mobile, page.after_or_none()[0], page.limit
        )
        return page.connection(
            rows,
            Resident.from_row,
            lambda: resolvers.residents.residents_count(db, lo, hi, wanted, number, mobile),
        )

    @strawberry.field(
        description="Head counts of a subtree on a date (default today), grouped by any of "
        "age band, gender, tag and child unit; null outside the caller's scope."
    )
    async def resident_statistics(
        self,
        info: Info,
        unit: strawberry.ID,
        on: date | None = None,
        by: list[ResidentDimension] | None = None,
        tags: list[str] | None = None,
    ) -> ResidentStatistics | None:
        code = division_code(unit)
        wanted = tag_list(tags, "tags")
        principal = await caller(info)
        if principal is None or not principal.can_read_subtree(code):
            return None
        root = await load_unit(info, code)
        if root is None:
            return None
        level = level_of(code)
        divisor = child_divisor(level) if level is not Level.VILLAGE else None
        lo, hi = subtree_bounds(code)
        day = on or today()
        dimensions = sorted({d.value for d in by or []})
        rows = await resolvers.residents.resident_groups(
            info.context.db, lo, hi, day, dimensions, divisor, wanted
        )
        total = next((row.residents for row in rows if row.is_total), 0) or 0
        cells = [row for row in rows if not row.is_total]
        groups = [
            ResidentGroup(
                age_band=row.age_band,
                gender=Gender(row.gender) if row.gender else None,
                tag=row.tag,
                count=row.residents,
                unit_code=row.unit,
            )
            for row in cells
            if row.residents is not None
        ]
        return ResidentStatistics(
            unit=root,
            on=day,
            total=total,
            groups=groups,
            protected=not (
                lo == hi and ("CADRE", lo) in {(g.role, g.unit) for g in principal.grants}
            ),
            suppressed_groups=len(cells) - len(groups),
            min_group_size=info.context.settings.min_group_size,
            lo=lo,
            hi=hi,
        )

    @strawberry.field(
        description="Membership requests to the villages of a subtree, newest first: the "
        "staff of those villages decide them; the household village's staff follow theirs."
    )
    async def membership_requests(
        self,
        info: Info,
        unit: strawberry.ID,
        status: MembershipStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[MembershipRequest]:
        page = Page(MEMBERSHIP_REQUEST_ORDER, first, after)
        lo, hi = subtree_bounds(division_code(unit))
        state = None if status is None else status.value
        db = info.context.db
        rows = await resolvers.residents.membership_requests_page(
            db, lo, hi, state, page.after_or_none()[0], page.limit
        )
        return page.connection(
            rows,
            MembershipRequest.from_row,
            lambda: resolvers.residents.membership_requests_count(db, lo, hi, state),
        )

    @strawberry.field(description="Cadre positions in a subtree held on a date (default today).")
    async def cadres(self, info: Info, unit: strawberry.ID, on: date | None = None) -> list[Cadre]:
        lo, hi = subtree_bounds(division_code(unit))
        rows = await resolvers.residents.cadres_serving(info.context.db, lo, hi, on or today())
        return [Cadre.from_row(row) for row in rows]


@strawberry.type
class ResidentMutation:
    @strawberry.mutation(
        description="Record a cadre position taken up (换届, 补选).",
        extensions=guarded(
            WritesUnit(
                "input.village",
                argument="village",
                village=True,
                action="appoint cadres",
                refusal="Only cadres of this village and officials above may appoint.",
            )
        ),
    )
    async def appoint_cadre(self, info: Info, input: AppointCadreInput) -> Cadre:
        principal = await require_caller(info)
        village = division_code(input.village, "village")
        resident_id = None
        if input.resident is not None:
            resident_id = record_id(input.resident, "resident")
            resident = await info.context.loader(ResidentByIdLoader).load(resident_id)
            if resident is None or resident.village_code != village:
                raise NotFound("No such resident registered in this village.", argument="resident")
        refused = BadUserInput(
            "Supervisory-committee members and representatives are villagers of the village "
            "(`resident`); no committee member nor anyone of their household supervises it; "
            "at most one representative per five households.",
            argument="resident",
        )
        with database_refusals(check=refused):
            row = await resolvers.residents.appoint_cadre(
                info.context.db,
                village,
                text(input.name, "name", max_length=50),
                input.body.value,
                text(input.position, "position", max_length=30),
                resident_id,
                input.term_start,
                principal.account_id,
            )
        return Cadre.from_row(row)

    @strawberry.mutation(
        description="Update a resident's tags or residence village; earlier dates keep "
        "their figures (the history records the change from `effectiveOn`).",
        extensions=guarded(LoggedIn("update residents")),
    )
    async def update_resident(
        self, info: Info, id: strawberry.ID, input: UpdateResidentInput
    ) -> Resident:
        resident = await info.context.loader(ResidentByIdLoader).load(record_id(id))
        if resident is None:
            raise NotFound("No such resident, or not one you may see.")
        principal = await authorize(
            info,
            Principal.can_write,
            resident.village_code,
            refusal="Only cadres of the household village and officials above may edit.",
        )
        changes: dict[str, Any] = {}
        if input.tags is not None:
            changes["tags"] = tag_list(input.tags, "tags")
        if input.residence is not strawberry.UNSET:
            residence = None
            if input.residence is not None:
                residence = division_code(input.residence, "residence")
                if level_of(residence) is not Level.VILLAGE:
                    raise BadUserInput("`residence` must be a village.", argument="residence")
                await require_unit(info, residence, "residence")
            changes["residence_code"] = None if residence == resident.village_code else residence
        if input.residence_member is False:
            changes["residence_member"] = False
        if not changes and not input.residence_member:
            raise BadUserInput("Nothing to change.", argument="input")
        effective = input.effective_on or today()
        if effective > today():
            raise BadUserInput("`effectiveOn` must not be in the future.", argument="effectiveOn")
        since = await resolvers.residents.open_version_start(info.context.db, resident.id)
        if since is not None and effective < since:
            raise BadUserInput(
                f"`effectiveOn` is before the last recorded change ({since}).",
                argument="effectiveOn",
            )
        row = resident
        if changes:
            row = await resolvers.residents.update_resident(
                info.context.db, resident, changes, effective
            )
        if input.residence_member and not row.residence_member:
            await _ask_admission(info, row, principal.account_id)
        return Resident.from_row(row)

    @strawberry.mutation(
        description="Ask the resident's residence village to admit it as a member. For the "
        "staff of the household village and the resident itself; the residence village's "
        "staff decide (acceptMembership / rejectMembership).",
        extensions=guarded(LoggedIn("request memberships")),
    )
    async def request_membership(self, info: Info, resident: strawberry.ID) -> MembershipRequest:
        row = await info.context.loader(ResidentByIdLoader).load(record_id(resident, "resident"))
        if row is None:
            raise NotFound("No such resident, or not one you may see.", argument="resident")
        principal = await authorize(
            info,
            Principal.acts_for_resident,
            row.village_code,
            row.id,
            refusal="Only the household village's staff or the resident may ask.",
        )
        return MembershipRequest.from_row(await _ask_admission(info, row, principal.account_id))

    @strawberry.mutation(description="Admit the resident: for the staff of the village asked.")
    async def accept_membership(self, info: Info, id: strawberry.ID) -> MembershipRequest:
        return await _decide(info, id, "ACCEPTED", None)

    @strawberry.mutation(description="Refuse admission, saying why: for the village's staff.")
    async def reject_membership(
        self, info: Info, id: strawberry.ID, reason: str
    ) -> MembershipRequest:
        return await _decide(info, id, "REJECTED", text(reason, "reason", max_length=500))

    @strawberry.mutation(
        description="Close a cadre's term; the position stays in history.",
        extensions=guarded(LoggedIn("end cadre terms")),
    )
    async def end_cadre_term(self, info: Info, id: strawberry.ID, on: date) -> Cadre:
        cadre = await info.context.loader(CadreByIdLoader).load(record_id(id))
        if cadre is None:
            raise NotFound("No such cadre position.")
        await authorize(
            info,
            Principal.can_write,
            cadre.village_code,
            refusal="Only cadres of this village and officials above may end terms.",
        )
        if cadre.term_end is not None:
            raise Conflict("This term has already ended.")
        if on <= cadre.term_start:
            raise BadUserInput("`on` must be after the term started.", argument="on")
        return Cadre.from_row(await resolvers.residents.end_cadre_term(info.context.db, cadre, on))


async def _ask_admission(
    info: Info, resident: ResidentWithBirthYear, account_id: int
) -> MembershipRequestRow:
    """A pending request to the resident's residence village (or the open one there)."""
    village = resident.residence_code
    if village is None or village == resident.village_code:
        raise BadUserInput(
            "The resident lives in its household village; set `residence` first.",
            argument="residenceMember",
        )
    row = await resolvers.residents.request_membership(
        info.context.db, resident, village, account_id
    )
    if row is None:
        raise Conflict("A request to this village is already pending or accepted.")
    return row


async def _decide(
    info: Info, id: strawberry.ID, status: str, reason: str | None
) -> MembershipRequest:
    await require_caller(info, "decide memberships")
    request = await info.context.loader(MembershipRequestByIdLoader).load(record_id(id))
    if request is None:
        raise NotFound("No such membership request, or not one you may see.")
    principal = await authorize(
        info,
        Principal.can_write,
        request.village_code,
        refusal="Only the staff of the village asked may decide its admissions.",
    )
    if request.status != "PENDING":
        raise Conflict(f"This request is already {request.status.lower()}.")
    row = await resolvers.residents.decide_membership(
        info.context.db, request, status, reason, principal.account_id
    )
    if row is None:
        raise Conflict("This request was decided meanwhile.")
    return MembershipRequest.from_row(row)
