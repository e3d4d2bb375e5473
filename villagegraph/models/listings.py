"""Listings (民宿/农家乐/特产) residents apply to publish.

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ARRAY, BigInteger, Integer, Numeric, Text
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ


class Listing(SQLModel, table=True):
    """vg.listings."""

    __tablename__ = "listings"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    kind: str = Field(sa_type=Text)
    name: str = Field(sa_type=Text)
    description: str = Field(sa_type=Text)
    price: Decimal | None = Field(default=None, sa_type=Numeric(12, 2))
    contact: str = Field(sa_type=Text)
    photos: list[str] = Field(sa_type=ARRAY(Text))
    rooms: int | None = Field(default=None, sa_type=Integer)
    capacity: int | None = Field(default=None, sa_type=Integer)
    status: str = Field(sa_type=Text)
    review_reason: str | None = Field(default=None, sa_type=Text)
    applicant_id: int = Field(sa_type=BigInteger)
    applied_by: int | None = Field(default=None, sa_type=BigInteger)
    applied_at: datetime = Field(sa_type=TIMESTAMPTZ)
    reviewed_by: int | None = Field(default=None, sa_type=BigInteger)
    reviewed_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
