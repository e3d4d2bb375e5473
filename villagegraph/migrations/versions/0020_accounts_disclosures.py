"""Finance an accountant would accept, the ledger's current versions, and disclosures that
say what they disclose (issue 16, findings 4-6).

Finance categories come from the chart of accounts of 《村集体经济组织会计制度》
(财会〔2004〕12号), loaded as vg.account_subjects and extensible per city; old free-text
categories are mapped onto it. No future periods or ledger dates. An expense above the
city's approval threshold (vg.finance_rules, 小微权力清单) is PENDING until a second cadre
of the village books it. Notices carry the period they disclose, attachments with their
SHA-256, and a withdrawal or correction with its reason; existing disclosures get the
period the old compliance check would have counted them for.

Revision ID: 0020_accounts_disclosures
Revises: 0019_context_speed
"""

from villagegraph.migrations.helpers import run_sql_file

revision = "0020_accounts_disclosures"
down_revision = "0019_context_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0020_accounts_disclosures.up.sql")


def downgrade() -> None:
    run_sql_file("0020_accounts_disclosures.down.sql")
