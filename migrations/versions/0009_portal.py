"""portal: sign-in links and sessions for customer contacts

Revision ID: 0009_portal
Revises: 0008_agreements
Create Date: 2026-11-22 02:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import service.db_types


# revision identifiers, used by Alembic.
revision = '0009_portal'
down_revision = '0008_agreements'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
