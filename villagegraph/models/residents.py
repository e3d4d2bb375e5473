"""Residents, their history, households, party members (党员), cadres (村两委), membership
requests and the record of full ID number reads.

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ARRAY, BigInteger, Boolean, Date, Text
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ


class ResidentBase(SQLModel):
    """The columns of vg.residents but the ID number and phone (the request role cannot
    select them; vg.resident_contacts masks them), for the table model and for rows that
    add computed columns (resolvers.residents.ResidentWithBirthYear)."""

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    name: str = Field(sa_type=Text)
    gender: str | None = Field(default=None, sa_type=Text)
    birth_date: date | None = Field(default=None, sa_type=Date)
    household_no: str | None = Field(default=None, sa_type=Text)
    residence_code: int | None = Field(default=None, sa_type=BigInteger)
    residence_member: bool = Field(sa_type=Boolean)
    tags: list[str] = Field(sa_type=ARRAY(Text))
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)


class Resident(ResidentBase, table=True):
    """vg.residents."""

    __tablename__ = "residents"
    __table_args__ = {"schema": "vg"}

    id_number: str | None = Field(default=None, sa_type=Text)
    phone: str | None = Field(default=None, sa_type=Text)


class ResidentHistory(SQLModel, table=True):
    """vg.resident_history."""

    __tablename__ = "resident_history"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    resident_id: int = Field(sa_type=BigInteger, primary_key=True)
    valid_from: date = Field(sa_type=Date, primary_key=True)
    valid_to: date | None = Field(default=None, sa_type=Date)
    residence_code: int | None = Field(default=None, sa_type=BigInteger)
    household_no: str | None = Field(default=None, sa_type=Text)
    gender: str | None = Field(default=None, sa_type=Text)
    birth_date: date | None = Field(default=None, sa_type=Date)
    tags: list[str] = Field(sa_type=ARRAY(Text))


class Household(SQLModel, table=True):
    """vg.households."""

    __tablename__ = "households"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    household_no: str = Field(sa_type=Text, primary_key=True)
    head_resident_id: int | None = Field(default=None, sa_type=BigInteger)
    address: str | None = Field(default=None, sa_type=Text)
    registered_on: date | None = Field(default=None, sa_type=Date)


class PartyMember(SQLModel, table=True):
    """vg.party_members."""

    __tablename__ = "party_members"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    resident_id: int = Field(sa_type=BigInteger, primary_key=True)
    joined_on: date = Field(sa_type=Date, primary_key=True)
    left_on: date | None = Field(default=None, sa_type=Date)
    branch_code: int = Field(sa_type=BigInteger)


class Cadre(SQLModel, table=True):
    """vg.cadres."""

    __tablename__ = "cadres"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    name: str = Field(sa_type=Text)
    body: str = Field(sa_type=Text)
    position: str = Field(sa_type=Text)
    resident_village: int | None = Field(default=None, sa_type=BigInteger)
    resident_id: int | None = Field(default=None, sa_type=BigInteger)
    account_id: int | None = Field(default=None, sa_type=BigInteger)
    term_start: date = Field(sa_type=Date)
    term_end: date | None = Field(default=None, sa_type=Date)
    appointed_by: int | None = Field(default=None, sa_type=BigInteger)


class MembershipRequest(SQLModel, table=True):
    """vg.membership_requests: asking village `village_code` to admit a resident (接纳为本村成员)."""

    __tablename__ = "membership_requests"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    resident_village: int = Field(sa_type=BigInteger)
    resident_id: int = Field(sa_type=BigInteger)
    status: str = Field(sa_type=Text)
    requested_by: int = Field(sa_type=BigInteger)
    requested_at: datetime = Field(sa_type=TIMESTAMPTZ)
    decided_by: int | None = Field(default=None, sa_type=BigInteger)
    decided_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    reason: str | None = Field(default=None, sa_type=Text)


class PersonalDataRead(SQLModel, table=True):
    """vg.personal_data_reads: who read whose full ID number, and when (PIPL)."""

    __tablename__ = "personal_data_reads"
    __table_args__ = {"schema": "vg"}

    id: int = Field(sa_type=BigInteger, primary_key=True)
    at: datetime = Field(sa_type=TIMESTAMPTZ)
    reader_account: int = Field(sa_type=BigInteger)
    resident_village: int = Field(sa_type=BigInteger)
    resident_id: int = Field(sa_type=BigInteger)
    field: str = Field(sa_type=Text)
