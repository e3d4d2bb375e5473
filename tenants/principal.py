"""Who is asking: the facts the database returned for the caller's account, and the rules
over them that schema/guards.py asks (it owns the errors; this module decides nothing
about a request)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from villagegraph.tenants.hierarchy import ancestors_or_self, contains

STAFF_ROLES = ("OFFICIAL", "CADRE")


@dataclass(frozen=True)
class Grant:
    role: str  # OFFICIAL | CADRE | ANALYST | SUPERVISOR (村务监督委员会, from the term)
    unit: int
    level: str


@dataclass(frozen=True)
class Registration:
    """A resident's household registration (户籍): the village it votes in, applies from and
    suggests to."""

    village: int
    resident_id: int


@dataclass(frozen=True)
class Principal:
    """An authenticated account with its grants and, if it is a resident, its villages.

    Built from `vg.begin_request`, the same call that sets the RLS context, so the two
    never disagree.
    """

    account_id: int
    phone: str
    display_name: str
    resident_id: int | None = None
    household_village: int | None = None
    residence_village: int | None = None
    member_villages: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    grants: tuple[Grant, ...] = field(default_factory=tuple)
    # Villages whose notices reach the caller: its own, and those of the residents it is a
    # family proxy for (亲情账号; the database widened the context the same way).
    villages: tuple[int, ...] = ()
    proxy_for: tuple[int, ...] = ()  # resident ids

    @classmethod
    def from_facts(cls, facts: dict[str, Any]) -> Principal:
        def code(key: str) -> int | None:
            value = facts.get(key)
            return int(value) if value else None

        return cls(
            account_id=int(facts["account_id"]),
            phone=facts["phone"],
            display_name=facts["display_name"],
            resident_id=code("resident_id"),
            household_village=code("household_village"),
            residence_village=code("residence_village"),
            member_villages=tuple(int(v) for v in facts.get("member_villages") or ()),
            tags=tuple(facts.get("tags") or ()),
            grants=tuple(
                Grant(role=g["role"], unit=int(g["unit"]), level=g["level"])
                for g in facts.get("grants") or ()
            ),
            villages=tuple(int(v) for v in facts.get("villages") or ()),
            proxy_for=tuple(int(p["id"]) for p in facts.get("proxy_for") or ()),
        )

    @property
    def is_resident(self) -> bool:
        return self.resident_id is not None

    @property
    def registration(self) -> Registration | None:
        if self.resident_id is None or self.household_village is None:
            return None
        return Registration(self.household_village, self.resident_id)

    @property
    def is_staff(self) -> bool:
        return any(g.role in STAFF_ROLES for g in self.grants)

    def can_read_subtree(self, unit: int) -> bool:
        """Defence in depth for clear errors; RLS decides what is actually returned."""
        return any(contains(g.unit, unit) for g in self.grants)

    def can_write(self, unit: int) -> bool:
        return any(g.role in STAFF_ROLES and contains(g.unit, unit) for g in self.grants)

    def may_read_village(self, village: int) -> bool:
        """The village's villagers-only affairs: its members, and staff over it."""
        return village in self.member_villages or self.can_read_subtree(village)

    def is_cadre_of(self, village: int) -> bool:
        return any(g.role == "CADRE" and g.unit == village for g in self.grants)

    def is_staff_of(self, unit: int) -> bool:
        """Staff of the unit itself (not of a unit above it)."""
        return any(g.role in STAFF_ROLES and g.unit == unit for g in self.grants)

    def has_grant_within(self, unit: int) -> bool:
        """Any grant on the unit or below it (staff or analyst anywhere in a city)."""
        return any(contains(unit, g.unit) for g in self.grants)

    def acts_for_resident(self, village: int, resident_id: int) -> bool:
        """Staff over the resident's household village, or the resident itself."""
        return self.can_write(village) or self.resident_id == resident_id

    def issues_to(self, assignee: int) -> bool:
        """Whether the caller is staff strictly above the unit, so may assign it tasks."""
        return bool(self._issuing_units(assignee))

    def issuer_for(self, assignee: int) -> int:
        """The caller's nearest unit strictly above the assignee, where it is staff (one
        exists when `issues_to(assignee)`)."""
        return max(self._issuing_units(assignee))

    def _issuing_units(self, assignee: int) -> list[int]:
        return [
            g.unit
            for g in self.grants
            if g.role in STAFF_ROLES and g.unit != assignee and contains(g.unit, assignee)
        ]

    def acts_for_assignee(self, assignee: int, issuer: int) -> bool:
        """Staff of a task's assignee side: inside the assignee's unit, not on the issuer's."""
        return any(
            g.role in STAFF_ROLES and contains(assignee, g.unit) and not contains(g.unit, issuer)
            for g in self.grants
        )

    def acts_for_issuer(self, issuer: int) -> bool:
        return any(g.role in STAFF_ROLES and contains(g.unit, issuer) for g in self.grants)

    def relays_for(self, assignee: int, issuer: int) -> bool:
        """Staff of a task's assigned unit itself (or between it and the issuer), who may
        hand it on to units below."""
        return any(
            g.role in STAFF_ROLES and contains(g.unit, assignee) and not contains(g.unit, issuer)
            for g in self.grants
        )

    def supervises(self, village: int) -> bool:
        """A member of the village's supervisory committee (村务监督委员会) in office: its
        SUPERVISOR grant, derived from the term, reads like the committee, never writes."""
        return any(g.role == "SUPERVISOR" and g.unit == village for g in self.grants)

    def is_villager_of(self, village: int) -> bool:
        """On the village's household register (户籍)."""
        return self.resident_id is not None and self.household_village == village

    def feed_publishers(self) -> list[int]:
        """Units whose notices reach this caller's feed: the ancestor-or-self units of its
        villages (a family proxy's included) and of its grants' units (RLS still filters audience and tags)."""
        villages = [v for v in (self.household_village, self.residence_village) if v is not None]
        units = villages + list(self.villages) + [g.unit for g in self.grants]
        return sorted({a for unit in units for a in ancestors_or_self(unit)})

    def roles(self) -> list[str]:
        roles = sorted({g.role for g in self.grants})
        return (["RESIDENT"] if self.is_resident else []) + roles
