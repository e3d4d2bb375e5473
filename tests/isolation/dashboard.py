"""The reference rules of the dashboard domain's tenant tables: each table's primary key and
who may see a row, in the words of tests/reference_model.py; the isolation property test
compares the service and the database against them."""

from __future__ import annotations

from tests.reference_model import TableRule, figures_visible

RULES: dict[str, TableRule] = {
    "unit_figures": TableRule(("unit_code",), figures_visible),
    "unit_monthly_figures": TableRule(("unit_code", "month"), figures_visible),
    "unit_reader_months": TableRule(("unit_code", "month", "previous_month"), figures_visible),
}
