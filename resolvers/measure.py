"""What an analytics measure is: a SQL fragment over one table (resolvers/analytics.py runs it).

Domains declare their measures with this class in their own resolvers module; it imports
nothing, so any resolvers module may use it without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    name: str  # the AnalyticsMeasure enum value, UPPER_CASE
    description: str
    source: str  # FROM clause; tables are read under RLS
    tenant: str  # bigint division code column
    time: str | None  # timestamptz/date column; None: a stock, not filtered by period
    category: str | None  # text column; None: no CATEGORY grouping
    value: str = "count(*)"  # aggregate; must add up across groups for SUM-like measures
    # Personal data (issue 12): `value` is a vg.protected_count, null for a group too small
    # to show; such groups are left out of the answer.
    protected: bool = False
    integral: bool = True  # a count (AnalyticsGroup.count); False for sums of money
