"""The reference rules of the residents domain's tenant tables: each table's primary key and
who may see a row, in the words of tests/reference_model.py; the isolation property test
compares the service and the database against them."""

from __future__ import annotations

from tests.reference_model import (
    TableRule,
    cadre_visible,
    party_member_visible,
    resident_visible,
    staff_of_village,
)

RULES: dict[str, TableRule] = {
    "residents": TableRule(("village_code", "id"), resident_visible),
    "households": TableRule(("village_code", "household_no"), staff_of_village),
    "resident_history": TableRule(("village_code", "resident_id", "valid_from"), staff_of_village),
    "cadres": TableRule(("village_code", "id"), cadre_visible),
    "party_members": TableRule(("village_code", "resident_id", "joined_on"), party_member_visible),
}
