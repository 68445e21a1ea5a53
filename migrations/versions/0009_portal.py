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


def _of_one_contact(table):
    """The columns and keys both tables share: one contact of one customer of one organization."""
    return [
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{table}')),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f(f'fk_{table}_organization_id_organizations'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f(f'fk_{table}_customer_id_customers'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['contact_id'], ['customer_contacts.id'], name=op.f(f'fk_{table}_contact_id_customer_contacts'), ondelete='CASCADE'),
    ]


def _index_owners(table):
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in ('organization_id', 'customer_id', 'contact_id'):
            batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)


def upgrade():
    op.create_table('portal_sign_ins',
    *_of_one_contact('portal_sign_ins'),
    sa.Column('requested_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('expires_at', service.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('used_at', service.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.UniqueConstraint('token_hash', name=op.f('uq_portal_sign_ins_token_hash'))
    )
    _index_owners('portal_sign_ins')

    op.create_table('portal_sessions',
    *_of_one_contact('portal_sessions'),
    sa.Column('session_hash', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('created_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', service.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.UniqueConstraint('session_hash', name=op.f('uq_portal_sessions_session_hash'))
    )
    _index_owners('portal_sessions')

    # Answers filed in the portal say so.
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_objections_channel'), type_='check')
        batch_op.alter_column('channel', existing_type=sa.String(length=5), type_=sa.String(length=10), existing_nullable=False)
        batch_op.create_check_constraint(batch_op.f('ck_objections_channel'), "channel IN ('api', 'link', 'portal')")


def downgrade():
    # Portal answers become link answers: both were filed by the customer without a key.
    op.execute("UPDATE objections SET channel = 'link' WHERE channel = 'portal'")
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_objections_channel'), type_='check')
        batch_op.alter_column('channel', existing_type=sa.String(length=10), type_=sa.String(length=5), existing_nullable=False)
        batch_op.create_check_constraint(batch_op.f('ck_objections_channel'), "channel IN ('api', 'link')")
    for table in ('portal_sessions', 'portal_sign_ins'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in ('contact_id', 'customer_id', 'organization_id'):
                batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
        op.drop_table(table)
