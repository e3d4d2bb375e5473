"""Logging in and a session's lifecycle: phone + password → a session pair (short-lived
bearer token, rotating refresh token); refresh, logout and password change.

Every login attempt takes from its address's bucket (server/admission.py); wrong passwords
are counted per phone in the database (tenants/login.py), which imposes growing waits and
then a temporary lock (RATE_LIMITED with retryAfterSeconds), and audits each failure;
a success is audited in the request's own transaction. Password hashing runs off the event
loop. The SQL is the login role's guarded functions; this module decides no visibility.

Residents also sign in with a one-time SMS code (the account opens on first use, bound to
nobody); binding to the register needs name + ID number (vg.bind_by_identity) or the
village cadre (vg.bind_by_cadre), never the phone alone; family proxies (亲情账号) are
recorded through vg.set_family_proxy. Codes are stored as keyed hashes only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets

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
    known = row.password_hash if row else None
    if len(password) <= MAX_PASSWORD_LENGTH and await asyncio.to_thread(
        verify_password, known, password
    ):
        assert row is not None
        await login.succeeded(phone)
        return row.account_id
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


# --- accounts residents open themselves (issue 14) ------------------------------------


def login_code_hash(secret: str, phone: str, code: str) -> bytes:
    """The stored form of a code: HMAC-SHA256 keyed by the server's secret."""
    return hmac.new(secret.encode(), f"{phone}:{code}".encode(), hashlib.sha256).digest()


def new_login_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


async def request_login_code(login: LoginPath, secret: str, phone: str, ttl: int) -> bool:
    """Queue a code to the phone by SMS; False when the phone asked too often."""
    code = new_login_code()
    return await login.issue_code(phone, login_code_hash(secret, phone, code), code, ttl)


async def redeem_login_code(
    login: LoginPath, secret: str, phone: str, code: str
) -> tuple[int, bool] | None:
    """(account, created) when the code is the phone's latest, unused and unexpired."""
    return await login.redeem_code(phone, login_code_hash(secret, phone, code), f"村民{phone[-4:]}")


async def bind_by_identity(db: ScopedSession, name: str, id_number: str) -> int | None:
    """The resident the caller's account is now bound to, or None (no single match)."""
    row = await db.fetchrow(
        "select village, resident from vg.bind_by_identity($1, $2)", name, id_number
    )
    resident = None if row is None else row["resident"]
    if resident is not None:
        await db.refresh()  # the caller is a resident now: its context says so
    await db.audit(
        "account.verify_identity",
        None if row is None else row["village"],
        "account",
        db.account_id,
        {"matched": resident is not None},
    )
    return resident


async def identity_attempts_left(db: ScopedSession) -> int:
    used = await db.fetchval(
        """select count(*) from vg.identity_checks
            where account_id = vg.account_id() and checked_at > now() - interval '1 day'"""
    )
    return max(0, IDENTITY_CHECKS_PER_DAY - int(used))


IDENTITY_CHECKS_PER_DAY = 5


async def bind_by_cadre(db: ScopedSession, phone: str, resident: int, village: int) -> int | None:
    account = await db.fetchval("select vg.bind_by_cadre($1, $2)", phone, resident)
    if account is not None:
        await db.audit("account.bind", village, "resident", resident, {"account": account})
    return None if account is None else int(account)


async def set_family_proxy(
    db: ScopedSession, resident: int, village: int, phone: str, consent: str, revoke: bool
) -> int | None:
    proxy = await db.fetchval(
        "select vg.set_family_proxy($1, $2, $3, $4)", resident, phone, consent, revoke
    )
    if proxy is not None:
        await db.audit(
            "family_proxy.revoke" if revoke else "family_proxy.record",
            village,
            "resident",
            resident,
            {"proxy_account": proxy, "consent": consent},
        )
    return None if proxy is None else int(proxy)
