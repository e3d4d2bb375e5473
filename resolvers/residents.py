"""Residents (村民/居民), households, cadres and party members: the registry and its statistics.

Row visibility is RLS's; identity numbers and phones are not even selectable by the
request role, so every read of them goes through vg.resident_contacts, which masks them
for everyone but cadres of the household village (and the resident itself). Statistics
read vg.resident_history as of a date, so a past month's figures stay reproducible.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from villagegraph.resolvers.loaders import Loader, by_key
from villagegraph.resolvers.measure import Measure
from villagegraph.tenants.session import ScopedSession

RESIDENT_COLUMNS = (
    "id, village_code, name, gender, birth_date, household_no, residence_code, "
    "residence_member, tags"
)
CADRE_COLUMNS = (
    "id, village_code, name, body, position, resident_village, resident_id, account_id, "
    "term_start, term_end"
)

# 年龄段: inclusive lower bounds; the last band is open-ended.
AGE_BANDS = ((0, "0-17"), (18, "18-34"), (35, "35-59"), (60, "60-79"), (80, "80+"))
UNKNOWN_AGE = "UNKNOWN"

_AGE_BAND_SQL = (
    "case when h.birth_date is null then '"
    + UNKNOWN_AGE
    + "'"
    + "".join(
        f" when extract(year from age($3::date, h.birth_date)) >= {low} then '{label}'"
        for low, label in reversed(AGE_BANDS)
    )
    + " end"
)


def _identity_filter(position: int) -> str:
    """A WHERE clause restricting to residents whose ID number/phone match exactly."""
    return (
        f"(${position}::text is null and ${position + 1}::text is null"
        f" or id in (select vg.resident_ids_by_identity(${position}, ${position + 1})))"
    )


async def residents_page(
    db: ScopedSession,
    lo: int,
    hi: int,
    tags: list[str],
    id_number: str | None,
    phone: str | None,
    after_id: int | None,
    limit: int,
) -> list[Any]:
    return await db.fetch(
        f"""select {RESIDENT_COLUMNS} from vg.residents
             where village_code between $1 and $2
               and tags @> $3::text[]
               and {_identity_filter(4)}
               and ($6::bigint is null or id > $6)
             order by id
             limit $7""",
        lo,
        hi,
        tags,
        id_number,
        phone,
        after_id,
        limit,
    )


async def residents_count(
    db: ScopedSession, lo: int, hi: int, tags: list[str], id_number: str | None, phone: str | None
) -> int:
    return int(
        await db.fetchval(
            f"""select count(*) from vg.residents
                 where village_code between $1 and $2 and tags @> $3::text[]
                   and {_identity_filter(4)}""",
            lo,
            hi,
            tags,
            id_number,
            phone,
        )
    )


# Each statistics dimension as (SQL expression, output column); fixed text, never input.
DIMENSIONS = {
    "AGE_BAND": (_AGE_BAND_SQL, "age_band"),
    "GENDER": ("h.gender", "gender"),
    "TAG": ("t.tag", "tag"),
}


async def resident_groups(
    db: ScopedSession,
    lo: int,
    hi: int,
    on: date,
    dimensions: list[str],
    child_divisor: int | None,
    tags: list[str],
) -> list[Any]:
    """Head counts on a date grouped by the dimensions, plus the total (`is_total`).

    With TAG, a resident counts once under each of its tags (and under a null tag when
    it has none); the total still counts every resident once.
    """
    columns = [DIMENSIONS[d] for d in dimensions if d in DIMENSIONS]
    if "UNIT" in dimensions:
        unit_sql = (
            "h.village_code"
            if child_divisor is None
            else (f"(h.village_code - h.village_code % {int(child_divisor)})")
        )
        columns.append((unit_sql, "unit"))
    by_tag = "TAG" in dimensions
    keys = ", ".join(sql for sql, _ in columns)
    select_keys = "".join(f"{sql} as {name}, " for sql, name in columns)
    grouping = f"grouping sets ((), ({keys}))" if columns else "()"
    is_total = f"grouping({keys}) <> 0" if columns else "true"
    tag_join = (
        "left join lateral unnest(h.tags) with ordinality as t (tag, n) on true" if by_tag else ""
    )
    people = "count(*) filter (where t.n is null or t.n = 1)" if by_tag else "count(*)"
    return await db.fetch(
        f"""select {select_keys}{is_total} as is_total,
                   case when {is_total} then {people} else count(*) end as residents
              from vg.resident_history h
              {tag_join}
             where h.village_code between $1 and $2
               and h.valid_from <= $3 and (h.valid_to is null or h.valid_to > $3)
               and h.tags @> $4::text[]
             group by {grouping}
             order by {", ".join(["is_total desc"] + [name for _, name in columns])}""",
        lo,
        hi,
        on,
        tags,
    )


async def open_version_start(db: ScopedSession, resident_id: int) -> date | None:
    """When the resident's current version in the history began."""
    value = await db.fetchval(
        "select valid_from from vg.resident_history where resident_id = $1 and valid_to is null",
        resident_id,
    )
    return value  # type: ignore[no-any-return]


async def update_resident(
    db: ScopedSession, resident: Any, changes: dict[str, Any], effective: date
) -> Any:
    """Change tags and residence as of `effective`; the history trigger dates the new
    version by vg.effective_date, set for this statement only."""
    values = {
        "tags": resident["tags"],
        "residence_code": resident["residence_code"],
        "residence_member": resident["residence_member"],
        **changes,
    }
    await db.execute("select set_config('vg.effective_date', $1, true)", effective.isoformat())
    row = await db.fetchrow(
        f"""update vg.residents
               set tags = $3, residence_code = $4, residence_member = $5
             where village_code = $1 and id = $2
         returning {RESIDENT_COLUMNS}""",
        resident["village_code"],
        resident["id"],
        values["tags"],
        values["residence_code"],
        values["residence_member"],
    )
    await db.execute("select set_config('vg.effective_date', '', true)")
    assert row is not None  # the caller checked it may write the household village
    await db.audit(
        "resident.update",
        resident["village_code"],
        "resident",
        resident["id"],
        {**changes, "effective": effective},
    )
    return row


async def party_member_count(db: ScopedSession, lo: int, hi: int, on: date) -> int:
    return int(
        await db.fetchval(
            """select count(*) from vg.party_members
                where village_code between $1 and $2
                  and joined_on <= $3 and (left_on is null or left_on > $3)""",
            lo,
            hi,
            on,
        )
    )


async def cadres_serving(db: ScopedSession, lo: int, hi: int, on: date) -> list[Any]:
    return await db.fetch(
        f"""select {CADRE_COLUMNS} from vg.cadres
             where village_code between $1 and $2
               and term_start <= $3 and (term_end is null or term_end > $3)
             order by village_code, body, id""",
        lo,
        hi,
        on,
    )


async def appoint_cadre(
    db: ScopedSession,
    village: int,
    name: str,
    body: str,
    position: str,
    resident_id: int | None,
    term_start: date,
    account_id: int,
) -> Any:
    row = await db.fetchrow(
        f"""insert into vg.cadres (village_code, name, body, position, resident_village,
                                   resident_id, term_start, appointed_by)
            values ($1, $2, $3, $4, case when $5::bigint is null then null else $1::bigint end, $5, $6, $7)
            returning {CADRE_COLUMNS}""",
        village,
        name,
        body,
        position,
        resident_id,
        term_start,
        account_id,
    )
    assert row is not None
    await db.audit(
        "cadre.appoint",
        village,
        "cadre",
        row["id"],
        {"name": name, "body": body, "position": position, "term_start": term_start},
    )
    return row


async def end_cadre_term(db: ScopedSession, cadre: Any, term_end: date) -> Any:
    row = await db.fetchrow(
        f"""update vg.cadres set term_end = $3 where village_code = $1 and id = $2
            returning {CADRE_COLUMNS}""",
        cadre["village_code"],
        cadre["id"],
        term_end,
    )
    assert row is not None
    await db.audit(
        "cadre.end_term", cadre["village_code"], "cadre", cadre["id"], {"term_end": term_end}
    )
    return row


class ResidentByIdLoader(Loader[int, Any]):
    async def batch_load(self, keys: list[int]) -> list[Any]:
        rows = await self.db.fetch(
            f"select {RESIDENT_COLUMNS} from vg.residents where id = any($1::bigint[])", keys
        )
        return by_key(rows, keys, "id")


class ResidentContactByIdLoader(Loader[int, Any]):
    """ID number and phone, masked unless the caller is a cadre of the household village."""

    async def batch_load(self, keys: list[int]) -> list[Any]:
        rows = await self.db.fetch("select * from vg.resident_contacts($1::bigint[])", keys)
        return by_key(rows, keys, "id")


class ResidentsByHouseholdLoader(Loader[tuple[int, str], list[Any]]):
    """Members of each (village, household number) the caller may see, in id order."""

    async def batch_load(self, keys: list[tuple[int, str]]) -> list[list[Any]]:
        rows = await self.db.fetch(
            f"""select {RESIDENT_COLUMNS} from vg.residents
                 where (village_code, household_no) in (
                       select * from unnest($1::bigint[], $2::text[]))
                 order by id""",
            [k[0] for k in keys],
            [k[1] for k in keys],
        )
        members: dict[tuple[int, str], list[Any]] = {k: [] for k in keys}
        for row in rows:
            members[(row["village_code"], row["household_no"])].append(row)
        return [members[k] for k in keys]


class HouseholdByKeyLoader(Loader[tuple[int, str], Any]):
    """Household register rows (户) by (village, household number), staff only under RLS."""

    async def batch_load(self, keys: list[tuple[int, str]]) -> list[Any]:
        rows = await self.db.fetch(
            """select village_code, household_no, head_resident_id, address, registered_on
                 from vg.households
                where (village_code, household_no) in (
                      select * from unnest($1::bigint[], $2::text[]))""",
            [k[0] for k in keys],
            [k[1] for k in keys],
        )
        found = {(row["village_code"], row["household_no"]): row for row in rows}
        return [found.get(k) for k in keys]


class PartyMembershipByResidentIdLoader(Loader[int, Any]):
    """Each resident's current or latest party membership (党籍), when the caller may see it."""

    async def batch_load(self, keys: list[int]) -> list[Any]:
        rows = await self.db.fetch(
            """select distinct on (resident_id) resident_id, joined_on, left_on, branch_code
                 from vg.party_members
                where resident_id = any($1::bigint[])
                order by resident_id, joined_on desc""",
            keys,
        )
        return by_key(rows, keys, "resident_id")


class CadreByIdLoader(Loader[int, Any]):
    async def batch_load(self, keys: list[int]) -> list[Any]:
        rows = await self.db.fetch(
            f"select {CADRE_COLUMNS} from vg.cadres where id = any($1::bigint[])", keys
        )
        return by_key(rows, keys, "id")


# --- analytics measures (resolvers/analytics.py) ---------------------------------------

RESIDENTS = Measure(
    name="RESIDENTS",
    description="Registered residents, by household village; category: tag (a resident"
    " with several tags counts once in each, once in any total).",
    source="vg.residents p left join lateral unnest(p.tags) as t (tag) on true",
    tenant="p.village_code",
    time=None,
    category="t.tag",
    value="count(distinct p.id)",
)
