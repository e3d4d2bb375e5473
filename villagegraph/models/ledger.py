"""The village work ledger (工作台账): vg.ledger_entries.

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ARRAY, BigInteger, Column, Computed, Date, Text
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ


class LedgerEntryBase(SQLModel):
    """The columns of vg.ledger_entries Python reads, for the table model and for rows that add
    computed columns (resolvers.ledger.LedgerEntryWithRelevance)."""

    village_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    category: str = Field(sa_type=Text)
    occurred_on: date = Field(sa_type=Date)
    text: str = Field(sa_type=Text)
    attachments: list[str] = Field(sa_type=ARRAY(Text))
    corrects_id: int | None = Field(default=None, sa_type=BigInteger)
    recorded_by: int | None = Field(default=None, sa_type=BigInteger)
    recorded_at: datetime = Field(sa_type=TIMESTAMPTZ)


class LedgerEntry(LedgerEntryBase, table=True):
    """vg.ledger_entries."""

    __tablename__ = "ledger_entries"
    __table_args__ = {"schema": "vg"}

    search_text: str | None = Field(
        default=None,
        sa_column=Column(Text, Computed("((category || ' '::text) || text)", persisted=True)),
    )
