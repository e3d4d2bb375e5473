"""Disaster shelters (避灾安置场所): public nearest-first search with a navigation link;
cadres and officials maintain them and can open a whole subtree's in an emergency,
which publishes a notice listing them to every resident below.

Visibility and write rights are RLS's; the checks here give clear errors.
"""

from __future__ import annotations

import math
from datetime import datetime
from enum import Enum
from typing import Any
from urllib.parse import quote

import strawberry

from villagegraph import resolvers
from villagegraph.errors import BadUserInput, NotFound
from villagegraph.resolvers.shelters import ShelterByIdLoader, ShelterWithDistance
from villagegraph.schema.context import Info
from villagegraph.schema.guards import LoggedIn, WritesUnit, authorize, guarded, require_caller
from villagegraph.schema.hierarchy import OrgUnit, load_unit, require_unit, subtree_bounds
from villagegraph.schema.inputs import division_code, record_id, tag_list, text
from villagegraph.schema.notices import Notice
from villagegraph.schema.pagination import page_size
from villagegraph.tenants.principal import Principal


@strawberry.enum
class ShelterStatus(Enum):
    OPEN = "OPEN"  # 已开放
    STANDBY = "STANDBY"  # 待命
    CLOSED = "CLOSED"  # 停用


@strawberry.input
class GeoPointInput:
    lat: float
    lng: float


@strawberry.type(description="A disaster shelter (避灾安置场所).")
class Shelter:
    id: strawberry.ID
    name: str
    address: str
    lat: float
    lng: float
    capacity: int = strawberry.field(description="People it can take in.")
    facilities: list[str]
    contact: str | None
    status: ShelterStatus
    updated_at: datetime
    distance_meters: float | None = strawberry.field(
        description="Great-circle distance from `near`, when given."
    )
    unit_code: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: ShelterWithDistance) -> Shelter:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            address=row.address,
            lat=row.lat,
            lng=row.lng,
            capacity=row.capacity,
            facilities=list(row.facilities),
            contact=row.contact,
            status=ShelterStatus(row.status),
            updated_at=row.updated_at,
            distance_meters=row.distance_meters,
            unit_code=row.unit_code,
        )

    @strawberry.field(description="The maintaining unit (village, town or county).")
    async def unit(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.unit_code)
        assert unit is not None
        return unit

    @strawberry.field(description="A geo: URI (RFC 5870) that map apps open to navigate there.")
    def navigation_url(self) -> str:
        return navigation_url(self.lat, self.lng, self.name)


def navigation_url(lat: float, lng: float, name: str) -> str:
    point = f"{lat:.6f},{lng:.6f}"
    return f"geo:{point}?q={point}({quote(name)})"


@strawberry.input
class CreateShelterInput:
    unit: strawberry.ID
    name: str
    address: str
    location: GeoPointInput
    capacity: int
    facilities: list[str] | None = None
    contact: str | None = None
    status: ShelterStatus = ShelterStatus.STANDBY


@strawberry.input(description="Only the fields given change.")
class UpdateShelterInput:
    name: str | None = None
    address: str | None = None
    location: GeoPointInput | None = None
    capacity: int | None = None
    facilities: list[str] | None = None
    contact: str | None = None
    status: ShelterStatus | None = None


@strawberry.type(description="The outcome of opening a subtree's shelters in an emergency.")
class EmergencyOpening:
    opened: int = strawberry.field(description="Shelters switched to OPEN by this call.")
    shelters: list[Shelter]
    notice: Notice = strawberry.field(description="The notice pushed to every resident below.")


def _point(point: GeoPointInput, argument: str) -> tuple[float, float]:
    if not (math.isfinite(point.lat) and -90 <= point.lat <= 90):
        raise BadUserInput(f"`{argument}.lat` must be between -90 and 90.", argument=argument)
    if not (math.isfinite(point.lng) and -180 <= point.lng <= 180):
        raise BadUserInput(f"`{argument}.lng` must be between -180 and 180.", argument=argument)
    return point.lat, point.lng


def _capacity(value: int) -> int:
    if not 0 <= value <= 1_000_000:
        raise BadUserInput("`capacity` must be between 0 and 1000000.", argument="capacity")
    return value


def _changes(input: UpdateShelterInput | CreateShelterInput) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if input.name is not None:
        changes["name"] = text(input.name, "name", max_length=100)
    if input.address is not None:
        changes["address"] = text(input.address, "address", max_length=200)
    if input.location is not None:
        changes["lat"], changes["lng"] = _point(input.location, "location")
    if input.capacity is not None:
        changes["capacity"] = _capacity(input.capacity)
    if input.facilities is not None:
        changes["facilities"] = tag_list(input.facilities, "facilities")
    if input.contact is not None:
        changes["contact"] = text(input.contact, "contact", max_length=50, required=False) or None
    if input.status is not None:
        changes["status"] = input.status.value
    return changes


async def _maintainable(info: Info, id: strawberry.ID) -> tuple[Principal, ShelterWithDistance]:
    shelter = await info.context.loader(ShelterByIdLoader).load(record_id(id))
    if shelter is None:
        raise NotFound("No such shelter.")
    principal = await authorize(
        info,
        Principal.can_write,
        shelter.unit_code,
        refusal="Only cadres and officials of the shelter's unit or above may change it.",
    )
    return principal, shelter


@strawberry.type
class ShelterQuery:
    @strawberry.field(
        description="Shelters (public; closed ones only for staff), nearest first when "
        "`near` is given, else in unit order; optionally only those of a subtree."
    )
    async def shelters(
        self,
        info: Info,
        near: GeoPointInput | None = None,
        under: strawberry.ID | None = None,
        first: int | None = None,
    ) -> list[Shelter]:
        size = page_size(first)
        bounds = None if under is None else subtree_bounds(division_code(under, "under"))
        if near is None:
            rows = await resolvers.shelters.in_subtree(info.context.db, bounds, size)
        else:
            lat, lng = _point(near, "near")
            rows = await resolvers.shelters.nearest(info.context.db, lat, lng, bounds, size)
        return [Shelter.from_row(row) for row in rows]

    @strawberry.field(description="One shelter, when the caller may see it.")
    async def shelter(self, info: Info, id: strawberry.ID) -> Shelter | None:
        row = await info.context.loader(ShelterByIdLoader).load(record_id(id))
        return None if row is None else Shelter.from_row(row)


@strawberry.type
class ShelterMutation:
    @strawberry.mutation(
        description="Register a shelter maintained by a unit.",
        extensions=guarded(
            WritesUnit(
                "input.unit",
                action="maintain shelters",
                refusal="Only cadres and officials of this unit or above may add shelters.",
            )
        ),
    )
    async def create_shelter(self, info: Info, input: CreateShelterInput) -> Shelter:
        principal = await require_caller(info)
        unit = division_code(input.unit)
        fields = _changes(input)
        fields.setdefault("facilities", [])
        fields.setdefault("contact", None)
        row = await resolvers.shelters.create(info.context.db, unit, fields, principal.account_id)
        return Shelter.from_row(row)

    @strawberry.mutation(
        description="Change a shelter's details or status.",
        extensions=guarded(LoggedIn("maintain shelters")),
    )
    async def update_shelter(
        self, info: Info, id: strawberry.ID, input: UpdateShelterInput
    ) -> Shelter:
        principal, shelter = await _maintainable(info, id)
        changes = _changes(input)
        if not changes:
            raise BadUserInput("Nothing to change.", argument="input")
        row = await resolvers.shelters.update(
            info.context.db, shelter, changes, principal.account_id
        )
        return Shelter.from_row(row)

    @strawberry.mutation(
        description="Emergency: open every shelter of a subtree and push a notice listing "
        "them to every resident below.",
        extensions=guarded(
            WritesUnit(
                "unit",
                action="open shelters",
                refusal="Only officials and cadres of this unit or above may open shelters.",
            )
        ),
    )
    async def open_shelters_for_emergency(
        self, info: Info, unit: strawberry.ID, message: str | None = None
    ) -> EmergencyOpening:
        principal = await require_caller(info)
        code = division_code(unit)
        root = await require_unit(info, code)
        reason = text(message or "", "message", max_length=500, required=False)
        lo, hi = subtree_bounds(code)
        db = info.context.db
        opened, rows = await resolvers.shelters.open_all(db, lo, hi, principal.account_id, reason)
        if not rows:
            raise NotFound(f"{root.name} has no shelters to open.", argument="unit")
        shelters = [Shelter.from_row(row) for row in rows]
        body = "\n".join(
            [reason or f"{root.name}所有避灾安置场所已开放，请就近前往。"]
            + [
                f"{s.name}｜{s.address}｜可容纳{s.capacity}人｜{s.contact or ''}｜"
                f"{navigation_url(s.lat, s.lng, s.name)}"
                for s in shelters
            ]
        )
        notice = await resolvers.notices.publish(
            db,
            code,
            "NOTICE",
            f"紧急避灾：{root.name}避灾安置场所已全部开放",
            body,
            "PUBLIC",
            [],
            principal.account_id,
            urgent=True,
            announce_as="shelters.emergency",
        )
        return EmergencyOpening(opened=opened, shelters=shelters, notice=Notice.from_row(notice))
