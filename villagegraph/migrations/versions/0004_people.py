"""People and local services: households, resident history, cadres and party members,
masked identity numbers and phones, 名特优 / 农家乐 listings, and disaster shelters.

Revision ID: 0004_people
Revises: 0001_core
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0004_people"
down_revision = "0001_core"
branch_labels = ("people",)
depends_on = None


def upgrade() -> None:
    run_sql_file("0004_people.up.sql")


def downgrade() -> None:
    run_sql_file("0004_people.down.sql")
