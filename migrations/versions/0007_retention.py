"""retention: per-organization rule, legal hold on customers, redaction marks on audit events

Revision ID: 0007_retention
Revises: 0006_delivery_per_customer
Create Date: 2026-11-24 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import service.db_types


# revision identifiers, used by Alembic.
revision = '0007_retention'
down_revision = '0006_delivery_per_customer'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention_years', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                'retention_from',
                sa.String(length=30),
                nullable=False,
                server_default='end_of_relationship',
            )
        )
        batch_op.create_check_constraint(
            batch_op.f('ck_organizations_retention_from'),
            "retention_from IN ('end_of_relationship', 'end_of_year')",
        )
        batch_op.create_check_constraint(
            batch_op.f('ck_organizations_retention_years'),
            'retention_years IS NULL OR retention_years >= 0',
        )
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.alter_column('retention_from', server_default=None)

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'legal_hold_since', service.db_types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column('legal_hold_reason', sa.Text(), nullable=True))

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('redacted_at', service.db_types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column('sealed_hash', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('sealed_hash')
        batch_op.drop_column('redacted_at')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('legal_hold_reason')
        batch_op.drop_column('legal_hold_since')

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_organizations_retention_years'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_organizations_retention_from'), type_='check')
        batch_op.drop_column('retention_from')
        batch_op.drop_column('retention_years')
