"""The subgraph composes with both major compositions: Apollo's (@apollo/composition, used by
Apollo's gateway and router) and The Guild's (@theguild/federation-composition, used by Hive
Gateway), alone and with the social-assistance subgraph that extends Resident. Versions are
pinned by tests/federation/package-lock.json; the composer is tests/federation/compose.mjs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.api_support import NODE_DIR, node_or_skip
from tests.federation.social_assistance import schema as social_schema
from villagegraph.schema import sdl

LIBRARIES = ("apollo", "guild")


def compose(library: str, tmp_path: Path, subgraphs: dict[str, str]) -> str:
    node = node_or_skip()
    specs = []
    for name, text in subgraphs.items():
        file = tmp_path / f"{name}.graphql"
        file.write_text(text)
        specs.append(f"{name}=http://{name}.invalid/graphql,{file}")
    done = subprocess.run(
        [node, str(NODE_DIR / "compose.mjs"), "--with", library, *specs],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{library} refused the composition:\n{done.stderr}"
    return done.stdout


def test_the_sdl_links_the_pinned_federation_version():
    assert 'url: "https://specs.apollo.dev/federation/v2.9"' in sdl()


@pytest.mark.parametrize("library", LIBRARIES)
def test_villagegraph_composes_alone(library, tmp_path):
    supergraph = compose(library, tmp_path, {"villagegraph": sdl()})
    assert "join__Graph" in supergraph
    assert "VILLAGEGRAPH" in supergraph
    assert "feed(" in supergraph


@pytest.mark.parametrize("library", LIBRARIES)
def test_villagegraph_composes_with_a_subgraph_extending_resident(library, tmp_path):
    supergraph = compose(
        library,
        tmp_path,
        {"villagegraph": sdl(), "social": social_schema.as_str() + "\n"},
    )
    assert "benefits" in supergraph
    assert "benefitPrograms" in supergraph
    assert "SOCIAL" in supergraph


def test_a_federation_version_the_guild_cannot_read_is_refused(tmp_path):
    """Why the version is pinned: strawberry's default (v2.11) fails The Guild's composition."""
    newer = sdl().replace("federation/v2.9", "federation/v2.11", 1)
    with pytest.raises(AssertionError, match="Invalid version v2.11"):
        compose("guild", tmp_path, {"villagegraph": newer})


def test_scripts_supergraph_writes_a_supergraph_for_routers(tmp_path):
    node_or_skip()
    social = tmp_path / "social.graphql"
    social.write_text(social_schema.as_str() + "\n")
    done = subprocess.run(
        [
            "bash",
            str(NODE_DIR.parent.parent / "scripts" / "supergraph"),
            "--url",
            "http://villagegraph:8000/graphql",
            f"social=http://social:8001/graphql,{social}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('schema @link(url: "https://specs.apollo.dev/link/v1.0")')
    assert 'url: "http://villagegraph:8000/graphql"' in done.stdout
    assert 'url: "http://social:8001/graphql"' in done.stdout
