"""public list versions: the key of the never-stale public page and feed cache

Revision ID: 0005_public_cache
Revises: 0004_subscriptions_webhooks
Create Date: 2026-11-23 10:00:00.000000

"""
import secrets
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

import service.db_types

# revision identifiers, used by Alembic.
revision = '0005_public_cache'
down_revision = '0004_subscriptions_webhooks'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('public_list_versions',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('changed_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_public_list_versions_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organization_id', name=op.f('pk_public_list_versions'))
    )
    # Every existing organization gets its first token, so its page is cached from now on.
    ids = op.get_bind().execute(sa.text('SELECT id FROM organizations')).scalars().all()
    if ids:
        now = datetime.now(UTC)
        op.bulk_insert(table, [
            {'organization_id': i, 'version': 1, 'token': secrets.token_hex(16), 'changed_at': now}
            for i in ids
        ])


def downgrade():
    op.drop_table('public_list_versions')
