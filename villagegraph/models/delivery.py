"""Reaching residents (issue 14): push rules, broadcasts and their fan-out progress,
notification preferences, channel quotas, login codes, identity checks, family proxies.

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Boolean, Date, Integer, LargeBinary, Text, Time
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ


class PushRule(SQLModel, table=True):
    """vg.push_rules: per city, board and publisher tier, whether notices go to phones."""

    __tablename__ = "push_rules"
    __table_args__ = {"schema": "vg"}

    city_code: int = Field(sa_type=BigInteger, primary_key=True)
    board: str = Field(sa_type=Text, primary_key=True)
    tier: str = Field(sa_type=Text, primary_key=True)
    push: bool = Field(sa_type=Boolean)
    updated_by: int | None = Field(default=None, sa_type=BigInteger)
    updated_at: datetime = Field(sa_type=TIMESTAMPTZ)


class Broadcast(SQLModel, table=True):
    """vg.broadcasts: one message for everyone in a subtree who can see it."""

    __tablename__ = "broadcasts"
    __table_args__ = {"schema": "vg"}

    id: int = Field(sa_type=BigInteger, primary_key=True)
    tenant_code: int = Field(sa_type=BigInteger)
    kind: str = Field(sa_type=Text)
    notice_publisher: int | None = Field(default=None, sa_type=BigInteger)
    notice_id: int | None = Field(default=None, sa_type=BigInteger)
    audience: str = Field(sa_type=Text)
    target_tags: list[str] = Field(sa_type=ARRAY(Text))
    urgent: bool = Field(sa_type=Boolean)
    payload: dict[str, Any] = Field(sa_type=JSONB)
    created_by: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    prepared_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    finished_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    recipients: int = Field(sa_type=BigInteger)


class BroadcastPart(SQLModel, table=True):
    """vg.broadcast_parts: a town's range of household villages and its cursor."""

    __tablename__ = "broadcast_parts"
    __table_args__ = {"schema": "vg"}

    broadcast_id: int = Field(sa_type=BigInteger, primary_key=True)
    lo: int = Field(sa_type=BigInteger, primary_key=True)
    hi: int = Field(sa_type=BigInteger)
    cursor_village: int | None = Field(default=None, sa_type=BigInteger)
    cursor_resident: int | None = Field(default=None, sa_type=BigInteger)
    households_done: bool = Field(sa_type=Boolean)
    done_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    recipients: int = Field(sa_type=BigInteger)


class NotificationPreferences(SQLModel, table=True):
    """vg.notification_preferences: channels in order and quiet hours (CST)."""

    __tablename__ = "notification_preferences"
    __table_args__ = {"schema": "vg"}

    account_id: int = Field(sa_type=BigInteger, primary_key=True)
    channels: list[str] = Field(sa_type=ARRAY(Text))
    quiet_start: time | None = Field(default=None, sa_type=Time)
    quiet_end: time | None = Field(default=None, sa_type=Time)
    updated_at: datetime = Field(sa_type=TIMESTAMPTZ)


class ChannelUsage(SQLModel, table=True):
    """vg.channel_usage: sends per channel and day, against the daily quota."""

    __tablename__ = "channel_usage"
    __table_args__ = {"schema": "vg"}

    channel: str = Field(sa_type=Text, primary_key=True)
    day: Any = Field(sa_type=Date, primary_key=True)
    sent: int = Field(sa_type=Integer)


class LoginCode(SQLModel, table=True):
    """vg.login_codes: one-time sign-in codes, keyed hashes only."""

    __tablename__ = "login_codes"
    __table_args__ = {"schema": "vg"}

    id: int = Field(sa_type=BigInteger, primary_key=True)
    phone: str = Field(sa_type=Text)
    code_hash: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    expires_at: datetime = Field(sa_type=TIMESTAMPTZ)
    used_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    wrong_guesses: int = Field(sa_type=Integer)


class IdentityCheck(SQLModel, table=True):
    """vg.identity_checks: attempts to bind an account by name and ID number."""

    __tablename__ = "identity_checks"
    __table_args__ = {"schema": "vg"}

    id: int = Field(sa_type=BigInteger, primary_key=True)
    account_id: int = Field(sa_type=BigInteger)
    checked_at: datetime = Field(sa_type=TIMESTAMPTZ)
    matched: bool = Field(sa_type=Boolean)


class FamilyProxy(SQLModel, table=True):
    """vg.family_proxies: 亲情账号, with the consent recorded."""

    __tablename__ = "family_proxies"
    __table_args__ = {"schema": "vg"}

    resident_village: int = Field(sa_type=BigInteger, primary_key=True)
    resident_id: int = Field(sa_type=BigInteger, primary_key=True)
    proxy_account: int = Field(sa_type=BigInteger, primary_key=True)
    consent: str = Field(sa_type=Text)
    recorded_by: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    revoked_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
