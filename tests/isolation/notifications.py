"""The reference rules of the notifications domain's tenant tables: each table's primary key and
who may see a row, in the words of tests/reference_model.py; the isolation property test
compares the service and the database against them."""

from __future__ import annotations

from tests.reference_model import (
    TableRule,
    account_visible,
    broadcast_part_visible,
    broadcast_visible,
    channel_address_visible,
    city_rule_visible,
    nobody,
    outbox_visible,
)

RULES: dict[str, TableRule] = {
    "outbox": TableRule(("id",), outbox_visible),
    "channel_addresses": TableRule(("account_id", "channel"), channel_address_visible),
    # Push rules: staff anywhere inside the city, like the other city rules.
    "push_rules": TableRule(("city_code", "board", "tier"), city_rule_visible),
    "broadcasts": TableRule(("id",), broadcast_visible),
    "broadcast_parts": TableRule(("broadcast_id", "lo"), broadcast_part_visible),
    "notification_preferences": TableRule(
        ("account_id",), lambda p, row, world: account_visible(p, {"id": row["account_id"]}, world)
    ),
    "channel_usage": TableRule(("channel", "day"), nobody),
}
