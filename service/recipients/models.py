"""Recipients of personal data (subprocessors and controllers) and where they process it.

A recipient's *material* data (role, purpose, categories, scope, locations, country of
establishment) is kept in dated revisions: an `update` change adds a revision valid from its
effective date. Together with the listing window on the recipient itself, a point-in-time
list is a plain indexed query and needs no job to flip anything at midnight.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service import clock
from service.db_types import JsonDocument, UTCDateTime
from service.extensions import db
from service.organizations.models import Organization, Service

ROLES = ("subprocessor", "independent_controller", "joint_controller")
# The SCC sets the Commission adopted (service/reference/data/scc.json).
SCC_SETS = ("2001/497", "2002/16", "2004/915", "2010/87", "2021/914")
SCC_2021 = "2021/914"
DPF_SCOPES = ("non_hr", "hr", "both")
# Art. 9(1) GDPR, in the order of the article.
SPECIAL_CATEGORIES = (
    "racial_or_ethnic_origin",
    "political_opinions",
    "religious_or_philosophical_beliefs",
    "trade_union_membership",
    "genetic",
    "biometric",
    "health",
    "sex_life_or_sexual_orientation",
)
# What a transfer impact assessment concluded (EDPB Recommendations 01/2020, step 3-4).
TIA_OUTCOMES = ("no_measures_needed", "measures_effective", "transfer_not_permitted")
MECHANISMS = (
    "none",
    "adequacy",
    "dpf",
    "scc",
    "bcr",
    "code_of_conduct",
    "certification",
    "ad_hoc_clauses",
    "derogation",
)
# Where a location lies when a list names no country: inside the EU or the EEA (no country
# invented), or not stated at all (compliance reports it as a gap; no "no transfer" claimed).
REGIONS = ("EU", "EEA", "not_stated")
# Fields that change only through an announced `update` once a vendor is public.
MATERIAL_FIELDS = (
    "country",
    "role",
    "purpose_pl",
    "purpose_en",
    "data_categories_pl",
    "data_categories_en",
    "data_subject_categories_pl",
    "data_subject_categories_en",
    "services",
    "locations",
    "parent_id",
)

revision_services = Table(
    "recipient_revision_services",
    db.metadata,
    Column(
        "revision_id",
        ForeignKey("recipient_revisions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)


class Recipient(db.Model):
    __tablename__ = "recipients"
    __table_args__ = (
        Index("ix_recipients_listing", "organization_id", "listed_from", "listed_until"),
        # A page of the list in its order (name, id) without sorting every vendor.
        Index("ix_recipients_organization_name", "organization_id", "name", "id"),
        Index(
            "ix_recipients_external_id",
            "organization_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
            sqlite_where=text("external_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    # The vendor's id in the organization's own spreadsheet or tool: an import matches by it.
    external_id: Mapped[str | None] = mapped_column(String(200))
    legal_entity: Mapped[str] = mapped_column(String(300))
    address: Mapped[str] = mapped_column(String(500), default="")
    website: Mapped[str | None] = mapped_column(String(500))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("recipients.id", ondelete="RESTRICT"), index=True
    )
    # The window in which the recipient is on the organization's list. Set by announced
    # changes (or, for vendors already in use, by import), never by a clock.
    # This is the current (latest) listing period; a vendor that left and came back keeps
    # its earlier periods in `RecipientListingPeriod` (`earlier_periods`).
    listed_from: Mapped[date | None] = mapped_column(Date)
    listed_until: Mapped[date | None] = mapped_column(Date)
    # Due diligence.
    sub_dpa_signed_on: Mapped[date | None] = mapped_column(Date)
    tia_completed_on: Mapped[date | None] = mapped_column(Date)
    tia_reference: Mapped[str | None] = mapped_column(String(300))
    dpf_certified_until: Mapped[date | None] = mapped_column(Date)
    # The DPF certification as the Data Privacy Framework List shows it (Decision 2023/1795,
    # Annex I, Section I.3): the certified US organisation, since when, when the List was
    # last checked, and whether it covers HR data, non-HR data or both.
    dpf_certified_entity: Mapped[str | None] = mapped_column(String(300))
    dpf_certified_from: Mapped[date | None] = mapped_column(Date)
    dpf_checked_on: Mapped[date | None] = mapped_column(Date)
    dpf_scope: Mapped[str | None] = mapped_column(String(10))
    # The group the vendor belongs to: an EU entity of a non-EU group may be reached by
    # the law of its parent's country (a residency promise must say so).
    parent_company: Mapped[str | None] = mapped_column(String(300))
    parent_company_country: Mapped[str | None] = mapped_column(String(2))
    # Special categories of data (GDPR Art. 9(1)) the vendor receives, e.g. "health".
    special_categories: Mapped[list] = mapped_column(JsonDocument, default=list)
    certifications: Mapped[list] = mapped_column(JsonDocument, default=list)
    next_review_on: Mapped[date | None] = mapped_column(Date)
    due_diligence_notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    parent: Mapped[Recipient | None] = relationship(remote_side=[id])
    organization: Mapped[Organization] = relationship()
    revisions: Mapped[list[RecipientRevision]] = relationship(
        back_populates="recipient",
        order_by="RecipientRevision.id",
        cascade="all, delete-orphan",
    )
    earlier_periods: Mapped[list[RecipientListingPeriod]] = relationship(
        back_populates="recipient",
        order_by="RecipientListingPeriod.listed_from",
        cascade="all, delete-orphan",
    )
    assessments: Mapped[list[TransferAssessment]] = relationship(
        back_populates="recipient",
        order_by=lambda: (TransferAssessment.assessed_on, TransferAssessment.id),
        cascade="all, delete-orphan",
    )


class RecipientListingPeriod(db.Model):
    """An earlier, closed period in which a vendor was on the list: it left and came back.

    Only returns write rows here (the period before the return moves in from the vendor's
    own window), so the usual vendor with one period costs the as-of query nothing extra.
    """

    __tablename__ = "recipient_listing_periods"
    __table_args__ = (
        CheckConstraint("listed_from < listed_until", name="period"),
        Index("ix_recipient_listing_periods_window", "recipient_id", "listed_from", "listed_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"))
    listed_from: Mapped[date] = mapped_column(Date)
    listed_until: Mapped[date] = mapped_column(Date)

    recipient: Mapped[Recipient] = relationship(back_populates="earlier_periods")


class RecipientRevision(db.Model):
    __tablename__ = "recipient_revisions"
    __table_args__ = (
        CheckConstraint(
            "role IN ('subprocessor', 'independent_controller', 'joint_controller')",
            name="role",
        ),
        Index("ix_recipient_revisions_validity", "recipient_id", "valid_from", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"))
    # NULL means unbounded: the first revision holds from the beginning of time.
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    # The vendor's name and legal entity while this revision held, where a dated rename
    # set them; NULL means the vendor's current `Recipient.name` / `legal_entity`.
    name: Mapped[str | None] = mapped_column(String(200))
    legal_entity: Mapped[str | None] = mapped_column(String(300))
    country: Mapped[str] = mapped_column(String(2))
    role: Mapped[str] = mapped_column(String(30))
    purpose_pl: Mapped[str] = mapped_column(Text)
    purpose_en: Mapped[str] = mapped_column(Text)
    data_categories_pl: Mapped[list] = mapped_column(JsonDocument, default=list)
    data_categories_en: Mapped[list] = mapped_column(JsonDocument, default=list)
    # Whose data it is, in each language of the outputs (an output in one language falls
    # back to the other only when its own is empty: service.i18n.in_language).
    data_subject_categories_pl: Mapped[list] = mapped_column(JsonDocument, default=list)
    data_subject_categories_en: Mapped[list] = mapped_column(JsonDocument, default=list)

    recipient: Mapped[Recipient] = relationship(back_populates="revisions")
    services: Mapped[list[Service]] = relationship(
        secondary=revision_services, order_by="Service.slug"
    )
    locations: Mapped[list[ProcessingLocation]] = relationship(
        back_populates="revision",
        order_by="ProcessingLocation.id",
        cascade="all, delete-orphan",
    )


class ProcessingLocation(db.Model):
    __tablename__ = "processing_locations"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN country IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN international_organisation IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN region IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_place",
        ),
        CheckConstraint("region IN ('EU', 'EEA', 'not_stated')", name="region"),
        CheckConstraint(
            "mechanism IN ('none', 'adequacy', 'dpf', 'scc', 'bcr', 'code_of_conduct',"
            " 'certification', 'ad_hoc_clauses', 'derogation')",
            name="mechanism",
        ),
        CheckConstraint("mechanism <> 'scc' OR scc_set IS NOT NULL", name="scc_set"),
        # Modules exist only in the 2021/914 clauses, and there one is always chosen.
        CheckConstraint(
            "mechanism <> 'scc' OR ((scc_set = '2021/914') = (scc_module IS NOT NULL))",
            name="scc_module",
        ),
        CheckConstraint(
            "mechanism <> 'derogation' OR derogation_ground IS NOT NULL",
            name="derogation_ground",
        ),
        Index("ix_processing_locations_country", "country", "mechanism"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("recipient_revisions.id", ondelete="CASCADE"), index=True
    )
    country: Mapped[str | None] = mapped_column(String(2))
    international_organisation: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(10))
    activity_pl: Mapped[str] = mapped_column(String(300), default="")
    activity_en: Mapped[str] = mapped_column(String(300), default="")
    mechanism: Mapped[str] = mapped_column(String(30))
    # Standard Contractual Clauses: the set signed (SCC_SETS), its signing date and, for
    # the 2021/914 clauses only, the module and the Clause 9 option.
    scc_set: Mapped[str | None] = mapped_column(String(10))
    scc_module: Mapped[int | None]
    scc_clause9_option: Mapped[str | None] = mapped_column(String(20))
    scc_clause9_notice_days: Mapped[int | None]
    scc_signed_on: Mapped[date | None] = mapped_column(Date)
    # Other instruments: the reference that identifies each.
    adequacy_reference: Mapped[str | None] = mapped_column(String(100))
    bcr_reference: Mapped[str | None] = mapped_column(String(300))
    code_of_conduct_name: Mapped[str | None] = mapped_column(String(300))
    certification_name: Mapped[str | None] = mapped_column(String(300))
    ad_hoc_authorisation: Mapped[str | None] = mapped_column(String(300))
    derogation_ground: Mapped[str | None] = mapped_column(String(40))

    revision: Mapped[RecipientRevision] = relationship(back_populates="locations")


class TransferAssessment(db.Model):
    """A transfer impact assessment of one vendor's transfer to one place (EDPB
    Recommendations 01/2020; Clause 14 of the 2021/914 clauses). It keeps the location as it
    was assessed: when an `update` changes that location, the assessment no longer fits it
    and the compliance report asks for a review."""

    __tablename__ = "transfer_assessments"
    __table_args__ = (
        CheckConstraint(
            "(country IS NULL) <> (international_organisation IS NULL)", name="one_place"
        ),
        CheckConstraint(
            "outcome IN ('no_measures_needed', 'measures_effective', 'transfer_not_permitted')",
            name="outcome",
        ),
        Index("ix_transfer_assessments_recipient", "recipient_id", "assessed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id", ondelete="CASCADE"))
    country: Mapped[str | None] = mapped_column(String(2))
    international_organisation: Mapped[str | None] = mapped_column(String(100))
    assessed_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(30))
    supplementary_measures: Mapped[list] = mapped_column(JsonDocument, default=list)
    review_on: Mapped[date | None] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(300))
    # The processing location as assessed (its mechanism and details).
    location: Mapped[dict] = mapped_column(JsonDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    recipient: Mapped[Recipient] = relationship(back_populates="assessments")
