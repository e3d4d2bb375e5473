"""Accounts, grants and login: who the caller is."""

from __future__ import annotations

from enum import Enum

import strawberry

from villagegraph.errors import Unauthenticated
from villagegraph.resolvers.accounts import authenticate
from villagegraph.resolvers.residents import ResidentByIdLoader
from villagegraph.schema.context import Info
from villagegraph.schema.guards import caller
from villagegraph.schema.hierarchy import OrgUnit, load_unit
from villagegraph.schema.inputs import text
from villagegraph.schema.residents import Resident
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


@strawberry.type
class LoginPayload:
    token: str
    account: Account


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The caller; null when anonymous.")
    async def me(self, info: Info) -> Account | None:
        principal = await caller(info)
        return None if principal is None else Account(principal=principal)


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Exchange phone and password for a bearer token.")
    async def login(self, info: Info, phone: str, password: str) -> LoginPayload:
        phone = text(phone, "phone", max_length=32)
        if len(password) > 256:
            raise Unauthenticated("Wrong phone number or password.")
        db = info.context.db
        account_id = await authenticate(db, phone, password)
        if account_id is None:
            raise Unauthenticated("Wrong phone number or password.")
        principal = await db.set_account(account_id)
        if principal is None:
            raise Unauthenticated("Wrong phone number or password.")
        await db.audit("login", None, "account", account_id)
        assert db.credential is not None
        return LoginPayload(
            token=info.context.tokens.issue(account_id, db.credential.token),
            account=Account(principal=principal),
        )
