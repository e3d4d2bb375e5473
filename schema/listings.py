"""Listings (名特优 specialty products and 农家乐 farm stays): a resident applies, a cadre
of its village reviews, approved ones are public with their village and tier path.

Visibility is RLS's; the checks here only turn refusals into clear errors.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from urllib.parse import urlsplit

import strawberry

from villagegraph import resolvers
from villagegraph.errors import BadUserInput, Conflict, NotFound
from villagegraph.models.listings import Listing as ListingRow
from villagegraph.resolvers.hierarchy import OrgUnitByCodeLoader
from villagegraph.resolvers.listings import ListingByIdLoader
from villagegraph.schema.context import Info
from villagegraph.schema.guards import LoggedIn, authorize, guarded, villager
from villagegraph.schema.hierarchy import OrgUnit, load_unit, subtree_bounds
from villagegraph.schema.inputs import division_code, record_id, text
from villagegraph.schema.pagination import Connection, Keyset, Page
from villagegraph.tenants.hierarchy import ancestors_or_self
from villagegraph.tenants.principal import Principal

MAX_PHOTOS = 9
MAX_PRICE = Decimal("9999999999.99")


# The sort key, and so the cursor, of the connection field below (schema/pagination.py).
LISTING_ORDER = Keyset(("id", int))


@strawberry.enum
class ListingKind(Enum):
    SPECIALTY_PRODUCT = "SPECIALTY_PRODUCT"  # 名特优
    FARM_STAY = "FARM_STAY"  # 农家乐


@strawberry.enum
class ListingStatus(Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@strawberry.type(description="A 名特优 product or 农家乐 farm stay of a village.")
class Listing:
    id: strawberry.ID
    kind: ListingKind
    name: str
    description: str
    price: Decimal | None
    contact: str
    photos: list[str] = strawberry.field(description="Links to photos.")
    rooms: int | None = strawberry.field(description="Farm stays only.")
    capacity: int | None = strawberry.field(description="Guests a farm stay takes (farm stays).")
    status: ListingStatus
    review_reason: str | None = strawberry.field(description="Why it was rejected.")
    applied_at: datetime
    reviewed_at: datetime | None
    village_code: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: ListingRow) -> Listing:
        return cls(
            id=strawberry.ID(str(row.id)),
            kind=ListingKind(row.kind),
            name=row.name,
            description=row.description,
            price=row.price,
            contact=row.contact,
            photos=list(row.photos),
            rooms=row.rooms,
            capacity=row.capacity,
            status=ListingStatus(row.status),
            review_reason=row.review_reason,
            applied_at=row.applied_at,
            reviewed_at=row.reviewed_at,
            village_code=row.village_code,
        )

    @strawberry.field
    async def village(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.village_code)
        assert unit is not None
        return unit

    @strawberry.field(description="City, county, town and village: where it is, top down.")
    async def tier_path(self, info: Info) -> list[OrgUnit]:
        loader = info.context.loader(OrgUnitByCodeLoader)
        rows = await loader.load_many(ancestors_or_self(self.village_code))
        return [OrgUnit.from_row(row) for row in rows if row is not None]


ListingConnection = Connection[Listing]


@strawberry.input
class ApplyListingInput:
    kind: ListingKind
    name: str
    description: str
    contact: str
    price: Decimal | None = None
    photos: list[str] | None = None
    rooms: int | None = strawberry.field(default=None, description="Farm stays: required.")
    capacity: int | None = strawberry.field(default=None, description="Farm stays: required.")


def _price(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    try:
        exact = value.quantize(Decimal("0.01"))
    except InvalidOperation as error:
        raise BadUserInput("`price` is not a valid amount.", argument="price") from error
    if value.is_nan() or exact != value or not Decimal(0) <= value <= MAX_PRICE:
        raise BadUserInput(
            "`price` must be between 0 and 9999999999.99 with at most two decimals.",
            argument="price",
        )
    return exact


def _photos(values: list[str] | None) -> list[str]:
    photos = [text(v, "photos", max_length=500) for v in values or []]
    if len(photos) > MAX_PHOTOS:
        raise BadUserInput(f"At most {MAX_PHOTOS} photos.", argument="photos")
    for link in photos:
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BadUserInput("`photos` must be http(s) links.", argument="photos")
    return photos


def _farm_stay_size(input: ApplyListingInput) -> tuple[int | None, int | None]:
    if input.kind is not ListingKind.FARM_STAY:
        if input.rooms is not None or input.capacity is not None:
            raise BadUserInput("Only farm stays have rooms and capacity.", argument="rooms")
        return None, None
    for argument, value in (("rooms", input.rooms), ("capacity", input.capacity)):
        if value is None or not 0 < value <= 10000:
            raise BadUserInput(
                f"A farm stay needs `{argument}` between 1 and 10000.", argument=argument
            )
    return input.rooms, input.capacity


@strawberry.type
class ListingQuery:
    @strawberry.field(
        description="Listings the caller may see (approved ones: everyone), newest first; "
        "filter by kind, subtree (`under`), keyword (name or description) and status."
    )
    async def listings(
        self,
        info: Info,
        kind: ListingKind | None = None,
        under: strawberry.ID | None = None,
        search: str | None = None,
        status: ListingStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Listing]:
        page = Page(LISTING_ORDER, first, after)
        bounds = None if under is None else subtree_bounds(division_code(under, "under"))
        keyword = None if search is None else text(search, "search", max_length=50, required=False)
        keyword = keyword or None
        kind_value = kind.value if kind else None
        status_value = status.value if status else None
        db = info.context.db
        rows = await resolvers.listings.listings_page(
            db,
            kind_value,
            bounds,
            keyword,
            status_value,
            page.after_or_none()[0],
            page.limit,
        )
        return page.connection(
            rows,
            Listing.from_row,
            lambda: resolvers.listings.listings_count(
                db, kind_value, bounds, keyword, status_value
            ),
        )

    @strawberry.field(description="One listing, when the caller may see it.")
    async def listing(self, info: Info, id: strawberry.ID) -> Listing | None:
        row = await info.context.loader(ListingByIdLoader).load(record_id(id))
        return None if row is None else Listing.from_row(row)


@strawberry.type
class ListingMutation:
    @strawberry.mutation(
        description="A resident applies to list a product or farm stay.",
        extensions=guarded(LoggedIn("apply for a listing")),
    )
    async def apply_listing(self, info: Info, input: ApplyListingInput) -> Listing:
        principal, home = await villager(info, "Only registered residents may apply for a listing.")
        rooms, capacity = _farm_stay_size(input)
        row = await resolvers.listings.apply(
            info.context.db,
            village=home.village,
            applicant_id=home.resident_id,
            account_id=principal.account_id,
            kind=input.kind.value,
            name=text(input.name, "name", max_length=100),
            description=text(input.description, "description", max_length=2000),
            price=_price(input.price),
            contact=text(input.contact, "contact", max_length=50),
            photos=_photos(input.photos),
            rooms=rooms,
            capacity=capacity,
        )
        return Listing.from_row(row)

    @strawberry.mutation(
        description="A cadre of the village approves, or rejects with a reason.",
        extensions=guarded(LoggedIn("review listings")),
    )
    async def review_listing(
        self, info: Info, id: strawberry.ID, approve: bool, reason: str | None = None
    ) -> Listing:
        listing = await info.context.loader(ListingByIdLoader).load(record_id(id))
        if listing is None:
            raise NotFound("No such listing, or it is not yours to review.")
        village = listing.village_code
        principal = await authorize(
            info,
            Principal.is_cadre_of,
            village,
            refusal="Only cadres of the listing's village may review it.",
        )
        if listing.status != "PENDING":
            raise Conflict("This listing has already been reviewed.")
        why = None if reason is None else text(reason, "reason", max_length=500, required=False)
        if not approve and not why:
            raise BadUserInput("A rejection needs a `reason`.", argument="reason")
        row = await resolvers.listings.review(
            info.context.db, listing, approve, why or None, principal.account_id
        )
        if row is None:
            raise Conflict("This listing has already been reviewed.")
        return Listing.from_row(row)
