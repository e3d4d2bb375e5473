"""The reference rules of the notifications domain's tenant tables: each table's primary key and
who may see a row, in the words of tests/reference_model.py; the isolation property test
compares the service and the database against them."""

from __future__ import annotations

from tests.reference_model import TableRule, channel_address_visible, outbox_visible

RULES: dict[str, TableRule] = {
    "outbox": TableRule(("id",), outbox_visible),
    "channel_addresses": TableRule(("account_id", "channel"), channel_address_visible),
}
