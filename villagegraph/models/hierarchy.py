"""The administrative hierarchy (市/县区/镇街/村社): vg.org_units.

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Column, Computed, Date, Text
from sqlmodel import Field, SQLModel


class OrgUnit(SQLModel, table=True):
    """vg.org_units."""

    __tablename__ = "org_units"
    __table_args__ = {"schema": "vg"}

    code: int = Field(sa_type=BigInteger, primary_key=True)
    name: str = Field(sa_type=Text)
    level: str = Field(sa_type=Text)
    parent_code: int | None = Field(default=None, sa_type=BigInteger)
    valid_from: date = Field(sa_type=Date)
    valid_to: date | None = Field(default=None, sa_type=Date)
    successor_code: int | None = Field(default=None, sa_type=BigInteger)
    subtree_end: int | None = Field(
        default=None, sa_column=Column(BigInteger, Computed("subtree_end(code)", persisted=True))
    )
