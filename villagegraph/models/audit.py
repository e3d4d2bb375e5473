"""The hash-chained audit log and its per-chain heads.

Rows are appended only by vg.record_audit (ScopedSession.audit), never through a model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ


class AuditLogEntry(SQLModel, table=True):
    """vg.audit_log."""

    __tablename__ = "audit_log"
    __table_args__ = {"schema": "vg"}

    id: int = Field(sa_type=BigInteger, primary_key=True)
    at: datetime = Field(sa_type=TIMESTAMPTZ)
    account_id: int | None = Field(default=None, sa_type=BigInteger)
    action: str = Field(sa_type=Text)
    tenant_code: int | None = Field(default=None, sa_type=BigInteger)
    entity: str | None = Field(default=None, sa_type=Text)
    entity_id: str | None = Field(default=None, sa_type=Text)
    detail: dict[str, Any] = Field(sa_type=JSONB)
    chain_key: int = Field(sa_type=BigInteger)
    chain_seq: int = Field(sa_type=BigInteger)
    prev_hash: str = Field(sa_type=Text)
    hash: str = Field(sa_type=Text)


class AuditHead(SQLModel, table=True):
    """vg.audit_heads."""

    __tablename__ = "audit_heads"
    __table_args__ = {"schema": "vg"}

    chain_key: int = Field(sa_type=BigInteger, primary_key=True)
    seq: int = Field(sa_type=BigInteger)
    hash: str = Field(sa_type=Text)
