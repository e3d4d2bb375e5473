"""The notification outbox the worker drains (vg.outbox).

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, SmallInteger, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ


class OutboxMessage(SQLModel, table=True):
    """vg.outbox."""

    __tablename__ = "outbox"
    __table_args__ = {"schema": "vg"}

    id: int = Field(sa_type=BigInteger, primary_key=True)
    tenant_code: int = Field(sa_type=BigInteger)
    kind: str = Field(sa_type=Text)
    recipient_account: int | None = Field(default=None, sa_type=BigInteger)
    payload: dict[str, Any] = Field(sa_type=JSONB)
    idempotency_key: str = Field(sa_type=Text)
    status: str = Field(sa_type=Text)
    attempts: int = Field(sa_type=Integer)
    next_attempt_at: datetime = Field(sa_type=TIMESTAMPTZ)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    sent_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    channel: str | None = Field(default=None, sa_type=Text)
    locked_until: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    delivered_by: str | None = Field(default=None, sa_type=Text)
    broadcast_id: int | None = Field(default=None, sa_type=BigInteger)
    address: str | None = Field(default=None, sa_type=Text)
    channel_step: int = Field(default=0, sa_type=SmallInteger)
    provider_msgid: str | None = Field(default=None, sa_type=Text)
    receipt: str | None = Field(default=None, sa_type=Text)
    receipt_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
