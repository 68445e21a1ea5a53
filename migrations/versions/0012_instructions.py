"""instructions: emergency clause, post-hoc objection window, objection outcomes

Revision ID: 0012_instructions
Revises: 0011_fanout
Create Date: 2026-11-23 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_instructions'
down_revision = '0011_fanout'
branch_labels = None
depends_on = None

OUTCOMES = "('excluded', 'termination_right', 'rejected', 'withdrawn', 'alternative')"
UPHELD = "('excluded', 'termination_right')"


def upgrade():
    # Existing versions have no emergency clause and no right to reject objections: the
    # defaults written here are what their texts said (nothing), as the model's defaults.
    with op.batch_alter_table('agreement_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rejects_unjustified_objections', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('emergency_clause', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('emergency_notice_days', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('post_hoc_objection_days', sa.Integer(), nullable=False, server_default='14'))
    with op.batch_alter_table('agreement_versions', schema=None) as batch_op:
        for name in ('rejects_unjustified_objections', 'emergency_clause', 'emergency_notice_days', 'post_hoc_objection_days'):
            batch_op.alter_column(name, server_default=None)

    with op.batch_alter_table('customer_agreements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rejects_unjustified_objections', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('emergency_clause', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('emergency_notice_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('post_hoc_objection_days', sa.Integer(), nullable=True))

    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('post_hoc', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.alter_column('post_hoc', server_default=None)

    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_objections_resolution'), type_='check')
        batch_op.create_check_constraint('resolution', f"resolution IS NULL OR resolution IN {OUTCOMES}")


def downgrade():
    # Outcomes the older schema cannot name are kept as the nearest it can: a rejected,
    # withdrawn or alternative outcome left no exclusion, so the termination right is wrong;
    # they are cleared (the audit trail keeps them).
    op.execute(f"UPDATE objections SET resolution = NULL WHERE resolution NOT IN {UPHELD}")
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_objections_resolution'), type_='check')
        batch_op.create_check_constraint('resolution', f"resolution IS NULL OR resolution IN {UPHELD}")
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_column('post_hoc')
    with op.batch_alter_table('customer_agreements', schema=None) as batch_op:
        for name in ('post_hoc_objection_days', 'emergency_notice_days', 'emergency_clause', 'rejects_unjustified_objections'):
            batch_op.drop_column(name)
    with op.batch_alter_table('agreement_versions', schema=None) as batch_op:
        for name in ('post_hoc_objection_days', 'emergency_notice_days', 'emergency_clause', 'rejects_unjustified_objections'):
            batch_op.drop_column(name)
