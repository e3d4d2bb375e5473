"""Count a resident's first receipt of a month once, however many transactions race.

The 0005 trigger decided "first receipt" by looking for other receipts; two concurrent
transactions marking one resident's reads could both find none and both add the reader
(seen when the concurrency tests and the rollup checks met after the merge). The trigger
now takes a per-resident advisory lock first, and `vg.rebuild_rollups()` repairs counts
written before.

Revision ID: 0008_rollup_reader_lock
Revises: 0005_rollups
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0008_rollup_reader_lock"
down_revision = "0005_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0008_rollup_reader_lock.up.sql")


def downgrade() -> None:
    run_sql_file("0008_rollup_reader_lock.down.sql")
