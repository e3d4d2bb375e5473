"""Benchmark cases of finance: none yet (the domain's reads are covered by other cases' floors
or are not on a hot path). Add a `Case` here when it gets one."""

from __future__ import annotations

from bench.cases import Case

CASES: list[Case] = []
