"""Supervision (监督): who inspected what, and each city's disclosure rules.

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Date, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ


class Inspection(SQLModel, table=True):
    """vg.inspections."""

    __tablename__ = "inspections"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    account_id: int = Field(sa_type=BigInteger)
    inspector_name: str = Field(sa_type=Text)
    subject: str = Field(sa_type=Text)
    queried_unit: int = Field(sa_type=BigInteger)
    search: str | None = Field(default=None, sa_type=Text)
    inspected_at: datetime = Field(sa_type=TIMESTAMPTZ)


class InspectionReportBase(SQLModel):
    """The columns of vg.inspection_reports, for the table model and for rows that add
    computed columns (resolvers.inspections.InspectionReportWithRectification)."""

    unit_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    inspector_unit: int = Field(sa_type=BigInteger)
    inspected_by: int = Field(sa_type=BigInteger)
    subject: str = Field(sa_type=Text)
    checklist: list[dict[str, Any]] = Field(sa_type=JSONB)
    verdict: str = Field(sa_type=Text)
    findings: str = Field(sa_type=Text)
    evidence: list[str] = Field(sa_type=ARRAY(Text))
    rectify_by: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    rectification_task: int | None = Field(default=None, sa_type=BigInteger)
    rejections: int = Field(sa_type=Integer)
    review_note: str | None = Field(default=None, sa_type=Text)
    accepted_by: int | None = Field(default=None, sa_type=BigInteger)
    accepted_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    recorded_at: datetime = Field(sa_type=TIMESTAMPTZ)


class InspectionReport(InspectionReportBase, table=True):
    """vg.inspection_reports."""

    __tablename__ = "inspection_reports"
    __table_args__ = {"schema": "vg"}


class DisclosureRule(SQLModel, table=True):
    """vg.disclosure_rules."""

    __tablename__ = "disclosure_rules"
    __table_args__ = {"schema": "vg"}

    city_code: int = Field(sa_type=BigInteger, primary_key=True)
    board: str = Field(sa_type=Text, primary_key=True)
    period_months: int = Field(sa_type=Integer)
    deadline_offset_months: int = Field(sa_type=Integer)
    deadline_day: int = Field(sa_type=Integer)
    effective_from: date = Field(sa_type=Date)
    remedy_days: int = Field(sa_type=Integer)
