"""Guards shared by the villagers-only affairs (finance, consultations, suggestions).

They only turn what RLS would silently hide or refuse into clear errors; the policies in
the affairs migration are the boundary.
"""

from __future__ import annotations

from villagegraph.errors import BadUserInput, Forbidden
from villagegraph.schema.context import Info, require_principal
from villagegraph.schema.hierarchy import require_unit
from villagegraph.tenants.hierarchy import Level, level_of
from villagegraph.tenants.principal import Principal


async def require_village_writer(
    info: Info, code: int, action: str, argument: str = "village"
) -> Principal:
    principal = await require_principal(info, action)
    await require_unit(info, code, argument)
    if level_of(code) is not Level.VILLAGE:
        raise BadUserInput(f"`{argument}` must be a village or community.", argument=argument)
    if not principal.can_write(code):
        raise Forbidden("Only the village's cadres and officials above it may do this.")
    return principal


def may_read_village(principal: Principal, code: int) -> bool:
    return code in principal.member_villages or principal.can_read_subtree(code)
