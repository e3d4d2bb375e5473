"""The reference rules of the consultations domain's tenant tables: each table's primary key and
who may see a row, in the words of tests/reference_model.py; the isolation property test
compares the service and the database against them."""

from __future__ import annotations

from tests.reference_model import (
    TableRule,
    anyone,
    ballot_visible,
    elector_visible,
    own_rating,
    proxy_visible,
    villagers_only,
)

VILLAGE_ID = ("village_code", "id")

RULES: dict[str, TableRule] = {
    "consultations": TableRule(VILLAGE_ID, villagers_only),
    "consultation_electors": TableRule(
        ("village_code", "consultation_id", "resident_village", "resident_id"), elector_visible
    ),
    "ballots": TableRule(
        ("village_code", "consultation_id", "resident_village", "resident_id"), ballot_visible
    ),
    "consultation_comments": TableRule(VILLAGE_ID, villagers_only),
    # issue 15: democracy around the vote
    "decision_rules": TableRule(("city_code", "rule"), anyone),
    "ballot_proxies": TableRule(
        ("village_code", "consultation_id", "principal_village", "principal_id"), proxy_visible
    ),
    "consultation_proposals": TableRule(VILLAGE_ID, villagers_only),
    "proposal_supporters": TableRule(
        ("village_code", "proposal_id", "resident_village", "resident_id"), villagers_only
    ),
    "supervisory_signoffs": TableRule(VILLAGE_ID, villagers_only),
    "supervisory_objections": TableRule(VILLAGE_ID, villagers_only),
    "resolution_executions": TableRule(("village_code", "consultation_id"), villagers_only),
    "execution_milestones": TableRule(VILLAGE_ID, villagers_only),
    "execution_links": TableRule(
        ("village_code", "consultation_id", "kind", "target_id"), villagers_only
    ),
    "execution_reviews": TableRule(("village_code", "year"), villagers_only),
    "execution_ratings": TableRule(
        ("village_code", "year", "resident_village", "resident_id"), own_rating
    ),
}
