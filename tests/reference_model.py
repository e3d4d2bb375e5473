"""The visibility rules of docs/ARCHITECTURE.md written plainly in Python, as the oracle the
isolation property tests compare the service and the database against.

It shares no code with the policies or resolvers (not even tenants/hierarchy.py): a rule
stated twice, independently, is how a wrong policy shows up. It works on a `World`, a
snapshot of every tenant table read as the owner, and decides row by row.

A domain that adds a tenant table adds ONE entry to `RULES` in tests/isolation/<domain>.py
(its primary key and a `visible(principal, row, world)` rule; TABLES joins them); a domain that adds a list or lookup query adds
one `GraphQLCheck` in tests/test_isolation_properties.py (`GRAPHQL_CHECKS`), built from
`TABLES[...]` so the rule is written once. The property test fails for a tenant table
that has no entry here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from villagegraph.domains import DOMAINS

Row = dict[str, Any]
World = dict[str, list[Row]]

LEVEL_WIDTH = {"VILLAGE": 1, "TOWN": 1_000, "COUNTY": 1_000_000, "CITY": 100_000_000}


def level(code: int) -> str:
    """The tier of a 12-digit division code, read from its trailing zeros."""
    if code % 1_000:
        return "VILLAGE"
    if code % 1_000_000:
        return "TOWN"
    if code % 100_000_000:
        return "COUNTY"
    return "CITY"


def inside(ancestor: int, code: int) -> bool:
    """Whether `code` lies in the subtree of `ancestor` (itself included)."""
    width = LEVEL_WIDTH[level(ancestor)]
    if width == 1:
        return code == ancestor
    return code // width == ancestor // width


def ancestors_or_self(code: int) -> set[int]:
    """The city, county, town and the unit itself (fewer for higher tiers)."""
    return {code // w * w for w in (100_000_000, 1_000_000, 1_000, 1)}


@dataclass(frozen=True)
class ModelPrincipal:
    """What the rules need to know about a caller, taken from the raw rows."""

    account_id: int | None  # None: anonymous
    household_village: int | None = None
    resident_id: int | None = None
    residence_village: int | None = None
    residence_member: bool = False
    tags: frozenset[str] = frozenset()
    grants: tuple[tuple[str, int], ...] = ()  # (role, unit) of unrevoked grants
    # 亲情账号: the residents this account is a family proxy for (consent recorded, not
    # revoked) lend it their villages, memberships and tags: it reads what they read.
    proxy_villages: frozenset[int] = frozenset()
    proxy_members: frozenset[int] = frozenset()

    @property
    def anonymous(self) -> bool:
        return self.account_id is None

    @property
    def is_resident(self) -> bool:
        return self.resident_id is not None

    def reads_subtree_of(self, code: int | None) -> bool:
        """Officials, cadres and analysts read everything inside their granted units."""
        return code is not None and any(inside(unit, code) for _, unit in self.grants)

    def writes_subtree_of(self, code: int | None) -> bool:
        """Officials and cadres (never analysts): they write their subtree, and only they
        read the registry's personal rows (issue 12)."""
        return code is not None and any(
            role not in ("ANALYST", "SUPERVISOR") and inside(unit, code)
            for role, unit in self.grants
        )

    def villages(self) -> set[int]:
        own = {v for v in (self.household_village, self.residence_village) if v is not None}
        return own | self.proxy_villages

    def member_villages(self) -> set[int]:
        members = {self.household_village} if self.household_village is not None else set()
        if self.residence_village is not None and self.residence_member:
            members.add(self.residence_village)
        return members | self.proxy_members

    def pushed_down_from(self) -> set[int]:
        """Units above a grant: what they publish reaches the grant holder too."""
        return {a for _, unit in self.grants for a in ancestors_or_self(unit) if a != unit}

    def receives_public_from(self) -> set[int]:
        reached = {a for v in self.villages() for a in ancestors_or_self(v)}
        return reached | self.pushed_down_from()

    def receives_members_from(self) -> set[int]:
        reached = {a for v in self.member_villages() for a in ancestors_or_self(v)}
        return reached | self.pushed_down_from()

    def roles(self) -> list[str]:
        return (["RESIDENT"] if self.is_resident else []) + sorted({r for r, _ in self.grants})


def _resident(world: World, village: int, resident_id: int) -> Row:
    return next(
        r for r in world["residents"] if (r["village_code"], r["id"]) == (village, resident_id)
    )


def _homes(resident: Row) -> tuple[int, int | None, bool]:
    """(household village, residence village if elsewhere, admitted as a member there)."""
    residence = resident["residence_code"]
    if residence == resident["village_code"]:
        residence = None
    return (
        resident["village_code"],
        residence,
        bool(resident["residence_member"]) and residence is not None,
    )


def principal_of(world: World, account_id: int | None) -> ModelPrincipal:
    if account_id is None:
        return ModelPrincipal(account_id=None)
    account = next(a for a in world["accounts"] if a["id"] == account_id)
    grants = tuple(
        (g["role"], g["unit_code"])
        for g in sorted(world["grants"], key=lambda g: g["id"])
        if g["account_id"] == account_id and g["revoked_at"] is None
    )
    proxied = [
        _resident(world, f["resident_village"], f["resident_id"])
        for f in world.get("family_proxies", [])
        if f["proxy_account"] == account_id and f["revoked_at"] is None
    ]
    villages: set[int] = set()
    members: set[int] = set()
    tags: set[str] = set()
    for resident in proxied:
        household, residence, member = _homes(resident)
        villages |= {household} | ({residence} if residence else set())
        members |= {household} | ({residence} if member and residence else set())
        tags |= set(resident["tags"])
    lent = {"proxy_villages": frozenset(villages), "proxy_members": frozenset(members)}
    if account["resident_id"] is None:
        return ModelPrincipal(account_id=account_id, grants=grants, tags=frozenset(tags), **lent)
    # 村务监督委员会 (issue 15): a member in office today reads its village like the committee.
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    grants += tuple(
        ("SUPERVISOR", c["village_code"])
        for c in world.get("cadres", ())
        if c["body"] == "SUPERVISORY_COMMITTEE"
        and (c["resident_village"], c["resident_id"])
        == (account["resident_village"], account["resident_id"])
        and c["term_start"] <= today
        and (c["term_end"] is None or c["term_end"] > today)
    )
    resident = _resident(world, account["resident_village"], account["resident_id"])
    household, residence, member = _homes(resident)
    return ModelPrincipal(
        account_id=account_id,
        household_village=household,
        resident_id=resident["id"],
        residence_village=residence,
        residence_member=member,
        tags=frozenset(resident["tags"]) | tags,
        grants=grants,
        **lent,
    )


def pushed_to(p: ModelPrincipal, notice: Row, world: World) -> bool:
    """Whether a pushed notice is delivered to this account (worker/fanout.py): it can see
    it as a resident or a family proxy, or it is an official or cadre of a unit strictly
    inside the publisher's subtree; the publisher's own staff, those above and analysts
    read it in the app."""
    publisher = notice["publisher_code"]
    below = tuple(
        (role, unit)
        for role, unit in p.grants
        if role in ("OFFICIAL", "CADRE") and unit != publisher and inside(publisher, unit)
    )
    as_recipient = ModelPrincipal(
        account_id=p.account_id,
        household_village=p.household_village,
        resident_id=p.resident_id,
        residence_village=p.residence_village,
        residence_member=p.residence_member,
        tags=p.tags,
        grants=below,
        proxy_villages=p.proxy_villages,
        proxy_members=p.proxy_members,
    )
    if not as_recipient.villages() and not below:
        return False
    return notice_visible(as_recipient, notice, world)


# --- one rule per tenant table -------------------------------------------------------


def resident_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    # Analysts read no resident row (issue 12): aggregates and pseudonyms only.
    return (
        p.writes_subtree_of(row["village_code"])
        or p.writes_subtree_of(row["residence_code"])
        or (p.is_resident and row["id"] == p.resident_id)
    )


def account_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    return not p.anonymous and row["id"] == p.account_id


def grant_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    # Revoked grants stay readable as history; they no longer give any scope.
    return (not p.anonymous and row["account_id"] == p.account_id) or p.reads_subtree_of(
        row["unit_code"]
    )


def notice_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    publisher, targets = row["publisher_code"], set(row["target_tags"])
    if p.anonymous:
        return row["audience"] == "PUBLIC" and not targets
    if p.reads_subtree_of(publisher):
        return True
    if row["audience"] == "PUBLIC":
        reaches = publisher in p.receives_public_from()
    else:
        reaches = publisher in p.receives_members_from()
    addressed = not targets or bool(targets & p.tags) or bool(p.grants)
    return reaches and addressed


def notice_read_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    own = p.is_resident and (row["resident_village"], row["resident_id"]) == (
        p.household_village,
        p.resident_id,
    )
    return own or p.reads_subtree_of(row["resident_village"])


def outbox_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    mine = not p.anonymous and row["recipient_account"] == p.account_id
    return mine or p.reads_subtree_of(row["tenant_code"])


def audit_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    mine = not p.anonymous and row["account_id"] == p.account_id
    return mine or p.reads_subtree_of(row["tenant_code"])


def audit_head_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    return row["chain_key"] > 0 and p.reads_subtree_of(row["chain_key"])


def _staff_over(p: ModelPrincipal, code: int) -> bool:
    return p.reads_subtree_of(code)


def _own_resident(p: ModelPrincipal, village: int, resident: int) -> bool:
    """A row about the caller itself (its household village and resident id)."""
    return p.is_resident and (village, resident) == (p.household_village, p.resident_id)


def villagers_only(p: ModelPrincipal, row: Row, world: World) -> bool:
    """财务公开, 码上协商, 提建议 (issue 3): the village's members (household-registered, or
    admitted residents) and the staff whose subtree holds the village; nobody else, the
    neighbour village's residents and anonymous callers included."""
    return row["village_code"] in p.member_villages() or _staff_over(p, row["village_code"])


def finance_entry_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    """财务公开 discloses booked entries: members read those; an expense awaiting a second
    cadre's approval, or rejected, is for the staff over the village only (issue 16)."""
    if _staff_over(p, row["village_code"]):
        return True
    return row["status"] == "BOOKED" and row["village_code"] in p.member_villages()


def own_rating(p: ModelPrincipal, row: Row, world: World) -> bool:
    """A 民主评议 rating is secret like a ballot: only its rater reads it."""
    return _own_resident(p, row["resident_village"], row["resident_id"])


def proxy_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    """Who holds whose proxy: the village's staff, the elector and the proxy."""
    return (
        _staff_over(p, row["village_code"])
        or _own_resident(p, row["principal_village"], row["principal_id"])
        or _own_resident(p, row["proxy_village"], row["proxy_id"])
    )


def anyone(p: ModelPrincipal, row: Row, world: World) -> bool:
    """Configuration every caller reads (decision rules)."""
    return True


def elector_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    # The roll names people: the staff of the village and each elector for itself.
    return _staff_over(p, row["village_code"]) or _own_resident(
        p, row["resident_village"], row["resident_id"]
    )


def ballot_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    # Secret ballot: officials see counts only; a villager sees its own ballot.
    return _own_resident(p, row["resident_village"], row["resident_id"])


def staff_of_village(p: ModelPrincipal, row: Row, world: World) -> bool:
    """The ledger and inspections: staff and analysts of the subtree."""
    return _staff_over(p, row["village_code"])


def registry_staff(p: ModelPrincipal, row: Row, world: World) -> bool:
    """Households and resident history: officials and cadres of the subtree, no analyst."""
    return p.writes_subtree_of(row["village_code"])


def personal_data_read_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    # Who read whose full ID number: the resident's village staff, and the reader itself.
    return p.writes_subtree_of(row["resident_village"]) or row["reader_account"] == p.account_id


def membership_request_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    # The village asked decides; the household village and the resident follow it.
    return (
        p.writes_subtree_of(row["village_code"])
        or p.writes_subtree_of(row["resident_village"])
        or _own_resident(p, row["resident_village"], row["resident_id"])
    )


def staff_over_unit(p: ModelPrincipal, row: Row, world: World) -> bool:
    """Inspection reports (远程验收 with a verdict): staff and analysts over the inspected
    unit, which may be a town as well as a village."""
    return _staff_over(p, row["unit_code"])


def party_member_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    return p.writes_subtree_of(row["village_code"]) or _own_resident(
        p, row["village_code"], row["resident_id"]
    )


def cadre_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    # 组织公开: who holds which position is disclosed to the village's members.
    return villagers_only(p, row, world)


def listing_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    """Approved listings are public; pending and rejected ones only the applicant and the
    village's cadres see (issue 5), not officials above the village."""
    if row["status"] == "APPROVED":
        return True
    reviewer = ("CADRE", row["village_code"]) in p.grants
    return reviewer or _own_resident(p, row["village_code"], row["applicant_id"])


def shelter_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    # Public, but a closed shelter is not shown to the public (nobody should go there).
    return row["status"] != "CLOSED" or _staff_over(p, row["unit_code"])


def task_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    """The assignee unit's staff and everyone above it: the issuer and the superior a task
    escalates to are above the assignee (远程验收 by superiors)."""
    return any(
        _staff_over(p, unit)
        for unit in (row["assignee_code"], row["issuer_code"], row["escalated_to"])
        if unit is not None
    )


def task_reminder_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    return _staff_over(p, row["assignee_code"])


def city_rule_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    """Reminder, escalation and disclosure rules: staff anywhere inside the city."""
    return any(inside(row["city_code"], unit) for _, unit in p.grants) or _staff_over(
        p, row["city_code"]
    )


def channel_address_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    return not p.anonymous and row["account_id"] == p.account_id


def broadcast_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    return _staff_over(p, row["tenant_code"])


def broadcast_part_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    owner = next(b for b in world["broadcasts"] if b["id"] == row["broadcast_id"])
    return broadcast_visible(p, owner, world)


def family_proxy_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    """The proxy, the resident it stands for, and the staff over the resident's village."""
    mine = not p.anonymous and row["proxy_account"] == p.account_id
    return (
        mine
        or _own_resident(p, row["resident_village"], row["resident_id"])
        or _staff_over(p, row["resident_village"])
    )


def nobody(p: ModelPrincipal, row: Row, world: World) -> bool:
    """Login codes and channel quotas: the login path and the worker only."""
    return False


def figures_visible(p: ModelPrincipal, row: Row, world: World) -> bool:
    # Dashboard rollups: the units inside the caller's granted subtrees.
    return _staff_over(p, row["unit_code"])


def mask(value: str | None, head: int) -> str | None:
    """330302********1234, 138****0010: the head and the last four characters shown."""
    if value is None:
        return None
    if len(value) <= head + 4:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - 4) + value[-4:]


def contacts(p: ModelPrincipal, row: Row) -> tuple[str | None, str | None]:
    """ID number and phone as the caller may see them (issue 5): in full for the cadres of
    the household village and the resident itself, masked for everyone else."""
    if ("CADRE", row["village_code"]) in p.grants or (p.is_resident and row["id"] == p.resident_id):
        return row["id_number"], row["phone"]
    return mask(row["id_number"], 6), mask(row["phone"], 3)


@dataclass(frozen=True)
class TableRule:
    key: tuple[str, ...]
    visible: Callable[[ModelPrincipal, Row, World], bool]


# Not tenant-owned: readable by everyone, anonymous callers included.
PUBLIC_TABLES = {"org_units", "disclosure_settings", "sensitive_tags", "account_subjects"}
# The serving processes' shared state (migration 0022_shared_state): no tenant rows, and no
# role may select from them (tests/test_database_boundary.py); only definer functions reach them.
SERVICE_TABLES = {"rate_buckets", "persisted_documents"}


def key_of(table: str, row: Row) -> tuple[Any, ...]:
    return tuple(row[column] for column in TABLES[table].key)


def visible_rows(world: World, table: str, p: ModelPrincipal) -> list[Row]:
    rule = TABLES[table]
    return [row for row in world[table] if rule.visible(p, row, world)]


def visible_keys(world: World, table: str, p: ModelPrincipal) -> set[tuple[Any, ...]]:
    return {key_of(table, row) for row in visible_rows(world, table, p)}


# --- what the GraphQL queries should answer ------------------------------------------


def newest_first(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: (r["published_at"], r["id"]), reverse=True)


def feed(world: World, p: ModelPrincipal) -> list[Row]:
    """The home feed: visible notices of the caller's villages' and grants' ancestors-or-self."""
    homes = p.villages() | {unit for _, unit in p.grants}
    publishers = {a for unit in homes for a in ancestors_or_self(unit)}
    rows = visible_rows(world, "notices", p)
    return newest_first([r for r in rows if r["publisher_code"] in publishers])


def notices_under(world: World, p: ModelPrincipal, unit: int) -> list[Row]:
    rows = visible_rows(world, "notices", p)
    return newest_first([r for r in rows if inside(unit, r["publisher_code"])])


def read_count(world: World, p: ModelPrincipal, notice_id: int) -> int:
    return sum(1 for r in visible_rows(world, "notice_reads", p) if r["notice_id"] == notice_id)


def has_read(world: World, p: ModelPrincipal, notice_id: int) -> bool:
    return p.is_resident and any(
        (r["resident_village"], r["resident_id"], r["notice_id"])
        == (p.household_village, p.resident_id, notice_id)
        for r in world["notice_reads"]
    )


def dashboard_residents(world: World, p: ModelPrincipal, unit: int) -> int | None:
    """None when the dashboard must be null; else the resident count of the subtree."""
    if not p.reads_subtree_of(unit):
        return None
    return sum(1 for r in world["residents"] if inside(unit, r["village_code"]))


# --- what a writer may change (issue 12: writes stay inside the writer's scope) --------


def may_update_resident(p: ModelPrincipal, resident: Row) -> bool:
    """Tags and residence: the officials and cadres over the household village."""
    return p.writes_subtree_of(resident["village_code"])


def may_request_membership(p: ModelPrincipal, resident: Row) -> bool:
    """Asking a residence village to admit: the household village's staff or the resident."""
    lives_elsewhere = resident["residence_code"] not in (None, resident["village_code"])
    own = p.is_resident and p.resident_id == resident["id"]
    return lives_elsewhere and (may_update_resident(p, resident) or own)


def may_decide_membership(p: ModelPrincipal, request: Row) -> bool:
    """Admission to village X: only X's officials and cadres, never the household village's."""
    return request["status"] == "PENDING" and p.writes_subtree_of(request["village_code"])


def may_appoint_cadre(p: ModelPrincipal, village: int) -> bool:
    return p.writes_subtree_of(village)


# Every domain's rules (tests/isolation/<domain>.py, `RULES`), joined here, at the end of the
# module, because those modules take TableRule and the rules above from it.
TABLES: dict[str, TableRule] = {
    table: rule
    for domain in DOMAINS
    for table, rule in importlib.import_module(f"tests.isolation.{domain.name}").RULES.items()
}
