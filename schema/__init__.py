"""The GraphQL schema: strawberry types per domain, merged into one Federation 2 subgraph.

A domain adds its root fields by appending its Query/Mutation classes below; nothing
else in this file needs to change.
"""

from __future__ import annotations

from pathlib import Path

import strawberry
from strawberry.extensions import QueryDepthLimiter
from strawberry.tools import merge_types

from schema.accounts import AccountMutation, AccountQuery
from schema.dashboard import DashboardQuery
from schema.extensions import MaskInternalErrors, RequestTransaction
from schema.hierarchy import HierarchyQuery, OrgUnit
from schema.ledger import LedgerMutation, LedgerQuery
from schema.notices import Notice, NoticeMutation, NoticeQuery
from schema.residents import Resident
from schema.tasks import TaskMutation, TaskQuery

SDL_PATH = Path(__file__).parent / "schema.graphql"

QUERIES: tuple[type, ...] = (
    AccountQuery,
    HierarchyQuery,
    NoticeQuery,
    DashboardQuery,
    TaskQuery,
    LedgerQuery,
)
MUTATIONS: tuple[type, ...] = (AccountMutation, NoticeMutation, TaskMutation, LedgerMutation)
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
        ],
    )


def sdl() -> str:
    return build_schema().as_str() + "\n"
