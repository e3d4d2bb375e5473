"""The reference rules of the listings domain's tenant tables: each table's primary key and
who may see a row, in the words of tests/reference_model.py; the isolation property test
compares the service and the database against them."""

from __future__ import annotations

from tests.reference_model import TableRule, listing_visible

RULES: dict[str, TableRule] = {
    "listings": TableRule(("village_code", "id"), listing_visible),
}
