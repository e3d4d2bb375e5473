"""Reaching every resident (issue 14): push rules per city, urgent notices, broadcasts that
the worker fans out in batches into one delivery per recipient, residents' channel
preferences and quiet hours, channel fallback and receipts in the outbox, daily channel
quotas, login codes and self-registration, binding an account to its registry record,
family proxies (亲情账号) in the request context. docs/ARCHITECTURE.md, "Delivery".

Revision ID: 0021_delivery
Revises: 0020_accounts_disclosures
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0021_delivery"
down_revision = "0020_accounts_disclosures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0021_delivery.up.sql")


def downgrade() -> None:
    run_sql_file("0021_delivery.down.sql")
