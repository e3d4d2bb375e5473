"""Every business domain, declared once: what each layer takes from it, in DOMAINS order.

A domain is a name and the parts it contributes, each found by the name of the domain
in the module of its layer (nothing here imports a layer, so any layer may read DOMAINS
without an import cycle):

- `queries`, `mutations`, `entities`, `subscriptions`: classes of villagegraph/schema/<name>.py,
  merged in DOMAINS order (the order of the fields in schema/schema.graphql);
- `measures`: `Measure` constants of villagegraph/resolvers/<name>.py (analytics);
- `scans`: `async def scan(conn, now) -> int` of villagegraph/resolvers/<name>.py (worker);
- `scale`: generators of villagegraph/seed/scale/<name>.py, after the shared world; and
  `bulk_tables`, loaded in bulk there with their secondary indexes dropped;
- by convention, never imported by the service: bench/cases/<name>.py (`CASES`) and
  tests/isolation/<name>.py (`RULES`, the reference model of the domain's tenant tables),
  which tests/test_domains.py requires for every domain.

This module only names things; it must not import the layers it names, nor decide
anything about a domain's behaviour.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Domain:
    name: str
    queries: tuple[str, ...] = ()
    mutations: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    subscriptions: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()
    scans: tuple[str, ...] = ()
    scale: tuple[str, ...] = ()
    bulk_tables: tuple[str, ...] = ()


# The order is the order of the SDL's root fields, the worker's scans and the scale seed.
DOMAINS: tuple[Domain, ...] = (
    Domain("accounts", ("AccountQuery",), ("AccountMutation", "SelfServiceMutation")),
    Domain("hierarchy", ("HierarchyQuery",), entities=("OrgUnit",)),
    Domain(
        "notices",
        ("NoticeQuery",),
        ("NoticeMutation",),
        entities=("Notice",),
        subscriptions=("NoticeSubscription",),
        measures=("NOTICES", "NOTICE_READS"),
        scans=("raise_unread_notice_tasks",),
        bulk_tables=("notices", "notice_reads"),
    ),
    Domain("dashboard", ("DashboardQuery",)),
    Domain(
        "residents",
        ("ResidentQuery",),
        ("ResidentMutation",),
        entities=("Resident",),
        measures=("RESIDENTS",),
        scale=("generate_cadres",),
        bulk_tables=("residents", "party_members"),
    ),
    Domain("listings", ("ListingQuery",), ("ListingMutation",), scale=("generate_listings",)),
    Domain("shelters", ("ShelterQuery",), ("ShelterMutation",), scale=("generate_shelters",)),
    Domain(
        "finance",
        ("FinanceQuery",),
        ("FinanceMutation",),
        measures=(
            "FINANCE_INCOME",
            "FINANCE_EXPENSE",
            "FINANCE_BUDGET_INCOME",
            "FINANCE_BUDGET_EXPENSE",
        ),
        scale=("generate_finance",),
        bulk_tables=("finance_entries",),
    ),
    Domain(
        "consultations",
        ("ConsultationQuery",),
        ("ConsultationMutation",),
        measures=("CONSULTATIONS", "BALLOTS"),
        scans=("close_ended_consultations", "raise_democracy_tasks"),
        scale=("generate_consultations",),
        bulk_tables=("consultation_electors", "ballots"),
    ),
    Domain(
        "suggestions",
        ("SuggestionQuery",),
        ("SuggestionMutation",),
        measures=("SUGGESTIONS",),
        scale=("generate_suggestions",),
    ),
    Domain("analytics", ("AnalyticsQuery",)),
    Domain(
        "tasks",
        ("TaskQuery", "TaskRuleQuery"),
        ("TaskMutation", "TaskRuleMutation"),
        measures=("TASKS", "TASKS_COMPLETED_LATE"),
        scans=("remind_due_tasks", "escalate_overdue_tasks", "raise_disclosure_tasks"),
        scale=("generate_tasks",),
        bulk_tables=("tasks",),
    ),
    Domain(
        "ledger",
        ("LedgerQuery",),
        ("LedgerMutation",),
        measures=("LEDGER_ENTRIES",),
        scale=("generate_ledger",),
        bulk_tables=("ledger_entries",),
    ),
    Domain("inspections", ("InspectionQuery", "InspectionReportQuery"), ("InspectionMutation",)),
    Domain("notifications", ("NotificationQuery",), ("NotificationMutation",)),
    Domain("audit"),
)


def parts(layer: str, kind: str) -> Iterator[Any]:
    """Each domain's `kind` parts (a Domain field), taken from `<layer>.<domain name>` in
    DOMAINS order: `parts("villagegraph.schema", "queries")` yields the Query classes."""
    for domain in DOMAINS:
        names: tuple[str, ...] = getattr(domain, kind)
        if names:
            module = importlib.import_module(f"{layer}.{domain.name}")
            yield from (getattr(module, name) for name in names)
