"""Dashboard rollups: figures per unit and per unit and month, kept by triggers.

A city or county dashboard must not group ten million rows per request. These tables hold
each unit's own figures (a village's residents, a publisher's notices, a village's
distinct readers) and are maintained in the same transaction as the change, by
statement-level triggers over transition tables (one upsert per statement, not per row),
so they are never stale. Dashboards add them up the hierarchy with the same GROUPING SETS
as before. A resident belongs to one village, so distinct readers add up exactly across
villages; across months they do not, so only a whole single month or all time is served
from here (resolvers/dashboard.py falls back to the live tables otherwise).

vg.rebuild_rollups() recomputes everything from the base tables; the bulk generator calls
it after loading with triggers off.

Revision ID: 0005_rollups
Revises: 0001_core
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0005_rollups"
down_revision = "0001_core"
branch_labels = ("rollups",)
depends_on = None


def upgrade() -> None:
    run_sql_file("0005_rollups.up.sql")


def downgrade() -> None:
    run_sql_file("0005_rollups.down.sql")
