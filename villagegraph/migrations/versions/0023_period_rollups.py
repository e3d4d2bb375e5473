"""Dashboards over any run of whole months read rollups, readers included, exactly.

Distinct readers over a period of several months did not add up from the monthly rollups
and were counted from the receipts (a county's 12-month dashboard took seconds).
`vg.unit_reader_months` counts, per unit (a village and each ancestor), the residents
who read in a month after last reading in a given earlier month; a period's readers are
the rows of its months whose previous month lies before it (see the SQL file). The
receipt trigger keeps it in the writing transaction; `vg.rebuild_reader_months()`
recomputes it.

Revision ID: 0023_period_rollups
Revises: 0022_shared_state
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0023_period_rollups"
down_revision = "0022_shared_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0023_period_rollups.up.sql")


def downgrade() -> None:
    run_sql_file("0023_period_rollups.down.sql")
