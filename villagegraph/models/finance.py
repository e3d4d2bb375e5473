"""Village finance (村务财务): entries and yearly budgets.

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Integer, Numeric, Text
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ


class FinanceEntry(SQLModel, table=True):
    """vg.finance_entries."""

    __tablename__ = "finance_entries"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    period: str = Field(sa_type=Text)
    direction: str = Field(sa_type=Text)
    category: str = Field(sa_type=Text)
    amount: Decimal = Field(sa_type=Numeric(14, 2))
    memo: str | None = Field(default=None, sa_type=Text)
    voucher_no: str | None = Field(default=None, sa_type=Text)
    reverses_id: int | None = Field(default=None, sa_type=BigInteger)
    recorded_by: int | None = Field(default=None, sa_type=BigInteger)
    recorded_at: datetime = Field(sa_type=TIMESTAMPTZ)


class FinanceBudget(SQLModel, table=True):
    """vg.finance_budgets."""

    __tablename__ = "finance_budgets"
    __table_args__ = {"schema": "vg"}

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    year: int = Field(sa_type=Integer)
    direction: str = Field(sa_type=Text)
    category: str = Field(sa_type=Text)
    amount: Decimal = Field(sa_type=Numeric(14, 2))
    set_by: int | None = Field(default=None, sa_type=BigInteger)
    set_at: datetime = Field(sa_type=TIMESTAMPTZ)
