"""Residents (村民/居民), households, cadres and party members: the registry and its statistics.

Row visibility is RLS's; identity numbers and phones are not even selectable by the
request role, so every read of them goes through vg.resident_contacts, which masks them
for everyone but cadres of the household village (and the resident itself) and records
each full ID number it shows. The birth date is masked to the same viewers (its year
stays), since a masked ID number hides exactly the birth date. Statistics come from
vg.resident_counts as of a date (reproducible after moves), which protects small groups
for everyone but the village's own cadres. Admission of a resident as a member of its
residence village goes through vg.membership_requests, decided by that village's staff.
"""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from villagegraph.models import from_record, from_records
from villagegraph.models.residents import (
    Cadre,
    Household,
    MembershipRequest,
    PartyMember,
    ResidentBase,
)
from villagegraph.resolvers.loaders import Loader, by_key
from villagegraph.resolvers.measure import Measure
from villagegraph.tenants.session import ScopedSession

# The birth date in full only where the ID number is shown in full (finding 4 of issue 12).
RESIDENT_COLUMNS = (
    "id, village_code, name, gender, household_no, residence_code, residence_member, tags, "
    "case when village_code = any ((select vg.cadre_villages())::bigint[])"
    " or id = (select vg.resident_id()) then birth_date end as birth_date, "
    "extract(year from birth_date)::integer as birth_year"
)
MEMBERSHIP_COLUMNS = (
    "id, village_code, resident_village, resident_id, status, requested_at, decided_at, reason"
)
CADRE_COLUMNS = (
    "id, village_code, name, body, position, resident_village, resident_id, account_id, "
    "term_start, term_end"
)


class ResidentWithBirthYear(ResidentBase):
    """A resident as RESIDENT_COLUMNS reads it: the birth date only where the ID number is
    shown in full (else None), and its year for everyone."""

    birth_year: int | None


class ResidentContact(NamedTuple):
    """A row of vg.resident_contacts: the ID number and phone as the caller may see them."""

    id: int
    id_number: str | None
    phone: str | None
    masked: bool


class ResidentGroupCount(NamedTuple):
    """A row of vg.resident_counts: one group's head count (None: suppressed, too small),
    or the total (`is_total`); the dimensions not grouped by are None."""

    age_band: str | None
    gender: str | None
    tag: str | None
    unit: int | None
    is_total: bool
    residents: int | None


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
) -> list[ResidentWithBirthYear]:
    rows = await db.fetch(
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
    return from_records(ResidentWithBirthYear, rows)


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


async def resident_groups(
    db: ScopedSession,
    lo: int,
    hi: int,
    on: date,
    dimensions: list[str],
    child_divisor: int | None,
    tags: list[str],
) -> list[ResidentGroupCount]:
    """Head counts on a date grouped by the dimensions, plus the total (`is_total`).

    With TAG, a resident counts once under each of its tags (and under a null tag when
    it has none); the total still counts every resident once. Counts below the minimum
    group size come back null (suppressed) unless the caller is a cadre of the village.
    """
    rows = await db.fetch(
        """select age_band, gender, tag, unit, is_total, residents
             from vg.resident_counts($1, $2, $3, $4::text[], $5, $6::text[])
            order by is_total desc, age_band, gender, tag, unit""",
        lo,
        hi,
        on,
        dimensions,
        child_divisor,
        tags,
    )
    return [ResidentGroupCount(**row) for row in rows]


async def open_version_start(db: ScopedSession, resident_id: int) -> date | None:
    """When the resident's current version in the history began."""
    value = await db.fetchval(
        "select valid_from from vg.resident_history where resident_id = $1 and valid_to is null",
        resident_id,
    )
    return value  # type: ignore[no-any-return]


async def update_resident(
    db: ScopedSession, resident: ResidentBase, changes: dict[str, Any], effective: date
) -> ResidentWithBirthYear:
    """Change tags and residence as of `effective`; the history trigger dates the new
    version by vg.effective_date, set for this statement only."""
    values = {
        "tags": resident.tags,
        "residence_code": resident.residence_code,
        "residence_member": resident.residence_member,
        **changes,
    }
    await db.execute("select set_config('vg.effective_date', $1, true)", effective.isoformat())
    row = await db.fetchrow(
        f"""update vg.residents
               set tags = $3, residence_code = $4, residence_member = $5
             where village_code = $1 and id = $2
         returning {RESIDENT_COLUMNS}""",
        resident.village_code,
        resident.id,
        values["tags"],
        values["residence_code"],
        values["residence_member"],
    )
    await db.execute("select set_config('vg.effective_date', '', true)")
    assert row is not None  # the caller checked it may write the household village
    await db.audit(
        "resident.update",
        resident.village_code,
        "resident",
        resident.id,
        {**changes, "effective": effective},
    )
    return from_record(ResidentWithBirthYear, row)


async def request_membership(
    db: ScopedSession, resident: ResidentBase, village: int, account_id: int
) -> MembershipRequest | None:
    """Ask village `village` to admit the resident as a member (接纳为本村成员)."""
    record = await db.fetchrow(
        f"""insert into vg.membership_requests (village_code, resident_village, resident_id,
                                                requested_by)
            values ($1, $2, $3, $4)
            on conflict (resident_id, village_code) where status in ('PENDING', 'ACCEPTED')
            do nothing
            returning {MEMBERSHIP_COLUMNS}""",
        village,
        resident.village_code,
        resident.id,
        account_id,
    )
    if record is None:
        return None
    row = from_record(MembershipRequest, record)
    # Recorded in the asking (household) village's audit chain: a request writes only into
    # tenants it reads (vg.record_audit), and village X's staff read the request row itself.
    await db.audit(
        "membership.request",
        resident.village_code,
        "membership_request",
        row.id,
        {"resident": resident.id, "village": village},
    )
    return row


async def decide_membership(
    db: ScopedSession, request: MembershipRequest, status: str, reason: str | None, account_id: int
) -> MembershipRequest | None:
    """Accept or reject a pending request; accepting admits the resident (a trigger)."""
    row = await db.fetchrow(
        f"""update vg.membership_requests
               set status = $3, reason = $4, decided_by = $5, decided_at = now()
             where village_code = $1 and id = $2 and status = 'PENDING'
         returning {MEMBERSHIP_COLUMNS}""",
        request.village_code,
        request.id,
        status,
        reason,
        account_id,
    )
    if row is not None:
        await db.audit(
            f"membership.{status.lower()}",
            request.village_code,
            "membership_request",
            request.id,
            {"resident": request.resident_id, "reason": reason},
        )
    return None if row is None else from_record(MembershipRequest, row)


async def membership_requests_page(
    db: ScopedSession, lo: int, hi: int, status: str | None, after_id: int | None, limit: int
) -> list[MembershipRequest]:
    """Requests to villages of a subtree, newest first."""
    rows = await db.fetch(
        f"""select {MEMBERSHIP_COLUMNS} from vg.membership_requests
             where village_code between $1 and $2 and ($3::text is null or status = $3)
               and ($4::bigint is null or id < $4)
             order by id desc limit $5""",
        lo,
        hi,
        status,
        after_id,
        limit,
    )
    return from_records(MembershipRequest, rows)


async def membership_requests_count(db: ScopedSession, lo: int, hi: int, status: str | None) -> int:
    return int(
        await db.fetchval(
            """select count(*) from vg.membership_requests
                where village_code between $1 and $2 and ($3::text is null or status = $3)""",
            lo,
            hi,
            status,
        )
    )


async def party_member_count(db: ScopedSession, lo: int, hi: int, on: date) -> int | None:
    """党员 on a date; None when suppressed (fewer than the minimum group size)."""
    value = await db.fetchval("select vg.party_member_count($1, $2, $3)", lo, hi, on)
    return None if value is None else int(value)


async def cadres_serving(db: ScopedSession, lo: int, hi: int, on: date) -> list[Cadre]:
    rows = await db.fetch(
        f"""select {CADRE_COLUMNS} from vg.cadres
             where village_code between $1 and $2
               and term_start <= $3 and (term_end is null or term_end > $3)
             order by village_code, body, id""",
        lo,
        hi,
        on,
    )
    return from_records(Cadre, rows)


async def appoint_cadre(
    db: ScopedSession,
    village: int,
    name: str,
    body: str,
    position: str,
    resident_id: int | None,
    term_start: date,
    account_id: int,
) -> Cadre:
    record = await db.fetchrow(
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
    assert record is not None
    row = from_record(Cadre, record)
    await db.audit(
        "cadre.appoint",
        village,
        "cadre",
        row.id,
        {"name": name, "body": body, "position": position, "term_start": term_start},
    )
    return row


async def end_cadre_term(db: ScopedSession, cadre: Cadre, term_end: date) -> Cadre:
    row = await db.fetchrow(
        f"""update vg.cadres set term_end = $3 where village_code = $1 and id = $2
            returning {CADRE_COLUMNS}""",
        cadre.village_code,
        cadre.id,
        term_end,
    )
    assert row is not None
    await db.audit("cadre.end_term", cadre.village_code, "cadre", cadre.id, {"term_end": term_end})
    return from_record(Cadre, row)


class ResidentByIdLoader(Loader[int, ResidentWithBirthYear | None]):
    async def batch_load(self, keys: list[int]) -> list[ResidentWithBirthYear | None]:
        rows = await self.db.fetch(
            f"select {RESIDENT_COLUMNS} from vg.residents where id = any($1::bigint[])", keys
        )
        return by_key(from_records(ResidentWithBirthYear, rows), keys, "id")


class ResidentContactByIdLoader(Loader[int, ResidentContact | None]):
    """ID number and phone, masked unless the caller is a cadre of the household village."""

    async def batch_load(self, keys: list[int]) -> list[ResidentContact | None]:
        rows = await self.db.fetch("select * from vg.resident_contacts($1::bigint[])", keys)
        return by_key([ResidentContact(**row) for row in rows], keys, "id")


class ResidentsByHouseholdLoader(Loader[tuple[int, str], list[ResidentWithBirthYear]]):
    """Members of each (village, household number) the caller may see, in id order."""

    async def batch_load(self, keys: list[tuple[int, str]]) -> list[list[ResidentWithBirthYear]]:
        rows = await self.db.fetch(
            f"""select {RESIDENT_COLUMNS} from vg.residents
                 where (village_code, household_no) in (
                       select * from unnest($1::bigint[], $2::text[]))
                 order by id""",
            [k[0] for k in keys],
            [k[1] for k in keys],
        )
        members: dict[tuple[int, str], list[ResidentWithBirthYear]] = {k: [] for k in keys}
        for row in from_records(ResidentWithBirthYear, rows):
            assert row.household_no is not None  # selected by it
            members[(row.village_code, row.household_no)].append(row)
        return [members[k] for k in keys]


class HouseholdByKeyLoader(Loader[tuple[int, str], Household | None]):
    """Household register rows (户) by (village, household number), staff only under RLS."""

    async def batch_load(self, keys: list[tuple[int, str]]) -> list[Household | None]:
        rows = await self.db.fetch(
            """select village_code, household_no, head_resident_id, address, registered_on
                 from vg.households
                where (village_code, household_no) in (
                      select * from unnest($1::bigint[], $2::text[]))""",
            [k[0] for k in keys],
            [k[1] for k in keys],
        )
        found = {(row.village_code, row.household_no): row for row in from_records(Household, rows)}
        return [found.get(k) for k in keys]


class PartyMembershipByResidentIdLoader(Loader[int, PartyMember | None]):
    """Each resident's current or latest party membership (党籍), when the caller may see it."""

    async def batch_load(self, keys: list[int]) -> list[PartyMember | None]:
        rows = await self.db.fetch(
            """select distinct on (resident_id) resident_id, joined_on, left_on, branch_code
                 from vg.party_members
                where resident_id = any($1::bigint[])
                order by resident_id, joined_on desc""",
            keys,
        )
        return by_key(from_records(PartyMember, rows), keys, "resident_id")


class MembershipRequestByIdLoader(Loader[int, MembershipRequest | None]):
    async def batch_load(self, keys: list[int]) -> list[MembershipRequest | None]:
        rows = await self.db.fetch(
            f"select {MEMBERSHIP_COLUMNS} from vg.membership_requests where id = any($1::bigint[])",
            keys,
        )
        return by_key(from_records(MembershipRequest, rows), keys, "id")


class CadreByIdLoader(Loader[int, Cadre | None]):
    async def batch_load(self, keys: list[int]) -> list[Cadre | None]:
        rows = await self.db.fetch(
            f"select {CADRE_COLUMNS} from vg.cadres where id = any($1::bigint[])", keys
        )
        return by_key(from_records(Cadre, rows), keys, "id")


# --- analytics measures (resolvers/analytics.py) ---------------------------------------

RESIDENTS = Measure(
    name="RESIDENTS",
    description="Registered residents, by household village; category: tag (a resident"
    " with several tags counts once in each, once in any total). Read from pseudonymous"
    " rows (no sensitive tag such as 低保 or 残疾) and, but for the cadres of the one village"
    " asked about, protected: groups below the minimum group size are left out, the others"
    " perturbed by -2..+2.",
    # vg.resident_pseudonyms checks the caller's scope itself; $1/$2 bound the subtree.
    source="vg.resident_pseudonyms($1, $2) p left join lateral unnest(p.tags) as t (tag) on true",
    tenant="p.village_code",
    time=None,
    category="t.tag",
    value="case when vg.exact_statistics_for($1, $2) then count(distinct p.pseudonym)"
    " else vg.protected_count(count(distinct p.pseudonym),"
    " sum(distinct hashtextextended(p.pseudonym, 0))) end",
    protected=True,
)
