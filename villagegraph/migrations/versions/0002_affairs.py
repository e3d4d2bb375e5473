"""Villagers-only affairs: finance disclosure (财务公开), consultations (码上协商) with their
electors and secret ballots, and suggestions (提建议) with replies.

Every table here is readable only by members of its village (vg.member_villages()) and by
staff whose subtree holds it (vg.read_scope()); neighbours and anonymous callers see nothing.

Revision ID: 0002_affairs
Revises: 0001_core
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0002_affairs"
down_revision = "0001_core"
branch_labels = ("affairs",)
depends_on = None


def upgrade() -> None:
    run_sql_file("0002_affairs.up.sql")


def downgrade() -> None:
    run_sql_file("0002_affairs.down.sql")
