"""Supervision as officials work it: 催办 counted, relayed tasks rolled up, reopening that
needs a new due date and a reason (and keeps the first completion's lateness), inspections
with a verdict and a rectification task, and each city's task and disclosure rules editable
by the city's own officials.

Revision ID: 0017_supervision_tasks
Revises: 0014_personal_data
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0017_supervision_tasks"
down_revision = "0014_personal_data"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0017_supervision_tasks.up.sql")


def downgrade() -> None:
    run_sql_file("0017_supervision_tasks.down.sql")
