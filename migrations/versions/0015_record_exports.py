"""record exports: jobs that build the Art. 30(2) record into a file, with progress,
a digest of the file and its deletion date

Revision ID: 0015_record_exports
Revises: 0014_bilingual_labels
Create Date: 2026-12-05 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import service.db_types


# revision identifiers, used by Alembic.
revision = '0015_record_exports'
down_revision = '0014_bilingual_labels'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('record_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('lang', sa.String(length=5), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=True),
    sa.Column('file_path', sa.String(length=300), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('error', sa.String(length=2000), nullable=True),
    sa.Column('created_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', service.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', service.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', service.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("format IN ('json', 'csv', 'xlsx')", name=op.f('ck_record_exports_format')),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_record_exports_status')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_record_exports_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_exports'))
    )
    with op.batch_alter_table('record_exports', schema=None) as batch_op:
        batch_op.create_index('ix_record_exports_active', ['organization_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_exports_organization_id'), ['organization_id'], unique=False)


def downgrade():
    with op.batch_alter_table('record_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_exports_organization_id'))
        batch_op.drop_index('ix_record_exports_active')

    op.drop_table('record_exports')
