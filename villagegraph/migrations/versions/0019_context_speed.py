"""The request context at a fraction of its cost: begin_request derives the context in one
set-based statement (no jsonb round trip), and the verified context of the transaction is
kept in an owner-only temporary table, so each policy's accessor reads one row instead of
recomputing the MAC and parsing the signed text (docs/ARCHITECTURE.md, "Request context").

Revision ID: 0019_context_speed
Revises: 0018_abuse_resistance
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0019_context_speed"
down_revision = "0018_abuse_resistance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0019_context_speed.up.sql")


def downgrade() -> None:
    run_sql_file("0019_context_speed.down.sql")
