"""State every serving process shares: the rate-limit buckets and the persisted documents.

`villagegraph serve --workers N` runs N processes; a client must get the same allowance and
find the same automatic persisted queries whichever process answers. Both live here in
UNLOGGED tables (a cache: lost on a crash, never replicated), reached only through SECURITY
DEFINER functions the request role may execute: `vg.rate_take` (one atomic token-bucket
step per key), `vg.persist_document` (stores a document under its own sha256, checked
here) and `vg.persisted_document`. docs/OPERATIONS.md, "Several processes".

Revision ID: 0022_shared_state
Revises: 0021_delivery
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0022_shared_state"
down_revision = "0021_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0022_shared_state.up.sql")


def downgrade() -> None:
    run_sql_file("0022_shared_state.down.sql")
