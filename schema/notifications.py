"""Reaching phones: each city's push rules (which notices go to phones) and each
resident's channels and quiet hours.

RLS decides who reads and sets a rule (staff inside the city read; its officials set) and
whose preferences these are (the caller's own); the worker decides delivery.
"""

from __future__ import annotations

from datetime import time
from enum import Enum

import strawberry

from villagegraph import resolvers
from villagegraph.errors import BadUserInput
from villagegraph.schema.context import Info
from villagegraph.schema.guards import authorize, require_caller
from villagegraph.schema.inputs import division_code
from villagegraph.schema.notices import Board
from villagegraph.tenants.principal import Principal

TIERS = ("CITY", "COUNTY", "TOWN", "VILLAGE")


@strawberry.enum(description="A channel that reaches a phone.")
class DeliveryChannel(Enum):
    WECHAT = "wechat"  # 公众号模板消息 / 订阅通知
    SMS = "sms"


@strawberry.enum(description="The tier of the publishing unit.")
class Tier(Enum):
    CITY = "CITY"
    COUNTY = "COUNTY"
    TOWN = "TOWN"
    VILLAGE = "VILLAGE"


@strawberry.type(description="Whether a board's notices from a tier go to phones.")
class PushRule:
    board: Board
    tier: Tier
    push: bool


@strawberry.type(description="How the caller is reached: channels in order, quiet hours.")
class NotificationPreferences:
    channels: list[DeliveryChannel]
    quiet_start: str | None = strawberry.field(description="China Standard Time, HH:MM.")
    quiet_end: str | None


def clock(value: str | None, argument: str) -> time | None:
    """'22:00' → time(22, 0); BAD_USER_INPUT for anything else."""
    if value is None:
        return None
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise BadUserInput(f"{argument} must be a time like 22:00.", argument=argument) from None
    return parsed.replace(second=0, microsecond=0)


def hhmm(value: time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


@strawberry.type
class NotificationQuery:
    @strawberry.field(
        description="A city's push rules (staff inside the city); boards and tiers without "
        "a rule follow the defaults: urgent and targeted notices always, village and town "
        "notices pushed, county and city notices in the app only."
    )
    async def push_rules(self, info: Info, city: strawberry.ID) -> list[PushRule]:
        rows = await resolvers.notifications.push_rules(
            info.context.db, division_code(city, "city")
        )
        return [PushRule(board=Board(r.board), tier=Tier(r.tier), push=r.push) for r in rows]

    @strawberry.field(description="The caller's channels and quiet hours.")
    async def notification_preferences(self, info: Info) -> NotificationPreferences:
        await require_caller(info, "read your notification preferences")
        row = await resolvers.notifications.preferences(info.context.db)
        if row is None:
            return NotificationPreferences(
                channels=[DeliveryChannel.WECHAT, DeliveryChannel.SMS],
                quiet_start=None,
                quiet_end=None,
            )
        return NotificationPreferences(
            channels=[DeliveryChannel(c) for c in row.channels],
            quiet_start=hhmm(row.quiet_start),
            quiet_end=hhmm(row.quiet_end),
        )


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(
        description="Set whether a board's notices from a tier are pushed to phones in a "
        "city (officials of the city). Urgent and targeted notices are pushed regardless."
    )
    async def set_push_rule(
        self, info: Info, city: strawberry.ID, board: Board, tier: Tier, push: bool
    ) -> PushRule:
        await require_caller(info, "set push rules")
        code = division_code(city, "city")
        if code % 100_000_000:
            raise BadUserInput("Push rules are set per city.", argument="city")
        principal = await authorize(
            info,
            Principal.can_write,
            code,
            refusal="Only officials of the city may set its push rules.",
        )
        await resolvers.notifications.set_push_rule(
            info.context.db, code, board.value, tier.value, push, principal.account_id
        )
        return PushRule(board=board, tier=tier, push=push)

    @strawberry.mutation(
        description="Choose the caller's channels, in order, and quiet hours (China Standard "
        "Time; urgent notices ignore them). Both quiet bounds, or neither."
    )
    async def set_notification_preferences(
        self,
        info: Info,
        channels: list[DeliveryChannel],
        quiet_start: str | None = None,
        quiet_end: str | None = None,
    ) -> NotificationPreferences:
        principal = await require_caller(info, "set your notification preferences")
        if len(set(channels)) != len(channels):
            raise BadUserInput("Name each channel once.", argument="channels")
        start, end = clock(quiet_start, "quietStart"), clock(quiet_end, "quietEnd")
        if (start is None) != (end is None) or (start is not None and start == end):
            raise BadUserInput("Give both quiet hours, and different ones.", argument="quietEnd")
        quiet = (start, end) if start is not None and end is not None else None
        await resolvers.notifications.set_preferences(
            info.context.db, principal.account_id, [c.value for c in channels], quiet
        )
        return NotificationPreferences(
            channels=channels, quiet_start=hhmm(start), quiet_end=hhmm(end)
        )
