"""Consultations (码上协商): the consultation, its electors, comments and ballots.

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, BigInteger, Boolean, Integer, Text
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ


class ConsultationBase(SQLModel):
    """The columns of vg.consultations, for the table model and for rows that add computed
    columns (resolvers.consultations.ConsultationWithStatus)."""

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    title: str = Field(sa_type=Text)
    description: str = Field(sa_type=Text)
    options: list[str] = Field(sa_type=ARRAY(Text))
    opens_at: datetime = Field(sa_type=TIMESTAMPTZ)
    closes_at: datetime = Field(sa_type=TIMESTAMPTZ)
    rule: str = Field(sa_type=Text)
    eligibility: str = Field(sa_type=Text)
    created_by: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    closed_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    closed_by: int | None = Field(default=None, sa_type=BigInteger)
    eligible_count: int | None = Field(default=None, sa_type=Integer)
    eligible_households: int | None = Field(default=None, sa_type=Integer)
    ballots_cast: int | None = Field(default=None, sa_type=Integer)
    households_voted: int | None = Field(default=None, sa_type=Integer)
    votes: list[int] | None = Field(default=None, sa_type=ARRAY(Integer))
    quorum_met: bool | None = Field(default=None, sa_type=Boolean)
    winning_option: int | None = Field(default=None, sa_type=Integer)
    passed: bool | None = Field(default=None, sa_type=Boolean)
    resolution_notice_id: int | None = Field(default=None, sa_type=BigInteger)


class Consultation(ConsultationBase, table=True):
    """vg.consultations."""

    __tablename__ = "consultations"
    __table_args__ = {"schema": "vg"}


class ConsultationElector(SQLModel, table=True):
    """vg.consultation_electors."""

    __tablename__ = "consultation_electors"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    consultation_id: int = Field(sa_type=BigInteger, primary_key=True)
    resident_village: int = Field(sa_type=BigInteger, primary_key=True)
    resident_id: int = Field(sa_type=BigInteger, primary_key=True)
    household: str = Field(sa_type=Text)


class ConsultationComment(SQLModel, table=True):
    """vg.consultation_comments."""

    __tablename__ = "consultation_comments"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    consultation_id: int = Field(sa_type=BigInteger)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    author_account: int = Field(sa_type=BigInteger)
    author_name: str = Field(sa_type=Text)
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


class Ballot(SQLModel, table=True):
    """vg.ballots."""

    __tablename__ = "ballots"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    consultation_id: int = Field(sa_type=BigInteger, primary_key=True)
    resident_village: int = Field(sa_type=BigInteger, primary_key=True)
    resident_id: int = Field(sa_type=BigInteger, primary_key=True)
    option_index: int = Field(sa_type=Integer)
    cast_at: datetime = Field(sa_type=TIMESTAMPTZ)
