"""What each field does: SQL and DataLoaders, one module per domain.

Resolvers never decide visibility; the RLS policies do. They run every statement through
the request's ScopedSession, batch relations through DataLoaders, and aggregate in SQL.
The API layer imports this package under its own name: `resolvers.notices.feed(...)`.
"""

from villagegraph.resolvers import (
    accounts,
    analytics,
    consultations,
    dashboard,
    democracy,
    finance,
    hierarchy,
    inspections,
    ledger,
    listings,
    loaders,
    notices,
    notifications,
    residents,
    shelters,
    suggestions,
    tasks,
)

__all__ = [
    "accounts",
    "analytics",
    "consultations",
    "dashboard",
    "democracy",
    "finance",
    "hierarchy",
    "inspections",
    "ledger",
    "listings",
    "loaders",
    "notices",
    "notifications",
    "residents",
    "shelters",
    "suggestions",
    "tasks",
]
