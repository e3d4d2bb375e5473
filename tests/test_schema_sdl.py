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
