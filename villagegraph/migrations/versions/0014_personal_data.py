"""Personal data that stays masked (issue 12, findings 4-7).

Exact-match identity lookups answer only where the caller sees the value in full, and
every full ID number shown to a cadre is recorded (vg.personal_data_reads, PIPL).
Analysts read no resident, household, history or party row; they get pseudonymous rows
(vg.resident_pseudonyms) and protected statistics: vg.resident_counts and
vg.party_member_count suppress groups below vg.disclosure_settings.min_group_size and
perturb the rest by a cell key, for everyone but the cadres of the one village asked
about. Admission as a member of a residence village is decided by that village's staff
through vg.membership_requests; a trigger on vg.residents enforces it for every writer.

Revision ID: 0014_personal_data
Revises: 0013_database_boundary
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0014_personal_data"
down_revision = "0013_database_boundary"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0014_personal_data.up.sql")


def downgrade() -> None:
    run_sql_file("0014_personal_data.down.sql")
