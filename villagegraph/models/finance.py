"""Village finance (村务财务): entries, yearly budgets, the chart of accounts (会计科目) and
each city's approval threshold.

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, Integer, Numeric, Text
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ


class FinanceEntryBase(SQLModel):
    """The columns of vg.finance_entries, for the table model and for rows that add computed
    columns (resolvers.finance.FinanceEntryWithReversal)."""

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
    subject_code: str = Field(sa_type=Text)
    status: str = Field(sa_type=Text)  # PENDING | BOOKED | REJECTED
    decided_by: int | None = Field(default=None, sa_type=BigInteger)
    decided_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    decision_reason: str | None = Field(default=None, sa_type=Text)


class FinanceEntry(FinanceEntryBase, table=True):
    """vg.finance_entries."""

    __tablename__ = "finance_entries"
    __table_args__ = {"schema": "vg"}


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


class AccountSubject(SQLModel, table=True):
    """vg.account_subjects: the national chart (city_code null) and cities' detail subjects."""

    __tablename__ = "account_subjects"
    __table_args__ = {"schema": "vg"}

    # A unique (nulls not distinct) pair rather than a primary key: the national chart's
    # city_code is null.
    city_code: int | None = Field(
        default=None, sa_column=Column(BigInteger, primary_key=True, nullable=True)
    )
    code: str = Field(sa_type=Text, primary_key=True)
    name: str = Field(sa_type=Text)
    class_: str = Field(sa_column=Column("class", Text, nullable=False))
    direction: str | None = Field(default=None, sa_type=Text)
    parent_code: str | None = Field(default=None, sa_type=Text)
    added_by: int | None = Field(default=None, sa_type=BigInteger)


class FinanceRule(SQLModel, table=True):
    """vg.finance_rules: a city's approval threshold (小微权力清单)."""

    __tablename__ = "finance_rules"
    __table_args__ = {"schema": "vg"}

    city_code: int = Field(sa_type=BigInteger, primary_key=True)
    approval_threshold: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    set_by: int | None = Field(default=None, sa_type=BigInteger)
