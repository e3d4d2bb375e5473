"""The running core: roles, hierarchy, residents, accounts and grants, notices, read
receipts, the audit log, and the request context that row-level security reads.

Revision ID: 0001_core
Revises:
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0001_core.up.sql")


def downgrade() -> None:
    run_sql_file("0001_core.down.sql")
