"""Supervision: tasks (待办/督办) with reminders and escalation, the ledger (村情记录) with
remote-inspection records, disclosure-compliance rules, and the worker's outbox columns.

Revision ID: 0003_supervision
Revises: 0001_core
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0003_supervision"
down_revision = "0001_core"
branch_labels = ("supervision",)
depends_on = None


def upgrade() -> None:
    run_sql_file("0003_supervision.up.sql")


def downgrade() -> None:
    run_sql_file("0003_supervision.down.sql")
