"""Logins that resist guessing and sessions that can be ended.

Failed logins were counted nowhere and left no audit row; tokens lived 7 days with no way
to end them. From here on: per-phone failure counters in `vg.login_failures` (growing
waits, then a temporary lock), written only by the login role's guarded functions so they
hold across every process; refresh tokens beside each session (`vg.sessions.refresh_hash`)
that rotate on use, a reused one ending its whole family; logout ends the family, a
password change ends every other one; a disabled account (`vg.accounts.disabled_at`) has
no session. docs/ARCHITECTURE.md, "Sessions and logins".

Revision ID: 0018_abuse_resistance
Revises: 0017_supervision_tasks
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0018_abuse_resistance"
down_revision = "0017_supervision_tasks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0018_abuse_resistance.up.sql")


def downgrade() -> None:
    run_sql_file("0018_abuse_resistance.down.sql")
