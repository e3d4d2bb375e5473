"""State the serving processes share (migration 0022_shared_state): rate-limit buckets and
automatic persisted queries. Table models only; the tables are reached through the
definer functions vg.rate_take / vg.persist_document / vg.persisted_document, never read.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Double, Text
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ


class RateBucket(SQLModel, table=True):
    """vg.rate_buckets: one token bucket per caller key."""

    __tablename__ = "rate_buckets"
    __table_args__ = {"schema": "vg"}

    key: str = Field(sa_type=Text, primary_key=True)
    tokens: float = Field(sa_type=Double)
    updated_at: datetime = Field(sa_type=TIMESTAMPTZ)


class PersistedDocument(SQLModel, table=True):
    """vg.persisted_documents: an APQ document under its own sha256."""

    __tablename__ = "persisted_documents"
    __table_args__ = {"schema": "vg"}

    sha256: str = Field(sa_type=Text, primary_key=True)
    document: str = Field(sa_type=Text)
    used_at: datetime = Field(sa_type=TIMESTAMPTZ)
