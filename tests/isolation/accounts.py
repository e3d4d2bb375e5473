"""The reference rules of the accounts domain's tenant tables: each table's primary key and
who may see a row, in the words of tests/reference_model.py; the isolation property test
compares the service and the database against them."""

from __future__ import annotations

from tests.reference_model import (
    TableRule,
    account_visible,
    family_proxy_visible,
    grant_visible,
    nobody,
)

RULES: dict[str, TableRule] = {
    "accounts": TableRule(("id",), account_visible),
    "grants": TableRule(("id",), grant_visible),
    # A caller's own sessions (never their secret): the database verifies them per request.
    "sessions": TableRule(
        ("id",), lambda p, row, world: account_visible(p, {"id": row["account_id"]}, world)
    ),
    # Wrong-password counters: only the login role's functions read or write them.
    "login_failures": TableRule(("phone",), lambda p, row, world: False),
    # Sign-in codes: only the login path's definer functions touch them.
    "login_codes": TableRule(("id",), nobody),
    "identity_checks": TableRule(
        ("id",), lambda p, row, world: account_visible(p, {"id": row["account_id"]}, world)
    ),
    "family_proxies": TableRule(
        ("resident_village", "resident_id", "proxy_account"), family_proxy_visible
    ),
}
