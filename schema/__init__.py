"""The GraphQL schema: strawberry types per domain, merged into one Federation 2 subgraph.

A domain adds its root fields by appending its Query/Mutation classes below; nothing
else in this file needs to change.
"""

from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.extensions import QueryDepthLimiter, ValidationCache
from strawberry.tools import merge_types

from schema.accounts import AccountMutation, AccountQuery
from schema.dashboard import DashboardQuery
from schema.extensions import CachedParse, MaskInternalErrors, RequestTransaction
from schema.hierarchy import HierarchyQuery, OrgUnit
from schema.notices import Notice, NoticeMutation, NoticeQuery
from schema.residents import Resident

SDL_PATH = Path(__file__).parent / "schema.graphql"

QUERIES: tuple[type, ...] = (AccountQuery, HierarchyQuery, NoticeQuery, DashboardQuery)
MUTATIONS: tuple[type, ...] = (AccountMutation, NoticeMutation)
ENTITIES: tuple[type, ...] = (OrgUnit, Notice, Resident)

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS)


def build_schema(max_depth: int = 12) -> strawberry.federation.Schema:
    return strawberry.federation.Schema(
        query=Query,
        mutation=Mutation,
        types=list(ENTITIES),
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
