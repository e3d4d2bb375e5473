"""The GraphQL schema: strawberry types per domain, merged into one Federation 2 subgraph.

A domain adds its root fields by appending its Query/Mutation classes below; nothing
else in this file needs to change.
"""

from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.extensions import QueryDepthLimiter, ValidationCache
from strawberry.tools import merge_types

from villagegraph.schema.accounts import AccountMutation, AccountQuery
from villagegraph.schema.analytics import AnalyticsQuery
from villagegraph.schema.consultations import ConsultationMutation, ConsultationQuery
from villagegraph.schema.dashboard import DashboardQuery
from villagegraph.schema.extensions import CachedParse, MaskInternalErrors, RequestTransaction
from villagegraph.schema.finance import FinanceMutation, FinanceQuery
from villagegraph.schema.hierarchy import HierarchyQuery, OrgUnit
from villagegraph.schema.ledger import LedgerMutation, LedgerQuery
from villagegraph.schema.listings import ListingMutation, ListingQuery
from villagegraph.schema.notices import Notice, NoticeMutation, NoticeQuery
from villagegraph.schema.residents import Resident, ResidentMutation, ResidentQuery
from villagegraph.schema.shelters import ShelterMutation, ShelterQuery
from villagegraph.schema.subscriptions import NoticeSubscription
from villagegraph.schema.suggestions import SuggestionMutation, SuggestionQuery
from villagegraph.schema.tasks import TaskMutation, TaskQuery

SDL_PATH = Path(__file__).parent / "schema.graphql"

QUERIES: tuple[type, ...] = (
    AccountQuery,
    HierarchyQuery,
    NoticeQuery,
    DashboardQuery,
    ResidentQuery,
    ListingQuery,
    ShelterQuery,
    FinanceQuery,
    ConsultationQuery,
    SuggestionQuery,
    AnalyticsQuery,
    TaskQuery,
    LedgerQuery,
)
MUTATIONS: tuple[type, ...] = (
    AccountMutation,
    NoticeMutation,
    ResidentMutation,
    ListingMutation,
    ShelterMutation,
    FinanceMutation,
    ConsultationMutation,
    SuggestionMutation,
    TaskMutation,
    LedgerMutation,
)
ENTITIES: tuple[type, ...] = (OrgUnit, Notice, Resident)
SUBSCRIPTIONS: tuple[type, ...] = (NoticeSubscription,)

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS)
Subscription = merge_types("Subscription", SUBSCRIPTIONS)


def build_schema(max_depth: int = 12) -> strawberry.federation.Schema:
    return strawberry.federation.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=list(ENTITIES),
        # The newest Federation both Apollo's composition and The Guild's (Hive Gateway)
        # accept; tests/test_federation_composition.py composes with each.
        federation_version="2.9",
        extensions=[
            RequestTransaction,
            MaskInternalErrors,
            QueryDepthLimiter(max_depth=max_depth),  # type: ignore[list-item]
            # Clients send the same few documents over and over: parsing and validating
            # them was ~40% of a feed request (py-spy, bench/). Bounded LRU caches.
            CachedParse,
            lambda: ValidationCache(maxsize=512),
        ],
    )


def sdl() -> str:
    return build_schema().as_str() + "\n"
