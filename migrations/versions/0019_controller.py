"""the organization as controller: processing activities (Art. 30(1)) and the recipients of
its own data, with their role in that context

Revision ID: 0019_controller
Revises: 0018_spreadsheet
Create Date: 2026-12-05 09:20:00.000000

"""

from alembic import op
import sqlalchemy as sa

from service.db_types import JsonDocument, UTCDateTime


# revision identifiers, used by Alembic.
revision = "0019_controller"
down_revision = "0018_spreadsheet"
branch_labels = None
depends_on = None

RETENTION_FROM = (
    "retention_from IS NULL OR retention_from IN ('end_of_relationship', 'end_of_year',"
    " 'collection', 'last_activity', 'consent_withdrawal')"
)


def _texts(*names):
    return [sa.Column(name, sa.Text(), nullable=False, server_default="") for name in names]


def _lists(*names):
    return [sa.Column(name, JsonDocument, nullable=False) for name in names]


def _stamps():
    return [
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


def upgrade():
    op.create_table(
        "processing_activities",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "organization_id",
            sa.Integer(),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("name_pl", sa.String(length=300), nullable=False, server_default=""),
        sa.Column("name_en", sa.String(length=300), nullable=False, server_default=""),
        *_lists("purposes_pl", "purposes_en", "legal_bases"),
        *_texts("legitimate_interests_pl", "legitimate_interests_en"),
        *_lists(
            "data_subjects_pl",
            "data_subjects_en",
            "data_categories_pl",
            "data_categories_en",
            "special_categories",
        ),
        sa.Column("retention_years", sa.Integer(), nullable=True),
        sa.Column("retention_extra_years", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("retention_from", sa.String(length=30), nullable=True),
        *_texts(
            "retention_basis_pl",
            "retention_basis_en",
            "retention_note_pl",
            "retention_note_en",
        ),
        sa.Column(
            "covers_customer_records", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
        *_texts("security_measures_pl", "security_measures_en"),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        *_stamps(),
        sa.UniqueConstraint("organization_id", "key", name="uq_processing_activities_key"),
        sa.CheckConstraint(RETENTION_FROM, name="retention_from"),
        sa.CheckConstraint(
            "retention_years IS NULL OR retention_years >= 0", name="retention_years"
        ),
        sa.CheckConstraint("retention_extra_years >= 0", name="retention_extra_years"),
    )
    op.create_index(
        "ix_processing_activities_organization_id", "processing_activities", ["organization_id"]
    )
    op.create_table(
        "controller_recipients",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "organization_id",
            sa.Integer(),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_entity", sa.String(length=300), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False, server_default=""),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("role", sa.String(length=30), nullable=False),
        *_texts("purpose_pl", "purpose_en"),
        *_lists("data_categories_pl", "data_categories_en", "locations"),
        sa.Column(
            "subprocessor_id",
            sa.Integer(),
            sa.ForeignKey("recipients.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("in_product", sa.Boolean(), nullable=False, server_default=sa.false()),
        *_texts("customer_data_statement_pl", "customer_data_statement_en"),
        sa.Column("customer_data_statement_on", sa.Date(), nullable=True),
        sa.Column("joint_arrangement_on", sa.Date(), nullable=True),
        sa.Column("joint_arrangement_reference", sa.String(length=300), nullable=True),
        *_texts("joint_arrangement_essence_pl", "joint_arrangement_essence_en"),
        sa.Column("dpa_signed_on", sa.Date(), nullable=True),
        sa.Column("tia_completed_on", sa.Date(), nullable=True),
        sa.Column("dpf_certified_entity", sa.String(length=300), nullable=True),
        sa.Column("dpf_certified_from", sa.Date(), nullable=True),
        sa.Column("dpf_certified_until", sa.Date(), nullable=True),
        sa.Column("dpf_checked_on", sa.Date(), nullable=True),
        sa.Column("dpf_scope", sa.String(length=10), nullable=True),
        sa.Column("parent_company", sa.String(length=300), nullable=True),
        sa.Column("parent_company_country", sa.String(length=2), nullable=True),
        sa.Column("used_from", sa.Date(), nullable=True),
        sa.Column("used_until", sa.Date(), nullable=True),
        *_texts("notes"),
        *_stamps(),
        sa.CheckConstraint(
            "role IN ('processor', 'independent_controller', 'joint_controller')", name="role"
        ),
    )
    op.create_index(
        "ix_controller_recipients_organization_id", "controller_recipients", ["organization_id"]
    )
    op.create_index(
        "ix_controller_recipients_subprocessor_id", "controller_recipients", ["subprocessor_id"]
    )
    op.create_index(
        "ix_controller_recipients_organization_name",
        "controller_recipients",
        ["organization_id", "name"],
    )
    op.create_index(
        "ix_controller_recipients_external_id",
        "controller_recipients",
        ["organization_id", "external_id"],
        unique=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
        sqlite_where=sa.text("external_id IS NOT NULL"),
    )
    op.create_table(
        "processing_activity_recipients",
        sa.Column(
            "activity_id",
            sa.Integer(),
            sa.ForeignKey("processing_activities.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "recipient_id",
            sa.Integer(),
            sa.ForeignKey("controller_recipients.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )


def downgrade():
    op.drop_table("processing_activity_recipients")
    op.drop_table("controller_recipients")
    op.drop_table("processing_activities")
