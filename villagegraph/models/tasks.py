"""Tasks issued down the hierarchy, their reminders and each city's reminder rules.

Table models only (see villagegraph/models/__init__.py): no queries, no visibility rules.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ARRAY, BigInteger, Boolean, Integer, Text
from sqlalchemy.dialects.postgresql import INTERVAL
from sqlmodel import Field, SQLModel

from villagegraph.models.types import TIMESTAMPTZ


class TaskBase(SQLModel):
    """The columns of vg.tasks, for the table model and for rows that add computed columns
    (resolvers.tasks.TaskWithStatus)."""

    assignee_code: int = Field(sa_type=BigInteger, primary_key=True)
    id: int = Field(sa_type=BigInteger, primary_key=True)
    issuer_code: int = Field(sa_type=BigInteger)
    issued_by: int | None = Field(default=None, sa_type=BigInteger)
    title: str = Field(sa_type=Text)
    body: str = Field(sa_type=Text)
    due_at: datetime = Field(sa_type=TIMESTAMPTZ)
    supervised: bool = Field(sa_type=Boolean)
    attachments: list[str] = Field(sa_type=ARRAY(Text))
    source_key: str | None = Field(default=None, sa_type=Text)
    acknowledged_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    acknowledged_by: int | None = Field(default=None, sa_type=BigInteger)
    completed_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    completed_by: int | None = Field(default=None, sa_type=BigInteger)
    completion_note: str | None = Field(default=None, sa_type=Text)
    reopened_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    escalated_to: int | None = Field(default=None, sa_type=BigInteger)
    escalated_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    created_at: datetime = Field(sa_type=TIMESTAMPTZ)
    urge_count: int = Field(sa_type=Integer)
    last_urged_at: datetime | None = Field(default=None, sa_type=TIMESTAMPTZ)
    reopen_reason: str | None = Field(default=None, sa_type=Text)
    relayed_from_unit: int | None = Field(default=None, sa_type=BigInteger)
    relayed_from: int | None = Field(default=None, sa_type=BigInteger)


class Task(TaskBase, table=True):
    """vg.tasks."""

    __tablename__ = "tasks"
    __table_args__ = {"schema": "vg"}


class TaskReopening(SQLModel, table=True):
    """vg.task_reopenings."""

    __tablename__ = "task_reopenings"
    __table_args__ = {"schema": "vg"}

    assignee_code: int = Field(sa_type=BigInteger, primary_key=True)
    task_id: int = Field(sa_type=BigInteger, primary_key=True)
    reopened_at: datetime = Field(sa_type=TIMESTAMPTZ, primary_key=True)
    reopened_by: int | None = Field(default=None, sa_type=BigInteger)
    reason: str = Field(sa_type=Text)
    previous_due_at: datetime = Field(sa_type=TIMESTAMPTZ)
    previous_completed_at: datetime = Field(sa_type=TIMESTAMPTZ)
    new_due_at: datetime = Field(sa_type=TIMESTAMPTZ)


class TaskReminder(SQLModel, table=True):
    """vg.task_reminders."""

    __tablename__ = "task_reminders"
    __table_args__ = {"schema": "vg"}

    assignee_code: int = Field(sa_type=BigInteger, primary_key=True)
    task_id: int = Field(sa_type=BigInteger, primary_key=True)
    kind: str = Field(sa_type=Text, primary_key=True)
    due_at: datetime = Field(sa_type=TIMESTAMPTZ, primary_key=True)
    sent_at: datetime = Field(sa_type=TIMESTAMPTZ)


class TaskRule(SQLModel, table=True):
    """vg.task_rules."""

    __tablename__ = "task_rules"
    __table_args__ = {"schema": "vg"}

    city_code: int = Field(sa_type=BigInteger, primary_key=True)
    remind_before: timedelta = Field(sa_type=INTERVAL)
    escalate_after: timedelta = Field(sa_type=INTERVAL)
