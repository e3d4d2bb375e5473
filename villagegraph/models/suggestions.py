"""Residents' suggestions (码上建议) and the replies to them.

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Text
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ


class Suggestion(SQLModel, table=True):
    """vg.suggestions."""

    __tablename__ = "suggestions"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    resident_id: int = Field(sa_type=BigInteger)
    submitted_by: int | None = Field(default=None, sa_type=BigInteger)
    title: str = Field(sa_type=Text)
    body: str = Field(sa_type=Text)
    status: str = Field(sa_type=Text)
    reason: str | None = Field(default=None, sa_type=Text)
    submitted_at: datetime = Field(sa_type=TIMESTAMPTZ)
    first_answered_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    updated_at: datetime = Field(sa_type=TIMESTAMPTZ)


class SuggestionReply(SQLModel, table=True):
    """vg.suggestion_replies."""

    __tablename__ = "suggestion_replies"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    suggestion_id: int = Field(sa_type=BigInteger)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    body: str = Field(sa_type=Text)
    replied_by: int = Field(sa_type=BigInteger)
    replied_at: datetime = Field(sa_type=TIMESTAMPTZ)
