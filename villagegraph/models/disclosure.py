"""Statistical disclosure control (统计披露控制): the minimum group size and the tags a city
marks sensitive.

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules;
protected statistics are computed in the database (vg.resident_counts, vg.protected_count).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Integer, Text
from sqlmodel import Field, SQLModel


class DisclosureSettings(SQLModel, table=True):
    """vg.disclosure_settings: one row; the salt never leaves the owner role."""

    __tablename__ = "disclosure_settings"
    __table_args__ = {"schema": "vg"}

    singleton: bool = Field(sa_type=Boolean, primary_key=True)
    min_group_size: int = Field(sa_type=Integer)
    salt: int = Field(sa_type=BigInteger)


class SensitiveTag(SQLModel, table=True):
    """vg.sensitive_tags: a tag released only inside protected aggregates in a city."""

    __tablename__ = "sensitive_tags"
    __table_args__ = {"schema": "vg"}

    city_code: int = Field(sa_type=BigInteger, primary_key=True)
    tag: str = Field(sa_type=Text, primary_key=True)
    marked_by: int | None = Field(default=None, sa_type=BigInteger)
