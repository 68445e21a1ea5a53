"""fanout: notices written by the worker

Revision ID: 0011_fanout
Revises: 0010_performance
Create Date: 2026-11-22 02:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import service.db_types


# revision identifiers, used by Alembic.
revision = '0011_fanout'
down_revision = '0010_performance'
branch_labels = None
depends_on = None


def upgrade():
    # The longest negotiated notice, read by every announcement, from the index alone.
    with op.batch_alter_table('customer_agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_agreements_notice_days'), ['notice_days'], unique=False)


def downgrade():
    with op.batch_alter_table('customer_agreements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_agreements_notice_days'))
