"""Who is asking: the facts the database returned for the caller's account."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from villagegraph.tenants.hierarchy import ancestors_or_self, contains

STAFF_ROLES = ("OFFICIAL", "CADRE")


@dataclass(frozen=True)
class Grant:
    role: str  # OFFICIAL | CADRE | ANALYST
    unit: int
    level: str


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
        )

    @property
    def is_resident(self) -> bool:
        return self.resident_id is not None

    @property
    def is_staff(self) -> bool:
        return any(g.role in STAFF_ROLES for g in self.grants)

    def can_read_subtree(self, unit: int) -> bool:
        """Defence in depth for clear errors; RLS decides what is actually returned."""
        return any(contains(g.unit, unit) for g in self.grants)

    def can_write(self, unit: int) -> bool:
        return any(g.role in STAFF_ROLES and contains(g.unit, unit) for g in self.grants)

    def feed_publishers(self) -> list[int]:
        """Units whose notices reach this caller's feed: the ancestor-or-self units of its
        villages and of its grants' units (RLS still filters audience and tags)."""
        villages = [v for v in (self.household_village, self.residence_village) if v is not None]
        units = villages + [g.unit for g in self.grants]
        return sorted({a for unit in units for a in ancestors_or_self(unit)})

    def roles(self) -> list[str]:
        roles = sorted({g.role for g in self.grants})
        return (["RESIDENT"] if self.is_resident else []) + roles
