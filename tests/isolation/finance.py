"""The reference rules of the finance domain's tenant tables: each table's primary key and
who may see a row, in the words of tests/reference_model.py; the isolation property test
compares the service and the database against them. (The chart of accounts,
account_subjects, is public reference data: PUBLIC_TABLES.)"""

from __future__ import annotations

from tests.reference_model import (
    TableRule,
    city_rule_visible,
    finance_entry_visible,
    villagers_only,
)

RULES: dict[str, TableRule] = {
    "finance_entries": TableRule(("village_code", "id"), finance_entry_visible),
    "finance_budgets": TableRule(("village_code", "id"), villagers_only),
    "finance_rules": TableRule(("city_code",), city_rule_visible),
}
