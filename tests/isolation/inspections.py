"""The reference rules of the inspections domain's tenant tables: each table's primary key and
who may see a row, in the words of tests/reference_model.py; the isolation property test
compares the service and the database against them."""

from __future__ import annotations

from tests.reference_model import TableRule, staff_of_village, staff_over_unit

RULES: dict[str, TableRule] = {
    "inspections": TableRule(("village_code", "id"), staff_of_village),
    "inspection_reports": TableRule(("unit_code", "id"), staff_over_unit),
}
