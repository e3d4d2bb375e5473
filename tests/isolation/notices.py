"""The reference rules of the notices domain's tenant tables: each table's primary key and
who may see a row, in the words of tests/reference_model.py; the isolation property test
compares the service and the database against them."""

from __future__ import annotations

from tests.reference_model import TableRule, notice_read_visible, notice_visible

RULES: dict[str, TableRule] = {
    "notices": TableRule(("publisher_code", "id"), notice_visible),
    "notice_reads": TableRule(
        ("resident_village", "resident_id", "notice_id"), notice_read_visible
    ),
}
