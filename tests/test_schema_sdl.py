"""schema/schema.graphql is the exported SDL; it must match the code."""

from __future__ import annotations

import subprocess
import sys

from villagegraph.schema import SDL_PATH, sdl


def test_schema_graphql_is_in_sync_with_the_code():
    assert SDL_PATH.read_text() == sdl(), (
        "schema/schema.graphql is stale: run `villagegraph schema > schema/schema.graphql`"
    )


def test_schema_command_prints_the_same_sdl():
    output = subprocess.run(
        [sys.executable, "-m", "villagegraph.cli", "schema"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert output == SDL_PATH.read_text()


def test_building_and_running_the_schema_warns_of_no_deprecation():
    """Issue 17: strawberry warned 21 times that passing extension instances is deprecated.
    (Running documents is covered by the API tests, which run with the same filter in
    pyproject's pytest settings.)"""
    script = (
        "from villagegraph.schema import build_schema\n"
        "schema = build_schema(12)\n"
        "assert 'type Query' in schema.as_str()\n"
    )
    subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", script],
        check=True,
        capture_output=True,
    )
