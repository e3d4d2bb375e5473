"""Every domain declared in villagegraph/domains.DOMAINS is complete in every layer."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from villagegraph.domains import DOMAINS, Domain, parts
from villagegraph.resolvers.measure import Measure

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "queries": "villagegraph.schema",
    "mutations": "villagegraph.schema",
    "entities": "villagegraph.schema",
    "subscriptions": "villagegraph.schema",
    "measures": "villagegraph.resolvers",
    "scans": "villagegraph.resolvers",
    "scale": "villagegraph.seed.scale",
}


def test_domain_names_are_unique():
    names = [domain.name for domain in DOMAINS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_every_domain_has_bench_cases_and_reference_rules(domain: Domain):
    assert (ROOT / "bench" / "cases" / f"{domain.name}.py").is_file()
    assert (ROOT / "tests" / "isolation" / f"{domain.name}.py").is_file()
    assert isinstance(importlib.import_module(f"bench.cases.{domain.name}").CASES, list)
    assert isinstance(importlib.import_module(f"tests.isolation.{domain.name}").RULES, dict)


@pytest.mark.parametrize("kind", LAYERS)
def test_every_part_a_domain_names_exists_in_its_layer(kind: str):
    found = list(parts(LAYERS[kind], kind))
    assert len(found) == sum(len(getattr(domain, kind)) for domain in DOMAINS)
    if kind == "measures":
        assert all(isinstance(measure, Measure) for measure in found)
    if kind in ("scans", "scale"):
        assert all(callable(part) for part in found)
