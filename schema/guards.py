"""The guard layer: who the caller is, and whether it may use a field. The one place the API
turns the caller's scopes into errors.

The caller is `tenants.principal.Principal`, built from the facts `vg.begin_request`
returned with the request's RLS context; its rules (`can_write`, `may_read_village`,
`acts_for_assignee`, ...) read those facts and nothing else. A guard asks a rule and raises
the error of villagegraph/errors.py when it says no. Two ways to ask, one vocabulary:

- declared on the field, when the check is the first thing the field does and reads only
  its arguments: `@strawberry.mutation(extensions=guarded(LoggedIn("vote")))`,
  `guarded(WritesUnit("input.unit", action=..., refusal=...))`. These are strawberry
  permissions that raise our errors themselves (codes and messages unchanged; no
  directive, so the SDL does not change);
- called in the resolver, when the check needs a loaded row, or comes after the field's
  own input checks (a malformed argument is reported before a missing login there, and
  that order is part of the API): `await authorize(info, Principal.can_write,
  row.village_code, refusal=...)`, `village_writer`, `villager`, `permits`.

Guards only turn what RLS would silently hide or refuse into clear errors; the policies in
the migrations are the boundary. Domain state rules ("voting is not open") are not guards.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from villagegraph.errors import BadUserInput, Forbidden, Unauthenticated
from villagegraph.schema.context import Info
from villagegraph.schema.hierarchy import require_unit
from villagegraph.schema.inputs import division_code
from villagegraph.tenants.hierarchy import Level, level_of
from villagegraph.tenants.principal import Principal, Registration

VILLAGE_WRITERS = "Only the village's cadres and officials above it may do this."


async def caller(info: Info) -> Principal | None:
    """The caller, or None when anonymous (the one way to ask who is calling)."""
    return await info.context.db.principal()


async def require_caller(info: Info, action: str = "do this") -> Principal:
    principal = await caller(info)
    if principal is None:
        raise Unauthenticated(f"Log in to {action}.")
    return principal


async def authorize(
    info: Info,
    rule: Callable[..., bool],
    *subject: Any,
    refusal: str,
    action: str = "do this",
    argument: str | None = None,
) -> Principal:
    """The caller, when `rule(caller, *subject)` holds; FORBIDDEN with `refusal` otherwise
    (naming `argument` when given). UNAUTHENTICATED ("Log in to `action`.") when anonymous."""
    principal = await require_caller(info, action)
    if not rule(principal, *subject):
        raise Forbidden(refusal) if argument is None else Forbidden(refusal, argument=argument)
    return principal


async def permits(info: Info, rule: Callable[..., bool], *subject: Any) -> bool:
    """Whether a caller is signed in and `rule` holds: for fields that answer null outside
    the caller's scope instead of refusing."""
    principal = await caller(info)
    return principal is not None and rule(principal, *subject)


async def village_writer(
    info: Info, code: int, action: str, argument: str = "village"
) -> Principal:
    """A caller that may write village `code`'s villagers-only affairs (finance,
    consultations, suggestions): the unit exists, is a village, and is the caller's."""
    await require_caller(info, action)
    await require_unit(info, code, argument)
    if level_of(code) is not Level.VILLAGE:
        raise BadUserInput(f"`{argument}` must be a village or community.", argument=argument)
    return await authorize(info, Principal.can_write, code, refusal=VILLAGE_WRITERS)


async def villager(
    info: Info, refusal: str, action: str = "do this"
) -> tuple[Principal, Registration]:
    """A caller on a village's household register (户籍), and that registration."""
    principal = await require_caller(info, action)
    if principal.registration is None:
        raise Forbidden(refusal)
    return principal, principal.registration


class Guard(BasePermission):
    """A permission that raises its own VillageGraphError, so the error's code, message and
    extensions are exactly those the resolver used to raise."""

    async def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        await self.check(info, kwargs)
        return True

    @abc.abstractmethod
    async def check(self, info: Info, arguments: dict[str, Any]) -> None: ...


def guarded(*guards: Guard) -> list[FieldExtension]:
    """The field extensions that run `guards` in order before the resolver."""
    return [PermissionExtension(list(guards), use_directives=False)]


class LoggedIn(Guard):
    def __init__(self, action: str) -> None:
        self.action = action

    async def check(self, info: Info, arguments: dict[str, Any]) -> None:
        await require_caller(info, self.action)


class WritesUnit(Guard):
    """The caller is staff over the unit named by the argument at `path` (`"unit"`,
    `"input.village"`): logged in, the code well formed (a village's, with `village`),
    the unit exists, and `Principal.can_write` holds."""

    def __init__(
        self,
        path: str,
        *,
        action: str,
        refusal: str,
        argument: str = "unit",
        village: bool = False,
    ) -> None:
        self.path, self.action, self.refusal = path, action, refusal
        self.argument, self.village = argument, village

    async def check(self, info: Info, arguments: dict[str, Any]) -> None:
        await require_caller(info, self.action)
        name, *attributes = self.path.split(".")
        value = arguments[name]
        for attribute in attributes:
            value = getattr(value, attribute)
        code = division_code(value, self.argument)
        if self.village and level_of(code) is not Level.VILLAGE:
            message = f"`{self.argument}` must be a village or community."
            raise BadUserInput(message, argument=self.argument)
        await require_unit(info, code, self.argument)
        await authorize(info, Principal.can_write, code, refusal=self.refusal)
