"""The reference rules of the consultations domain's tenant tables: each table's primary key and
who may see a row, in the words of tests/reference_model.py; the isolation property test
compares the service and the database against them."""

from __future__ import annotations

from tests.reference_model import TableRule, ballot_visible, elector_visible, villagers_only

RULES: dict[str, TableRule] = {
    "consultations": TableRule(("village_code", "id"), villagers_only),
    "consultation_electors": TableRule(
        ("village_code", "consultation_id", "resident_village", "resident_id"), elector_visible
    ),
    "ballots": TableRule(
        ("village_code", "consultation_id", "resident_village", "resident_id"), ballot_visible
    ),
    "consultation_comments": TableRule(("village_code", "id"), villagers_only),
}
