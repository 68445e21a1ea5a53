"""performance: indexes and columns for the hot paths

Revision ID: 0010_performance
Revises: 0009_portal
Create Date: 2026-11-22 02:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import service.db_types


# revision identifiers, used by Alembic.
revision = '0010_performance'
down_revision = '0009_portal'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('public_list_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customers_token', sa.String(length=32), nullable=True))

    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.create_index('ix_recipients_organization_name', ['organization_id', 'name', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('public_list_versions', schema=None) as batch_op:
        batch_op.drop_column('customers_token')

    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_recipients_organization_name')
