"""The client guide's example queries in README.md work as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def examples() -> list[tuple[str, str]]:
    guide = README.read_text().split("\n## Clients", 1)[1].split("\n## ", 1)[0]
    found = []
    for block in re.findall(r"```graphql\n(.*?)```", guide, re.S):
        first, _, document = block.partition("\n")
        match = re.match(r"# as (\d+)$", first)
        if match:
            found.append((match[1], document))
    return found


async def test_every_client_example_runs_without_errors(gql):
    runs = examples()
    assert len(runs) >= 3
    for phone, document in runs:
        data = await gql.data(document, as_=phone)
        assert all(value is not None for value in data.values()), (phone, data)
