"""Emergency shelters (避灾安置点).

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, BigInteger, Column, Computed, Double, Integer, Text
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ, Cube


class ShelterBase(SQLModel):
    """The columns of vg.shelters Python reads, for the table model and for rows that add
    computed columns (resolvers.shelters.ShelterWithDistance)."""

    unit_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    name: str = Field(sa_type=Text)
    address: str = Field(sa_type=Text)
    lat: float = Field(sa_type=Double)
    lng: float = Field(sa_type=Double)
    capacity: int = Field(sa_type=Integer)
    facilities: list[str] = Field(sa_type=ARRAY(Text))
    contact: str | None = Field(default=None, sa_type=Text)
    status: str = Field(sa_type=Text)
    updated_at: datetime = Field(sa_type=TIMESTAMPTZ)
    updated_by: int | None = Field(default=None, sa_type=BigInteger)


class Shelter(ShelterBase, table=True):
    """vg.shelters."""

    __tablename__ = "shelters"
    __table_args__ = {"schema": "vg"}

    position: str | None = Field(
        default=None, sa_column=Column(Cube(), Computed("earth_point(lat, lng)", persisted=True))
    )
