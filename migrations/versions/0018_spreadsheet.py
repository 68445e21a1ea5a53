"""spreadsheet import: a vendor's external id, and locations given as a region (EU, EEA) or
as not stated

Revision ID: 0018_spreadsheet
Revises: 0017_brand
Create Date: 2026-12-05 06:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_spreadsheet'
down_revision = '0017_brand'
branch_labels = None
depends_on = None

ONE_PLACE = (
    "(CASE WHEN country IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN international_organisation IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN region IS NULL THEN 0 ELSE 1 END) = 1"
)
OLD_ONE_PLACE = "(country IS NULL) <> (international_organisation IS NULL)"


def upgrade():
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=200), nullable=True))
        batch_op.create_index(
            'ix_recipients_external_id',
            ['organization_id', 'external_id'],
            unique=True,
            postgresql_where=sa.text('external_id IS NOT NULL'),
            sqlite_where=sa.text('external_id IS NOT NULL'),
        )
    with op.batch_alter_table('processing_locations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region', sa.String(length=10), nullable=True))
        batch_op.drop_constraint('one_place', type_='check')
        batch_op.create_check_constraint('one_place', ONE_PLACE)
        batch_op.create_check_constraint('region', "region IN ('EU', 'EEA', 'not_stated')")


def downgrade():
    op.execute("DELETE FROM processing_locations WHERE region IS NOT NULL")
    with op.batch_alter_table('processing_locations', schema=None) as batch_op:
        batch_op.drop_constraint('region', type_='check')
        batch_op.drop_constraint('one_place', type_='check')
        batch_op.create_check_constraint('one_place', OLD_ONE_PLACE)
        batch_op.drop_column('region')
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_recipients_external_id')
        batch_op.drop_column('external_id')
