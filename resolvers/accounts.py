"""Logging in: phone + password → a signed token, with an audit row."""

from __future__ import annotations

from villagegraph.tenants.auth import verify_password
from villagegraph.tenants.session import ScopedSession


async def authenticate(db: ScopedSession, phone: str, password: str) -> int | None:
    """The account id when the password matches, else None (same cost either way)."""
    row = await db.login_lookup(phone)
    if not verify_password(row["password_hash"] if row else None, password):
        return None
    assert row is not None
    return int(row["account_id"])
