"""Accounts, grants and login: who the caller is."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from villagegraph.errors import Unauthenticated
from villagegraph.resolvers.accounts import change_password, check_password
from villagegraph.resolvers.residents import ResidentByIdLoader
from villagegraph.schema.context import Info
from villagegraph.schema.guards import caller, require_caller
from villagegraph.schema.hierarchy import OrgUnit, load_unit
from villagegraph.schema.inputs import text
from villagegraph.schema.residents import Resident
from villagegraph.tenants.auth import Credential
from villagegraph.tenants.login import SessionPair
from villagegraph.tenants.principal import Principal


@strawberry.enum
class Role(Enum):
    OFFICIAL = "OFFICIAL"
    CADRE = "CADRE"
    ANALYST = "ANALYST"


@strawberry.type(description="A role held over an org unit's subtree.")
class Grant:
    role: Role
    unit_code: strawberry.Private[int]

    @strawberry.field
    async def unit(self, info: Info) -> OrgUnit:
        unit = await load_unit(info, self.unit_code)
        assert unit is not None
        return unit


@strawberry.type
class Account:
    principal: strawberry.Private[Principal]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.principal.account_id))

    @strawberry.field
    def phone(self) -> str:
        return self.principal.phone

    @strawberry.field
    def display_name(self) -> str:
        return self.principal.display_name

    @strawberry.field(description="RESIDENT and/or the roles of the grants.")
    def roles(self) -> list[str]:
        return self.principal.roles()

    @strawberry.field
    def grants(self) -> list[Grant]:
        return [Grant(role=Role(g.role), unit_code=g.unit) for g in self.principal.grants]

    @strawberry.field(description="The caller's resident record, when it is a resident.")
    async def resident(self, info: Info) -> Resident | None:
        if self.principal.resident_id is None:
            return None
        row = await info.context.loader(ResidentByIdLoader).load(self.principal.resident_id)
        return None if row is None else Resident.from_row(row)


@strawberry.type(
    description="A session: a short-lived bearer token and the refresh token that renews it."
)
class LoginPayload:
    token: str
    account: Account
    refresh_token: str = strawberry.field(
        description="Exchange it once, with `refreshToken`, for a new pair before it expires."
    )
    expires_at: datetime = strawberry.field(description="When `token` stops working.")


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The caller; null when anonymous.")
    async def me(self, info: Info) -> Account | None:
        principal = await caller(info)
        return None if principal is None else Account(principal=principal)


async def start_session(info: Info, pair: SessionPair, action: str) -> LoginPayload:
    """Switch the request to a session the login path opened, audit it, and answer it."""
    db = info.context.db
    principal = await db.set_account(Credential(pair.account_id, pair.session))
    if principal is None:
        raise Unauthenticated("Wrong phone number or password.")
    await db.audit(
        action, None, "account", pair.account_id, {"address": info.context.client_address}
    )
    token, expires_at = info.context.tokens.issue_with_expiry(pair.account_id, pair.session)
    return LoginPayload(
        token=token,
        account=Account(principal=principal),
        refresh_token=pair.refresh,
        expires_at=expires_at,
    )


async def admit_login(info: Info) -> None:
    if info.context.admit_login is not None:
        await info.context.admit_login(info.context.client_address)


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Exchange phone and password for a session. Wrong passwords are counted "
        "per phone: growing waits, then a temporary lock (RATE_LIMITED, retryAfterSeconds)."
    )
    async def login(self, info: Info, phone: str, password: str) -> LoginPayload:
        await admit_login(info)
        phone = text(phone, "phone", max_length=32)
        login = info.context.db.login_path()
        account_id = await check_password(login, phone, password, info.context.client_address)
        pair = await login.open(account_id, info.context.settings.refresh_ttl_seconds)
        if pair is None:
            raise Unauthenticated("Wrong phone number or password.")
        return await start_session(info, pair, "login")

    @strawberry.mutation(
        description="A new session pair for a refresh token, which is then used up. A "
        "refresh token used twice ends every session it led to."
    )
    async def refresh_token(self, info: Info, refresh_token: str) -> LoginPayload:
        await admit_login(info)
        login = info.context.db.login_path()
        pair = await login.refresh(refresh_token[:200], info.context.settings.refresh_ttl_seconds)
        if pair is None:
            raise Unauthenticated("This refresh token is no longer valid; log in again.")
        return await start_session(info, pair, "session.refresh")

    @strawberry.mutation(description="End the caller's session (its refresh token too).")
    async def logout(self, info: Info) -> bool:
        principal = await require_caller(info, "log out")
        db = info.context.db
        ended = bool(await db.fetchval("select vg.end_session()"))
        await db.audit("logout", None, "account", principal.account_id)
        return ended

    @strawberry.mutation(
        description="Replace the caller's password (at least 10 characters, not the phone, "
        "not a common one); every other session of the account ends."
    )
    async def change_password(self, info: Info, old: str, new: str) -> bool:
        principal = await require_caller(info, "change your password")
        await admit_login(info)
        db = info.context.db
        ended = await change_password(db, principal.phone, old, new, info.context.client_address)
        await db.audit(
            "password.change", None, "account", principal.account_id, {"endedSessions": ended}
        )
        return True
