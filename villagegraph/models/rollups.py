"""Rollup tables the dashboard reads (vg.unit_figures, vg.unit_monthly_figures,
vg.unit_reader_months).

Maintained by triggers and refreshes in the migrations; the models only describe them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date
from sqlmodel import Field, SQLModel


class UnitFigures(SQLModel, table=True):
    """vg.unit_figures."""

    __tablename__ = "unit_figures"
    __table_args__ = {"schema": "vg"}

    unit_code: int = Field(sa_type=BigInteger, primary_key=True)
    residents: int = Field(sa_type=BigInteger)
    party_members: int = Field(sa_type=BigInteger)
    notice_readers: int = Field(sa_type=BigInteger)
    notices_published: int = Field(sa_type=BigInteger)


class UnitMonthlyFigures(SQLModel, table=True):
    """vg.unit_monthly_figures."""

    __tablename__ = "unit_monthly_figures"
    __table_args__ = {"schema": "vg"}

    unit_code: int = Field(sa_type=BigInteger, primary_key=True)
    month: date = Field(sa_type=Date, primary_key=True)
    notices_published: int = Field(sa_type=BigInteger)
    notice_readers: int = Field(sa_type=BigInteger)


class UnitReaderMonths(SQLModel, table=True):
    """vg.unit_reader_months: residents of a unit who read in `month` after last reading in
    `previous_month` (-infinity: never before); a period's distinct readers from it."""

    __tablename__ = "unit_reader_months"
    __table_args__ = {"schema": "vg"}

    unit_code: int = Field(sa_type=BigInteger, primary_key=True)
    month: date = Field(sa_type=Date, primary_key=True)
    previous_month: date = Field(sa_type=Date, primary_key=True)
    readers: int = Field(sa_type=BigInteger)
