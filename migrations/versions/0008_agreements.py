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
    # A draft has no publication time yet; existing rows were all published.
    with op.batch_alter_table('agreement_versions', schema=None) as batch_op:
        batch_op.alter_column(
            'published_at',
            existing_type=service.db_types.UTCDateTime(timezone=True),
            nullable=True,
        )

    op.create_table(
        'agreement_acceptances',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('agreement_version_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.String(length=40), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('accepted_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('accepted_by_name', sa.String(length=200), nullable=False),
        sa.Column('accepted_by_email', sa.String(length=320), nullable=False),
        sa.Column('text_sha256', sa.String(length=64), nullable=False),
        sa.Column('ip_address', sa.String(length=45), nullable=True),
        sa.Column('user_agent', sa.String(length=500), nullable=True),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('actor', sa.String(length=200), nullable=False),
        sa.Column('link_address', sa.String(length=320), nullable=True),
        sa.Column('link_message_id', sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "channel IN ('api', 'link', 'portal', 'import')",
            name=op.f('ck_agreement_acceptances_channel'),
        ),
        sa.ForeignKeyConstraint(
            ['agreement_version_id'], ['agreement_versions.id'],
            name=op.f('fk_agreement_acceptances_agreement_version_id_agreement_versions'),
            ondelete='RESTRICT',
        ),
        sa.ForeignKeyConstraint(
            ['customer_id'], ['customers.id'],
            name=op.f('fk_agreement_acceptances_customer_id_customers'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['organization_id'], ['organizations.id'],
            name=op.f('fk_agreement_acceptances_organization_id_organizations'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_acceptances')),
        sa.UniqueConstraint(
            'customer_id', 'version', name=op.f('uq_agreement_acceptances_customer_id_version')
        ),
    )
    with op.batch_alter_table('agreement_acceptances', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_agreement_acceptances_agreement_version_id'),
            ['agreement_version_id'], unique=False,
        )
        batch_op.create_index(
            batch_op.f('ix_agreement_acceptances_customer_id'), ['customer_id'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_agreement_acceptances_organization_id'),
            ['organization_id'], unique=False,
        )

    op.create_table(
        'agreement_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.String(length=40), nullable=False),
        sa.Column('requested_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('notice_outbox_id', sa.Integer(), nullable=True),
        sa.Column('reminder_outbox_id', sa.Integer(), nullable=True),
        sa.Column('reminded_at', service.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('reminders', sa.Integer(), nullable=False),
        sa.Column('closed_at', service.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('closed_because', sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ['customer_id'], ['customers.id'],
            name=op.f('fk_agreement_requests_customer_id_customers'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['notice_outbox_id'], ['outbox.id'],
            name=op.f('fk_agreement_requests_notice_outbox_id_outbox'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['organization_id'], ['organizations.id'],
            name=op.f('fk_agreement_requests_organization_id_organizations'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['reminder_outbox_id'], ['outbox.id'],
            name=op.f('fk_agreement_requests_reminder_outbox_id_outbox'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_requests')),
        sa.UniqueConstraint(
            'customer_id', 'version', name=op.f('uq_agreement_requests_customer_id_version')
        ),
    )
    with op.batch_alter_table('agreement_requests', schema=None) as batch_op:
        batch_op.create_index(
            'ix_agreement_requests_open', ['organization_id', 'closed_at'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_agreement_requests_customer_id'), ['customer_id'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_agreement_requests_notice_outbox_id'),
            ['notice_outbox_id'], unique=False,
        )
        batch_op.create_index(
            batch_op.f('ix_agreement_requests_reminder_outbox_id'),
            ['reminder_outbox_id'], unique=False,
        )

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('end_reason', sa.Text(), nullable=True))

    with op.batch_alter_table('customer_agreements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acceptance_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_customer_agreements_acceptance_id_agreement_acceptances'),
            'agreement_acceptances', ['acceptance_id'], ['id'], ondelete='SET NULL',
        )

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_deliveries_status'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_deliveries_status'),
            "status IN ('pending', 'sent', 'failed', 'cancelled')",
        )


def downgrade():
    # Cancelled deliveries were never sent: the older schema calls that failed.
    op.execute("UPDATE deliveries SET status = 'failed' WHERE status = 'cancelled'")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_deliveries_status'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_deliveries_status'), "status IN ('pending', 'sent', 'failed')"
        )

    with op.batch_alter_table('customer_agreements', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_customer_agreements_acceptance_id_agreement_acceptances'),
            type_='foreignkey',
        )
        batch_op.drop_column('acceptance_id')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('end_reason')

    op.drop_table('agreement_requests')
    op.drop_table('agreement_acceptances')

    op.execute("DELETE FROM agreement_versions WHERE published_at IS NULL")
    with op.batch_alter_table('agreement_versions', schema=None) as batch_op:
        batch_op.alter_column(
            'published_at',
            existing_type=service.db_types.UTCDateTime(timezone=True),
            nullable=False,
        )
