"""Listings (名特优 specialty products, 农家乐 farm stays): applications, reviews, search.

Which listings a caller sees is RLS's (approved: everyone; pending and rejected: the
applicant and the village's cadres); these functions never filter by status for safety.
Keyword search is a substring match served by the pg_trgm index on name and description.
"""

from __future__ import annotations

from decimal import Decimal

from villagegraph.models import from_record, from_records
from villagegraph.models.listings import Listing
from villagegraph.resolvers.loaders import Loader, by_key
from villagegraph.resolvers.notifications import enqueue_notification
from villagegraph.tenants.session import ScopedSession

LISTING_COLUMNS = (
    "id, village_code, kind, name, description, price, contact, photos, rooms, capacity, "
    "status, review_reason, applicant_id, applied_by, applied_at, reviewed_at"
)
_TEXT = "(name || ' ' || description)"


def like_pattern(keyword: str) -> str:
    """`%keyword%` with LIKE's own wildcards taken literally."""
    escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filters(first: int) -> str:
    p = [f"${first + i}" for i in range(5)]
    return f"""({p[0]}::text is null or kind = {p[0]})
           and ({p[1]}::bigint is null or village_code between {p[1]} and {p[2]})
           and ({p[3]}::text is null or {_TEXT} ilike {p[3]})
           and ({p[4]}::text is null or status = {p[4]})"""


async def listings_page(
    db: ScopedSession,
    kind: str | None,
    bounds: tuple[int, int] | None,
    keyword: str | None,
    status: str | None,
    after_id: int | None,
    limit: int,
) -> list[Listing]:
    lo, hi = bounds or (None, None)
    rows = await db.fetch(
        f"""select {LISTING_COLUMNS} from vg.listings
             where {_filters(1)}
               and ($6::bigint is null or id < $6)
             order by id desc
             limit $7""",
        kind,
        lo,
        hi,
        None if keyword is None else like_pattern(keyword),
        status,
        after_id,
        limit,
    )
    return from_records(Listing, rows)


async def listings_count(
    db: ScopedSession,
    kind: str | None,
    bounds: tuple[int, int] | None,
    keyword: str | None,
    status: str | None,
) -> int:
    lo, hi = bounds or (None, None)
    return int(
        await db.fetchval(
            f"select count(*) from vg.listings where {_filters(1)}",
            kind,
            lo,
            hi,
            None if keyword is None else like_pattern(keyword),
            status,
        )
    )


async def apply(
    db: ScopedSession,
    *,
    village: int,
    applicant_id: int,
    account_id: int,
    kind: str,
    name: str,
    description: str,
    price: Decimal | None,
    contact: str,
    photos: list[str],
    rooms: int | None,
    capacity: int | None,
) -> Listing:
    record = await db.fetchrow(
        f"""insert into vg.listings (village_code, kind, name, description, price, contact,
                                     photos, rooms, capacity, applicant_id, applied_by)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            returning {LISTING_COLUMNS}""",
        village,
        kind,
        name,
        description,
        price,
        contact,
        photos,
        rooms,
        capacity,
        applicant_id,
        account_id,
    )
    assert record is not None
    row = from_record(Listing, record)
    await db.audit("listing.apply", village, "listing", row.id, {"kind": kind, "name": name})
    return row


async def review(
    db: ScopedSession, listing: Listing, approve: bool, reason: str | None, account_id: int
) -> Listing | None:
    status = "APPROVED" if approve else "REJECTED"
    record = await db.fetchrow(
        f"""update vg.listings
               set status = $3, review_reason = $4, reviewed_by = $5, reviewed_at = now()
             where village_code = $1 and id = $2 and status = 'PENDING'
         returning {LISTING_COLUMNS}""",
        listing.village_code,
        listing.id,
        status,
        reason,
        account_id,
    )
    if record is None:  # reviewed concurrently since it was loaded
        return None
    row = from_record(Listing, record)
    await db.audit(
        "listing.review",
        row.village_code,
        "listing",
        row.id,
        {"status": status, "reason": reason},
    )
    if row.applied_by is not None:
        await enqueue_notification(
            db,
            kind="listing.reviewed",
            tenant=row.village_code,
            recipient_account=row.applied_by,
            payload={"listing": row.id, "name": row.name, "status": status, "reason": reason},
            idempotency_key=f"listing.reviewed:{row.id}",
        )
    return row


class ListingByIdLoader(Loader[int, Listing | None]):
    async def batch_load(self, keys: list[int]) -> list[Listing | None]:
        rows = await self.db.fetch(
            f"select {LISTING_COLUMNS} from vg.listings where id = any($1::bigint[])", keys
        )
        return by_key(from_records(Listing, rows), keys, "id")
