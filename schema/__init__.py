"""The GraphQL schema: strawberry types per domain, merged into one Federation 2 subgraph.

The root types merge every domain's classes, in the order of villagegraph/domains.DOMAINS
(which names them); a domain adds its fields there, never here.
"""

from __future__ import annotations

from pathlib import Path

import strawberry
from graphql import GraphQLSchema
from strawberry.extensions import ValidationCache
from strawberry.federation.schema import FederationAny
from strawberry.tools import merge_types
from strawberry.types.info import Info

from villagegraph.config import Settings
from villagegraph.domains import parts
from villagegraph.errors import BadUserInput
from villagegraph.schema.extensions import (
    CachedParse,
    DepthLimit,
    MaskInternalErrors,
    RequestTransaction,
)

SDL_PATH = Path(__file__).parent / "schema.graphql"


class Subgraph(strawberry.federation.Schema):
    """Federation's schema with `_entities` representations checked before they resolve:
    each must name an entity type and carry exactly the key field it is resolved by (a
    wrong one was a 500); anything else is BAD_USER_INPUT."""

    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        checked = []
        for index, representation in enumerate(representations):
            if not isinstance(representation, dict):
                raise BadUserInput(f"Representation {index} is not an object.")
            typename = representation.get("__typename")
            key = ENTITY_KEYS.get(typename) if isinstance(typename, str) else None
            if key is None:
                raise BadUserInput(f"Representation {index} names no entity type.")
            value = representation.get(key)
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise BadUserInput(f"Representation {index} needs its `{key}`.")
            checked.append(FederationAny({"__typename": typename, key: str(value)}))
        return super().entities_resolver(info, checked)


# Each entity's @key field, which its resolve_reference takes.
ENTITY_KEYS = {"OrgUnit": "code", "Notice": "id", "Resident": "id"}


def build_schema(max_depth: int = Settings.max_depth) -> strawberry.federation.Schema:
    """The subgraph of every domain's root fields and entities, merged in DOMAINS order.
    Built on call, not on import, so any layer may import a schema module first."""
    return Subgraph(
        query=merge_types("Query", tuple(parts("villagegraph.schema", "queries"))),
        mutation=merge_types("Mutation", tuple(parts("villagegraph.schema", "mutations"))),
        subscription=merge_types(
            "Subscription", tuple(parts("villagegraph.schema", "subscriptions"))
        ),
        types=list(parts("villagegraph.schema", "entities")),
        # The newest Federation both Apollo's composition and The Guild's (Hive Gateway)
        # accept; tests/test_federation_composition.py composes with each.
        federation_version="2.9",
        extensions=[
            RequestTransaction,
            MaskInternalErrors,
            lambda: DepthLimit(max_depth),
            # Clients send the same few documents over and over: parsing and validating
            # them was ~40% of a feed request (py-spy, bench/). Bounded LRU caches.
            CachedParse,
            lambda: ValidationCache(maxsize=512),
        ],
    )


def graphql_core_schema(schema: strawberry.federation.Schema) -> GraphQLSchema:
    """The graphql-core schema under strawberry's (strawberry offers no public accessor):
    what document measuring (villagegraph/limits.py) and schema diffing work on."""
    return schema._schema


def sdl() -> str:
    return build_schema().as_str() + "\n"
