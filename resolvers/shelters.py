"""Disaster shelters (避灾安置场所): maintenance, nearest-first search, emergency opening.

Nearest-first is a GiST KNN scan on the shelter's earth point (vg.earth_point, a cube in
metres): the chord order is the great-circle order, so the index alone decides the
ranking and vg.great_circle_meters only computes the distance shown.
"""

from __future__ import annotations

import json
from typing import Any

from villagegraph.models import from_record, from_records
from villagegraph.models.shelters import Shelter, ShelterBase
from villagegraph.resolvers.loaders import Loader, by_key
from villagegraph.tenants.session import ScopedSession

SHELTER_COLUMNS = (
    "id, unit_code, name, address, lat, lng, capacity, facilities, contact, status, updated_at"
)
# Columns a maintainer may change, in the order update() takes them.
EDITABLE = ("name", "address", "lat", "lng", "capacity", "facilities", "contact", "status")


class ShelterWithDistance(ShelterBase):
    """A shelter as these queries read it: its columns and `distance_meters`, the
    great-circle distance from the searched point (None when no point was searched)."""

    distance_meters: float | None


async def nearest(
    db: ScopedSession, lat: float, lng: float, bounds: tuple[int, int] | None, limit: int
) -> list[ShelterWithDistance]:
    lo, hi = bounds or (None, None)
    rows = await db.fetch(
        f"""select {SHELTER_COLUMNS},
                   vg.great_circle_meters(position, vg.earth_point($1, $2)) as distance_meters
              from vg.shelters
             where ($3::bigint is null or unit_code between $3 and $4)
             order by position <-> vg.earth_point($1, $2), id
             limit $5""",
        lat,
        lng,
        lo,
        hi,
        limit,
    )
    return from_records(ShelterWithDistance, rows)


async def in_subtree(
    db: ScopedSession, bounds: tuple[int, int] | None, limit: int
) -> list[ShelterWithDistance]:
    lo, hi = bounds or (None, None)
    rows = await db.fetch(
        f"""select {SHELTER_COLUMNS}, null::float8 as distance_meters from vg.shelters
             where ($1::bigint is null or unit_code between $1 and $2)
             order by unit_code, id
             limit $3""",
        lo,
        hi,
        limit,
    )
    return from_records(ShelterWithDistance, rows)


async def create(
    db: ScopedSession, unit: int, fields: dict[str, Any], account_id: int
) -> ShelterWithDistance:
    record = await db.fetchrow(
        f"""insert into vg.shelters (unit_code, name, address, lat, lng, capacity, facilities,
                                     contact, status, updated_by)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            returning {SHELTER_COLUMNS}, null::float8 as distance_meters""",
        unit,
        *(fields[name] for name in EDITABLE),
        account_id,
    )
    assert record is not None
    row = from_record(ShelterWithDistance, record)
    await db.audit("shelter.create", unit, "shelter", row.id, fields)
    return row


async def update(
    db: ScopedSession, shelter: ShelterBase, changes: dict[str, Any], account_id: int
) -> ShelterWithDistance:
    """Apply the given changes (others stay as they are) with one audit row."""
    values = [changes.get(name, getattr(shelter, name)) for name in EDITABLE]
    row = await db.fetchrow(
        f"""update vg.shelters
               set name = $3, address = $4, lat = $5, lng = $6, capacity = $7, facilities = $8,
                   contact = $9, status = $10, updated_by = $11, updated_at = now()
             where unit_code = $1 and id = $2
         returning {SHELTER_COLUMNS}, null::float8 as distance_meters""",
        shelter.unit_code,
        shelter.id,
        *values,
        account_id,
    )
    assert row is not None  # the caller loaded it and may write its unit
    await db.audit("shelter.update", shelter.unit_code, "shelter", shelter.id, changes)
    return from_record(ShelterWithDistance, row)


async def open_all(
    db: ScopedSession, lo: int, hi: int, account_id: int, reason: str
) -> tuple[int, list[ShelterWithDistance]]:
    """Switch every shelter of the subtree to OPEN, one audit row per shelter changed;
    returns how many changed and all of the subtree's shelters (now open), in code order."""
    records = await db.fetch(
        """update vg.shelters set status = 'OPEN', updated_by = $3, updated_at = now()
            where unit_code between $1 and $2 and status <> 'OPEN'
        returning unit_code, id, status""",
        lo,
        hi,
        account_id,
    )
    changed = from_records(Shelter, records)
    if changed:
        await db.execute(
            """select count(vg.record_audit('shelter.emergency_open', u, 'shelter', i::text, $3::jsonb))
                 from unnest($1::bigint[], $2::bigint[]) as c (u, i)""",
            [row.unit_code for row in changed],
            [row.id for row in changed],
            json.dumps({"status": "OPEN", "reason": reason}, ensure_ascii=False),
        )
    rows = await db.fetch(
        f"""select {SHELTER_COLUMNS}, null::float8 as distance_meters from vg.shelters
             where unit_code between $1 and $2 order by unit_code, id""",
        lo,
        hi,
    )
    return len(changed), from_records(ShelterWithDistance, rows)


class ShelterByIdLoader(Loader[int, ShelterWithDistance | None]):
    async def batch_load(self, keys: list[int]) -> list[ShelterWithDistance | None]:
        rows = await self.db.fetch(
            f"""select {SHELTER_COLUMNS}, null::float8 as distance_meters from vg.shelters
                 where id = any($1::bigint[])""",
            keys,
        )
        return by_key(from_records(ShelterWithDistance, rows), keys, "id")
