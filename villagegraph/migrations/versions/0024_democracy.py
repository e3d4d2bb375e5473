"""Village democracy as the Organic Law of Villagers' Committees runs it (issue 15).

Binding resolutions only from the statutory rules (arts. 21-22, 25), with per-city decision
rules (quorum, thresholds, wording, the smallest published count); no early close unless
every elector voted; ballot audit rows dated to the day; paper ballots co-signed by a
supervisory-committee member and proxy ballots (art. 15: at most three principals per
proxy); villagers' proposals with supporters (art. 21); the 村务监督委员会 (arts. 32-33)
reading what the village committee reads, signing off finance periods and disclosures and
raising objections; representatives (村民代表) appointed with terms instead of a tag;
execution records of resolutions with milestones, links and a year-end review (民主评议).

Revision ID: 0024_democracy
Revises: 0023_period_rollups
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0024_democracy"
down_revision = "0023_period_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0024_democracy.up.sql")


def downgrade() -> None:
    run_sql_file("0024_democracy.down.sql")
