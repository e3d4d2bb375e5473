"""Remote inspection (远程验收) covers disclosures too: officials' reads of a village's
notices and finance from outside the village are recorded like ledger and task reads.

Revision ID: 0007_inspect_disclosures
Revises: 0003_supervision
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0007_inspect_disclosures"
down_revision = "0003_supervision"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0007_inspect_disclosures.up.sql")


def downgrade() -> None:
    run_sql_file("0007_inspect_disclosures.down.sql")
