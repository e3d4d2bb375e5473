"""Accounts, grants and login: who the caller is."""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum

import asyncpg
import httpx
import strawberry

from villagegraph import resolvers
from villagegraph.errors import (
    BadUserInput,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthenticated,
    database_refusals,
)
from villagegraph.resolvers.accounts import change_password, check_password
from villagegraph.resolvers.residents import ResidentByIdLoader
from villagegraph.schema.context import Info
from villagegraph.schema.guards import authorize, caller, require_caller
from villagegraph.schema.hierarchy import OrgUnit, load_unit
from villagegraph.schema.inputs import record_id, text
from villagegraph.schema.residents import Resident
from villagegraph.tenants.auth import Credential
from villagegraph.tenants.login import SessionPair
from villagegraph.tenants.principal import Principal
from villagegraph.worker.channels import HTTP_TIMEOUT_SECONDS, exchange_oauth_code


@strawberry.enum
class Role(Enum):
    OFFICIAL = "OFFICIAL"
    CADRE = "CADRE"
    ANALYST = "ANALYST"
    # 村务监督委员会 member in office: reads what the village committee reads, never writes.
    SUPERVISOR = "SUPERVISOR"


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


# --- accounts residents open themselves (issue 14) ------------------------------------

PHONE = re.compile(r"^1[3-9][0-9]{9}$")  # a mainland mobile number


def mobile(value: str) -> str:
    phone = text(value, "phone", max_length=32).replace(" ", "")
    if not PHONE.match(phone):
        raise BadUserInput("Give a mobile number like 13800000000.", argument="phone")
    return phone


@strawberry.type(description="The outcome of proving who the caller is in the register.")
class IdentityVerification:
    bound: bool
    attempts_left: int = strawberry.field(description="Checks left today (5 a day).")
    account: Account


@strawberry.type
class SelfServiceMutation:
    @strawberry.mutation(
        description="Send a one-time sign-in code to a mobile number by SMS (valid 10 "
        "minutes, single use; at most one a minute and five an hour per number)."
    )
    async def request_login_code(self, info: Info, phone: str) -> bool:
        await admit_login(info)
        number = mobile(phone)
        settings = info.context.settings
        issued = await resolvers.accounts.request_login_code(
            info.context.db.login_path(),
            settings.signing_secret(),
            number,
            settings.login_code_ttl_seconds,
        )
        if not issued:
            raise RateLimited("A code was sent to this number moments ago; wait a minute.")
        return True

    @strawberry.mutation(
        description="Sign in with the code sent by requestLoginCode; a number new to the "
        "service gets an account (bound to no resident until verifyResidentIdentity or a "
        "cadre's confirmation)."
    )
    async def login_with_code(self, info: Info, phone: str, code: str) -> LoginPayload:
        await admit_login(info)
        number = mobile(phone)
        login = info.context.db.login_path()
        redeemed = None
        if code.isdigit() and len(code) == 6:
            redeemed = await resolvers.accounts.redeem_login_code(
                login, info.context.settings.signing_secret(), number, code
            )
        if redeemed is None:
            raise Unauthenticated("Wrong or expired code; ask for a new one.")
        account_id, created = redeemed
        pair = await login.open(account_id, info.context.settings.refresh_ttl_seconds)
        if pair is None:
            raise Unauthenticated("Wrong or expired code; ask for a new one.")
        return await start_session(info, pair, "login.code.new" if created else "login.code")

    @strawberry.mutation(
        description="Bind the caller's account to its record in the register: the name and "
        "ID number must both match one resident not bound to another account."
    )
    async def verify_resident_identity(
        self, info: Info, name: str, id_number: str
    ) -> IdentityVerification:
        principal = await require_caller(info, "verify who you are")
        if principal.is_resident:
            raise Conflict("This account is already bound to a resident.")
        db = info.context.db
        with database_refusals(unique=Conflict("This account is already bound to a resident.")):
            try:
                resident = await resolvers.accounts.bind_by_identity(
                    db,
                    text(name, "name", max_length=50),
                    text(id_number, "idNumber", max_length=18),
                )
            except asyncpg.ProgramLimitExceededError:
                raise RateLimited("Too many identity checks today; try tomorrow.") from None
        now = await db.principal()
        assert now is not None
        return IdentityVerification(
            bound=resident is not None,
            attempts_left=await resolvers.accounts.identity_attempts_left(db),
            account=Account(principal=now),
        )

    @strawberry.mutation(
        description="A village cadre confirms in person that the account with this phone is "
        "this resident (both unbound)."
    )
    async def confirm_resident_account(
        self, info: Info, phone: str, resident: strawberry.ID
    ) -> Resident:
        await require_caller(info, "confirm residents' accounts")
        row = await info.context.loader(ResidentByIdLoader).load(record_id(resident, "resident"))
        if row is None:
            raise NotFound("No such resident in your registry.", argument="resident")
        await authorize(
            info,
            Principal.can_write,
            row.village_code,
            refusal="Only the village's cadres may confirm its residents' accounts.",
        )
        bound = await resolvers.accounts.bind_by_cadre(
            info.context.db, mobile(phone), row.id, row.village_code
        )
        if bound is None:
            raise Conflict("The account or the resident is already bound, or no such account.")
        return Resident.from_row(row)

    @strawberry.mutation(
        description="Record (or revoke) a family proxy (亲情账号) for a resident: the "
        "resident itself, or its village's cadre noting how consent was given. The proxy "
        "reads what the resident reads and receives its messages."
    )
    async def set_family_proxy(
        self,
        info: Info,
        resident: strawberry.ID,
        phone: str,
        consent: str,
        revoke: bool = False,
    ) -> bool:
        await require_caller(info, "record family proxies")
        row = await info.context.loader(ResidentByIdLoader).load(record_id(resident, "resident"))
        if row is None:
            raise NotFound("No such resident.", argument="resident")
        proxy = await resolvers.accounts.set_family_proxy(
            info.context.db,
            row.id,
            row.village_code,
            mobile(phone),
            text(consent, "consent", max_length=500),
            revoke,
        )
        if proxy is None:
            raise Forbidden(
                "Only the resident or its village's cadres may, for an existing account."
            )
        return True

    @strawberry.mutation(
        description="Bind the caller's WeChat: exchange a WeChat OAuth code (网页授权) for the "
        "openid that template and subscribe messages go to."
    )
    async def bind_wechat(self, info: Info, code: str) -> Account:
        principal = await require_caller(info, "bind WeChat")
        settings = info.context.settings
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as http:
            try:
                answer = await exchange_oauth_code(
                    http, settings, text(code, "code", max_length=128)
                )
            except (ValueError, httpx.HTTPError):
                raise BadUserInput("WeChat did not accept this code.", argument="code") from None
        await resolvers.notifications.bind_channel_address(
            info.context.db, principal.account_id, "wechat", str(answer["openid"])
        )
        return Account(principal=principal)
