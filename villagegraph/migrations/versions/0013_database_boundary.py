"""The database is the boundary: an unforgeable request context, guarded definer functions.

The request role could set every `vg.*` setting itself and call every SECURITY DEFINER
function (login_lookup returned any password hash). From here on the context is one signed,
transaction-bound blob (`vg.context`) that only `vg.begin_request(session token)` writes
and only `vg.ctx()` reads; sessions live in `vg.sessions` and are opened by the login role;
EXECUTE is revoked from PUBLIC on every function and granted per role; every definer
function's search_path starts with pg_catalog. docs/ARCHITECTURE.md, "Request context".

Revision ID: 0013_database_boundary
Revises: 0012_one_history
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0013_database_boundary"
down_revision = "0012_one_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0013_database_boundary.up.sql")


def downgrade() -> None:
    run_sql_file("0013_database_boundary.down.sql")
