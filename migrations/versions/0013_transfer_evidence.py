"""transfer evidence: SCC sets, DPF certification details, per-location transfer impact
assessments, vendor groups, special categories, controllers' Art. 30(2) details

Revision ID: 0013_transfer_evidence
Revises: 0012_instructions
Create Date: 2026-12-05 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import service.db_types


# revision identifiers, used by Alembic.
revision = '0013_transfer_evidence'
down_revision = '0012_instructions'
branch_labels = None
depends_on = None

SCC_2021 = "2021/914"
# Locations recorded before the set was: clauses signed before 2021/914 existed were the
# 2010 set (the only processor set then), and carried no module.
BACKFILL_SETS = (
    "UPDATE processing_locations SET scc_set = CASE "
    "WHEN scc_signed_on IS NOT NULL AND scc_signed_on < '2021-06-27' THEN '2010/87' "
    "ELSE '2021/914' END WHERE mechanism = 'scc'"
)
CLEAR_OLD_MODULES = (
    "UPDATE processing_locations SET scc_module = NULL, scc_clause9_option = NULL, "
    "scc_clause9_notice_days = NULL WHERE mechanism = 'scc' AND scc_set <> '2021/914'"
)
# Downgrade: the old schema wants a module on every `scc` row; give the old sets the
# module of their parties (controller to processor: 2, controller to controller: 1).
RESTORE_MODULES = (
    "UPDATE processing_locations SET scc_module = CASE "
    "WHEN scc_set IN ('2001/497', '2004/915') THEN 1 ELSE 2 END "
    "WHERE mechanism = 'scc' AND scc_module IS NULL"
)


def upgrade():
    op.create_table('transfer_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('international_organisation', sa.String(length=100), nullable=True),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=False),
    sa.Column('supplementary_measures', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('review_on', sa.Date(), nullable=True),
    sa.Column('reference', sa.String(length=300), nullable=True),
    sa.Column('location', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', service.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(country IS NULL) <> (international_organisation IS NULL)', name=op.f('ck_transfer_assessments_one_place')),
    sa.CheckConstraint("outcome IN ('no_measures_needed', 'measures_effective', 'transfer_not_permitted')", name=op.f('ck_transfer_assessments_outcome')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_transfer_assessments_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipients.id'], name=op.f('fk_transfer_assessments_recipient_id_recipients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_assessments'))
    )
    with op.batch_alter_table('transfer_assessments', schema=None) as batch_op:
        batch_op.create_index('ix_transfer_assessments_recipient', ['recipient_id', 'assessed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_assessments_organization_id'), ['organization_id'], unique=False)

    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpf_certified_entity', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('dpf_certified_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('dpf_checked_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('dpf_scope', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('parent_company', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('parent_company_country', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('special_categories', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, server_default='[]'))

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=500), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('country', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('dpo_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('dpo_email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('representative_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('representative_email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('special_categories', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, server_default='[]'))

    with op.batch_alter_table('processing_locations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scc_set', sa.String(length=10), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_processing_locations_scc_module'), type_='check')
    op.execute(BACKFILL_SETS)
    op.execute(CLEAR_OLD_MODULES)
    with op.batch_alter_table('processing_locations', schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_processing_locations_scc_set'), "mechanism <> 'scc' OR scc_set IS NOT NULL")
        batch_op.create_check_constraint(batch_op.f('ck_processing_locations_scc_module'), "mechanism <> 'scc' OR ((scc_set = '2021/914') = (scc_module IS NOT NULL))")
    # The server defaults only filled existing rows; the models give new ones their value.
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.alter_column('special_categories', server_default=None)
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.alter_column('address', server_default=None)
        batch_op.alter_column('special_categories', server_default=None)


def downgrade():
    with op.batch_alter_table('processing_locations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_processing_locations_scc_module'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_processing_locations_scc_set'), type_='check')
    op.execute(RESTORE_MODULES)
    with op.batch_alter_table('processing_locations', schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_processing_locations_scc_module'), "mechanism <> 'scc' OR scc_module IS NOT NULL")
        batch_op.drop_column('scc_set')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        for name in ('special_categories', 'representative_email', 'representative_name', 'dpo_email', 'dpo_name', 'country', 'address'):
            batch_op.drop_column(name)

    with op.batch_alter_table('recipients', schema=None) as batch_op:
        for name in ('special_categories', 'parent_company_country', 'parent_company', 'dpf_scope', 'dpf_checked_on', 'dpf_certified_from', 'dpf_certified_entity'):
            batch_op.drop_column(name)

    with op.batch_alter_table('transfer_assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_assessments_organization_id'))
        batch_op.drop_index('ix_transfer_assessments_recipient')

    op.drop_table('transfer_assessments')
