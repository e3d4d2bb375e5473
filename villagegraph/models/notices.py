"""Notices (公开) and residents' read receipts.

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Boolean, Column, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ


class Notice(SQLModel, table=True):
    """vg.notices."""

    __tablename__ = "notices"
    __table_args__ = {"schema": "vg"}

    publisher_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    board: str = Field(sa_type=Text)
    title: str = Field(sa_type=Text)
    body: str = Field(sa_type=Text)
    audience: str = Field(sa_type=Text)
    target_tags: list[str] = Field(sa_type=ARRAY(Text))
    published_at: datetime = Field(sa_type=TIMESTAMPTZ)
    published_by: int | None = Field(default=None, sa_type=BigInteger)
    # A disclosure: the period it discloses, attachments, withdrawal and correction.
    period: str | None = Field(default=None, sa_type=Text)
    attachments: Any = Field(  # [{url, name, sha256}]; asyncpg returns the JSON text
        default=None, sa_column=Column(JSONB, nullable=False)
    )
    withdrawn_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    withdrawn_by: int | None = Field(default=None, sa_type=BigInteger)
    withdrawal_reason: str | None = Field(default=None, sa_type=Text)
    corrects_id: int | None = Field(default=None, sa_type=BigInteger)
    correction_reason: str | None = Field(default=None, sa_type=Text)
    urgent: bool = Field(default=False, sa_type=Boolean)


class NoticeRead(SQLModel, table=True):
    """vg.notice_reads."""

    __tablename__ = "notice_reads"
    __table_args__ = {"schema": "vg"}

    resident_village: int = Field(sa_type=BigInteger, primary_key=True)
    resident_id: int = Field(sa_type=BigInteger, primary_key=True)
    notice_publisher: int = Field(sa_type=BigInteger)
    notice_id: int = Field(sa_type=BigInteger, primary_key=True)
    read_at: datetime = Field(sa_type=TIMESTAMPTZ)
