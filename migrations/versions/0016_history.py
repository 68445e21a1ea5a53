"""history: earlier listing periods of vendors that came back, dated names on revisions,
and changes recorded from an imported history

Revision ID: 0016_history
Revises: 0015_record_exports
Create Date: 2026-12-05 06:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_history'
down_revision = '0015_record_exports'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('recipient_listing_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('listed_from', sa.Date(), nullable=False),
    sa.Column('listed_until', sa.Date(), nullable=False),
    sa.CheckConstraint('listed_from < listed_until', name=op.f('ck_recipient_listing_periods_period')),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipients.id'], name=op.f('fk_recipient_listing_periods_recipient_id_recipients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recipient_listing_periods'))
    )
    with op.batch_alter_table('recipient_listing_periods', schema=None) as batch_op:
        batch_op.create_index('ix_recipient_listing_periods_window', ['recipient_id', 'listed_from', 'listed_until'], unique=False)

    with op.batch_alter_table('recipient_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('legal_entity', sa.String(length=300), nullable=True))

    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('historical', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('source', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_column('source')
        batch_op.drop_column('historical')

    with op.batch_alter_table('recipient_revisions', schema=None) as batch_op:
        batch_op.drop_column('legal_entity')
        batch_op.drop_column('name')

    with op.batch_alter_table('recipient_listing_periods', schema=None) as batch_op:
        batch_op.drop_index('ix_recipient_listing_periods_window')

    op.drop_table('recipient_listing_periods')
