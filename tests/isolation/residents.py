"""The reference rules of the residents domain's tenant tables: each table's primary key and
who may see a row, in the words of tests/reference_model.py; the isolation property test
compares the service and the database against them."""

from __future__ import annotations

from tests.reference_model import (
    TableRule,
    cadre_visible,
    membership_request_visible,
    party_member_visible,
    personal_data_read_visible,
    registry_staff,
    resident_visible,
)

RULES: dict[str, TableRule] = {
    "residents": TableRule(("village_code", "id"), resident_visible),
    "households": TableRule(("village_code", "household_no"), registry_staff),
    "resident_history": TableRule(("village_code", "resident_id", "valid_from"), registry_staff),
    "personal_data_reads": TableRule(("id",), personal_data_read_visible),
    "membership_requests": TableRule(("village_code", "id"), membership_request_visible),
    "cadres": TableRule(("village_code", "id"), cadre_visible),
    "party_members": TableRule(("village_code", "resident_id", "joined_on"), party_member_visible),
}
