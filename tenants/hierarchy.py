"""Division-code arithmetic (统计用区划代码): 12 digits, city 4 + county 2 + town 3 + village 3.

A subtree is the contiguous code range [code, subtree_end(code)]; the SQL twin of these
functions is vg.subtree_end / vg.ancestors_or_self in the core migration.
"""

from __future__ import annotations

from enum import Enum


class Level(Enum):
    CITY = "CITY"
    COUNTY = "COUNTY"
    TOWN = "TOWN"
    VILLAGE = "VILLAGE"


# Width of the trailing zero block for each level: a unit's subtree spans 10**width codes.
_WIDTH = {Level.VILLAGE: 0, Level.TOWN: 3, Level.COUNTY: 6, Level.CITY: 8}
_CHILD = {Level.CITY: Level.COUNTY, Level.COUNTY: Level.TOWN, Level.TOWN: Level.VILLAGE}


def is_division_code(value: str) -> bool:
    return len(value) == 12 and value.isdigit() and value[0] != "0"


def level_of(code: int) -> Level:
    if code % 1000:
        return Level.VILLAGE
    if code % 1_000_000:
        return Level.TOWN
    if code % 100_000_000:
        return Level.COUNTY
    return Level.CITY


def subtree_end(code: int) -> int:
    return code + 10 ** _WIDTH[level_of(code)] - 1


def contains(ancestor: int, code: int) -> bool:
    return ancestor <= code <= subtree_end(ancestor)


def ancestors_or_self(code: int) -> list[int]:
    return sorted({code - code % 100_000_000, code - code % 1_000_000, code - code % 1000, code})


def child_level(level: Level) -> Level | None:
    return _CHILD.get(level)


def child_divisor(level: Level) -> int | None:
    """`code - code % divisor` maps any code in a subtree to the child unit holding it."""
    child = _CHILD.get(level)
    return None if child is None else 10 ** _WIDTH[child]
