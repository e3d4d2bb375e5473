"""A second, small subgraph for the federation test: a social-assistance service that
extends villagegraph's Resident (by its key `id`) with the benefits it pays.

It knows nothing of villages or access rules: the gateway only asks it about residents
villagegraph has already shown the caller.
"""

from __future__ import annotations

import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL

PROGRAMS = ("低保", "高龄津贴", "残疾人两项补贴")


@strawberry.type
class Benefit:
    program: str
    monthly_yuan: int


@strawberry.federation.type(keys=["id"])
class Resident:
    id: strawberry.ID

    @strawberry.field
    def benefits(self) -> list[Benefit]:
        # Deterministic demo data: every third resident draws 低保.
        number = int(self.id)
        if number % 3:
            return []
        return [Benefit(program=PROGRAMS[0], monthly_yuan=1000 + number % 7 * 10)]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Resident:
        return cls(id=id)


@strawberry.type
class Query:
    @strawberry.field
    def benefit_programs(self) -> list[str]:
        return list(PROGRAMS)


# The same Federation version as villagegraph's (schema/__init__.py), for both compositions.
schema = strawberry.federation.Schema(query=Query, types=[Resident], federation_version="2.9")


def create_app() -> Starlette:
    return Starlette(routes=[Route("/graphql", GraphQL(schema), methods=["GET", "POST"])])
