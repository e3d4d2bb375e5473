"""Remote inspection (远程验收) covers disclosures too: officials' reads of a village's
notices and finance from outside the village are recorded like ledger and task reads.

Revision ID: 0007_inspect_disclosures
Revises: 0003_supervision
"""

from alembic import op

from villagegraph.migrations.helpers import as_owner

revision = "0007_inspect_disclosures"
down_revision = "0003_supervision"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with as_owner():
        op.execute(
            """alter table vg.inspections drop constraint inspections_subject_check,
                   add constraint inspections_subject_check
                   check (subject in ('LEDGER', 'TASKS', 'NOTICES', 'FINANCE'))"""
        )


def downgrade() -> None:
    with as_owner():
        op.execute("delete from vg.inspections where subject in ('NOTICES', 'FINANCE')")
        op.execute(
            """alter table vg.inspections drop constraint inspections_subject_check,
                   add constraint inspections_subject_check
                   check (subject in ('LEDGER', 'TASKS'))"""
        )
