"""agreements: versions, acceptance evidence, offboarding

Revision ID: 0008_agreements
Revises: 0007_retention
Create Date: 2026-11-22 02:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import service.db_types


# revision identifiers, used by Alembic.
revision = '0008_agreements'
down_revision = '0007_retention'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
