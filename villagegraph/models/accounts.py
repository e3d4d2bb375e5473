"""Log-in accounts, their role grants and their notification channel addresses.

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, Text
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ


class Account(SQLModel, table=True):
    """vg.accounts."""

    __tablename__ = "accounts"
    __table_args__ = {"schema": "vg"}

    id: int = Field(sa_type=BigInteger, primary_key=True)
    phone: str = Field(sa_type=Text)
    password_hash: str = Field(sa_type=Text)
    display_name: str = Field(sa_type=Text)
    resident_village: int | None = Field(default=None, sa_type=BigInteger)
    resident_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    disabled_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)


class Grant(SQLModel, table=True):
    """vg.grants."""

    __tablename__ = "grants"
    __table_args__ = {"schema": "vg"}

    id: int = Field(sa_type=BigInteger, primary_key=True)
    account_id: int = Field(sa_type=BigInteger)
    role: str = Field(sa_type=Text)
    unit_code: int = Field(sa_type=BigInteger)
    granted_at: datetime = Field(sa_type=TIMESTAMPTZ)
    revoked_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)


class ChannelAddress(SQLModel, table=True):
    """vg.channel_addresses."""

    __tablename__ = "channel_addresses"
    __table_args__ = {"schema": "vg"}

    account_id: int = Field(sa_type=BigInteger, primary_key=True)
    channel: str = Field(sa_type=Text, primary_key=True)
    address: str = Field(sa_type=Text)


class Session(SQLModel, table=True):
    """vg.sessions: a login's session, whose secret the database verifies per request."""

    __tablename__ = "sessions"
    __table_args__ = {"schema": "vg"}

    id: int = Field(sa_type=BigInteger, primary_key=True)
    account_id: int = Field(sa_type=BigInteger)
    secret_hash: bytes = Field(sa_type=LargeBinary)
    family_id: int | None = Field(default=None, sa_type=BigInteger)
    parent_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    expires_at: datetime = Field(sa_type=TIMESTAMPTZ)
    revoked_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    refresh_hash: bytes | None = Field(default=None, sa_type=LargeBinary)


class LoginFailure(SQLModel, table=True):
    """vg.login_failures: wrong passwords in a row per phone, and the wait they impose."""

    __tablename__ = "login_failures"
    __table_args__ = {"schema": "vg"}

    phone: str = Field(sa_type=Text, primary_key=True)
    failures: int = Field(sa_type=Integer)
    last_failed_at: datetime = Field(sa_type=TIMESTAMPTZ)
    locked_until: datetime = Field(sa_type=TIMESTAMPTZ)
