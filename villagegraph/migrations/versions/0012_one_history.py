"""One history: merges the six domain branches that grew from 0001_core into one head.

Until now each domain branched from the core and `alembic upgrade heads` applied them all,
so a migrated database holds one alembic_version row per branch. This revision runs no
SQL; upgrading replaces those six rows with one, and every new revision follows it (one
head, checked by tests/test_migration_conventions.py).

Revision ID: 0012_one_history
Revises: 0002_affairs, 0004_people, 0006_audit_chain, 0008_rollup_reader_lock, 0010_api,
    0011_ledger_search_index
"""

revision = "0012_one_history"
# Alembic walks these parents last to first: this order makes a fresh database apply the
# branches exactly as `upgrade heads` did before the merge (0003, 0007, 0011, 0010, 0005,
# 0008, 0006, 0004, 0002), so its schema and grants come out identical.
down_revision = (
    "0002_affairs",
    "0004_people",
    "0006_audit_chain",
    "0008_rollup_reader_lock",
    "0010_api",
    "0011_ledger_search_index",
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to run: Alembic itself merges the version rows."""


def downgrade() -> None:
    """Nothing to run: Alembic splits the version row back into the six branch heads."""
