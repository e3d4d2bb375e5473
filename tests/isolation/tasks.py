"""The reference rules of the tasks domain's tenant tables: each table's primary key and
who may see a row, in the words of tests/reference_model.py; the isolation property test
compares the service and the database against them."""

from __future__ import annotations

from tests.reference_model import TableRule, city_rule_visible, task_reminder_visible, task_visible

RULES: dict[str, TableRule] = {
    "tasks": TableRule(("assignee_code", "id"), task_visible),
    "task_reminders": TableRule(
        ("assignee_code", "task_id", "kind", "due_at"), task_reminder_visible
    ),
    "task_reopenings": TableRule(
        ("assignee_code", "task_id", "reopened_at"), task_reminder_visible
    ),
    "task_rules": TableRule(("city_code",), city_rule_visible),
    "disclosure_rules": TableRule(("city_code", "board"), city_rule_visible),
}
