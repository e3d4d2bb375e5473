"""Benchmark support of inspections: no case of its own; the floors of the tasks and ledger
cases record their reads from outside a village with FLOOR_INSPECTION, as the service does."""

from __future__ import annotations

from bench.cases import Case

# An official reading villages from outside records one inspection per village read.
FLOOR_INSPECTION = """
insert into vg.inspections (village_code, account_id, inspector_name, subject, queried_unit,
                            search)
select v, $2, $3, $4, $5, $6 from unnest($1::bigint[]) v"""

CASES: list[Case] = []
