"""Logging in and a session's lifecycle: phone + password → a session pair (short-lived
bearer token, rotating refresh token); refresh, logout and password change.

Every login attempt takes from its address's bucket (server/admission.py); wrong passwords
are counted per phone in the database (tenants/login.py), which imposes growing waits and
then a temporary lock (RATE_LIMITED with retryAfterSeconds), and audits each failure;
a success is audited in the request's own transaction. Password hashing runs off the event
loop. The SQL is the login role's guarded functions; this module decides no visibility.
"""

from __future__ import annotations

import asyncio

from villagegraph.errors import BadUserInput, Forbidden, RateLimited, Unauthenticated
from villagegraph.tenants.auth import hash_password, verify_password
from villagegraph.tenants.login import LoginPath
from villagegraph.tenants.session import ScopedSession

WRONG = "Wrong phone number or password."
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
# A few of the most guessed passwords; the length rule already excludes most others.
COMMON_PASSWORDS = frozenset(
    {"1234567890", "0123456789", "qwertyuiop", "1q2w3e4r5t", "password123", "a123456789"}
)


def locked(wait: int) -> RateLimited:
    return RateLimited(
        f"Too many wrong passwords for this phone; try again in {wait} s.",
        retryAfterSeconds=wait,
    )


async def check_password(login: LoginPath, phone: str, password: str, address: str) -> int:
    """The account id when the password matches; otherwise the failure is counted and
    audited and UNAUTHENTICATED (or, when the phone must wait, RATE_LIMITED) raised.
    An unknown phone costs as much and is counted alike."""
    wait = await login.wait(phone)
    if wait > 0:
        raise locked(wait)
    row = await login.lookup(phone)
    known = row["password_hash"] if row else None
    if len(password) <= MAX_PASSWORD_LENGTH and await asyncio.to_thread(
        verify_password, known, password
    ):
        assert row is not None
        await login.succeeded(phone)
        return int(row["account_id"])
    wait = await login.failed(phone, address)
    if wait > 0:
        raise Unauthenticated(WRONG, retryAfterSeconds=wait)
    raise Unauthenticated(WRONG)


def check_new_password(password: str, phone: str) -> None:
    """The minimum policy for a new password (docs/API.md, "Sessions")."""
    problem = None
    if len(password) < MIN_PASSWORD_LENGTH:
        problem = f"A password needs at least {MIN_PASSWORD_LENGTH} characters."
    elif len(password) > MAX_PASSWORD_LENGTH:
        problem = f"A password has at most {MAX_PASSWORD_LENGTH} characters."
    elif len(set(password)) < 4:
        problem = "A password needs at least 4 different characters."
    elif phone and phone in password:
        problem = "A password must not contain the phone number."
    elif password.lower() in COMMON_PASSWORDS:
        problem = "This password is among the most guessed ones; choose another."
    elif any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in password):
        problem = "A password must not contain control characters."
    if problem:
        raise BadUserInput(problem, argument="new")


async def change_password(db: ScopedSession, phone: str, old: str, new: str, address: str) -> int:
    """Verify the old password (counted like a login), store the new one's hash and end
    every other session of the account. Returns how many sessions ended."""
    try:
        await check_password(db.login_path(), phone, old, address)
    except Unauthenticated as wrong:
        extra = {k: v for k, v in wrong.extensions.items() if k != "code"}
        raise Forbidden("The old password is wrong.", **extra) from wrong
    if new == old:
        raise BadUserInput("The new password must differ from the old one.", argument="new")
    check_new_password(new, phone)
    hashed = await asyncio.to_thread(hash_password, new)
    return int(await db.fetchval("select vg.change_password($1)", hashed))
