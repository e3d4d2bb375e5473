"""The schema must not break clients of the last released SDL (schema/released.graphql).

A breaking change (a removed field or type, a narrowed argument, a new required input...)
fails here; release it deliberately by copying schema.graphql over released.graphql.
"""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema as build_from_sdl
from graphql import find_breaking_changes

from villagegraph.schema import build_schema, graphql_core_schema

RELEASED = Path(__file__).resolve().parent.parent / "schema" / "released.graphql"


def breaking_changes(released_sdl: str) -> list[str]:
    released = build_from_sdl(released_sdl, assume_valid_sdl=True)
    current = graphql_core_schema(build_schema())
    return [change.description for change in find_breaking_changes(released, current)]


def test_no_breaking_change_against_the_released_schema():
    assert breaking_changes(RELEASED.read_text()) == []


def test_a_removed_field_would_be_flagged():
    notice = 'type Notice @key(fields: "id") {'
    sdl = RELEASED.read_text().replace(notice, notice + "\n  retiredField: Int", 1)
    assert breaking_changes(sdl) == ["Field Notice.retiredField was removed."]
