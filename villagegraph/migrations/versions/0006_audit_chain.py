"""Audit integrity (电子留痕): every audit row is chained to the previous one by a hash,
so a row changed, removed or slipped in by someone with direct database access shows up
in `villagegraph audit verify`.

Chains are per tenant, not global: appending takes the chain's head row lock until the
mutation commits, so one global chain would serialise every mutation in the city, while
per-tenant chains only serialise mutations in the same village (or unit). Rows without a
tenant (logins) chain per account (negative keys). The head table also catches a chain
whose newest rows were deleted.

Revision ID: 0006_audit_chain
Revises: 0001_core
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0006_audit_chain"
down_revision = "0001_core"
branch_labels = ("audit",)
depends_on = None


def upgrade() -> None:
    run_sql_file("0006_audit_chain.up.sql")


def downgrade() -> None:
    run_sql_file("0006_audit_chain.down.sql")
