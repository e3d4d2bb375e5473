"""The reference rules of the suggestions domain's tenant tables: each table's primary key and
who may see a row, in the words of tests/reference_model.py; the isolation property test
compares the service and the database against them."""

from __future__ import annotations

from tests.reference_model import TableRule, villagers_only

RULES: dict[str, TableRule] = {
    "suggestions": TableRule(("village_code", "id"), villagers_only),
    "suggestion_replies": TableRule(("village_code", "id"), villagers_only),
}
