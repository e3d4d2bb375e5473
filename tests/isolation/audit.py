"""The reference rules of the audit domain's tenant tables: each table's primary key and
who may see a row, in the words of tests/reference_model.py; the isolation property test
compares the service and the database against them."""

from __future__ import annotations

from tests.reference_model import TableRule, audit_head_visible, audit_visible

RULES: dict[str, TableRule] = {
    "audit_log": TableRule(("id",), audit_visible),
    "audit_heads": TableRule(("chain_key",), audit_head_visible),
}
