"""The API's hooks into the database: new-notice notifications and the outbox gauge.

A published notice NOTIFYs channel `vg_notice` with its id and publisher (delivered at
commit, so subscribers only hear of committed notices; the payload carries no content,
each subscriber reads the notice under its own RLS context). /metrics reads the outbox
depth through a security-definer function, as the request role cannot see the outbox.

Revision ID: 0010_api
Revises: 0001_core
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0010_api"
down_revision = "0001_core"
branch_labels = ("api",)
depends_on = None


def upgrade() -> None:
    run_sql_file("0010_api.up.sql")


def downgrade() -> None:
    run_sql_file("0010_api.down.sql")
