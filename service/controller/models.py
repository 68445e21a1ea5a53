"""The organization as controller of its own processing (GDPR Art. 30(1), 13, 26).

Beside the register of customers' data (the organization as processor, `service.recipients`),
an organization keeps its own processing activities (its website visitors, account holders,
newsletter readers, contracts) and the recipients of that data: its processors (Art. 28(1)),
independent controllers and joint controllers (Art. 26).

One vendor may serve both contexts (Google, Hotjar): the customers'-data context is a
`Recipient` with its announced changes and notices; the organization's own context is a
`ControllerRecipient`, optionally linked to that `Recipient` (`subprocessor_id`). A change on
this side never notifies customers: it is not their data (Art. 28(2) concerns the processor
engaging another processor for the controller's data only).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service import clock
from service.db_types import JsonDocument, UTCDateTime
from service.extensions import db

# A recipient's role toward the organization as controller of its own data.
CONTROLLER_SIDE_ROLES = ("processor", "independent_controller", "joint_controller")
# The lawful bases of Art. 6(1) and the Art. 9(2) conditions for special categories, as the
# GDPR numbers them ("6(1)(b)" is performance of a contract).
ART6_BASES = tuple(f"6(1)({letter})" for letter in "abcdef")
ART9_CONDITIONS = tuple(f"9(2)({letter})" for letter in "abcdefghij")
LEGAL_BASES = ART6_BASES + ART9_CONDITIONS
# Where a retention period starts. The first two match the registry's own purge of ended
# customer relationships (Organization.retention_from); the rest describe other activities.
RETENTION_FROM = (
    "end_of_relationship",  # the last day of the contract or relationship
    "end_of_year",  # 31 December of the year in which the contract or relationship ended
    "collection",  # the day the data was collected
    "last_activity",  # the data subject's last visit, sign-in or message
    "consent_withdrawal",  # kept until consent is withdrawn (Art. 7(3)), then deleted
)


activity_recipients = Table(
    "processing_activity_recipients",
    db.metadata,
    Column(
        "activity_id",
        ForeignKey("processing_activities.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "recipient_id",
        ForeignKey("controller_recipients.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)


class ProcessingActivity(db.Model):
    """One processing activity of the organization as controller: one entry of its
    Art. 30(1) record."""

    __tablename__ = "processing_activities"
    __table_args__ = (
        UniqueConstraint("organization_id", "key", name="uq_processing_activities_key"),
        CheckConstraint(
            "retention_from IS NULL OR retention_from IN ('end_of_relationship', 'end_of_year',"
            " 'collection', 'last_activity', 'consent_withdrawal')",
            name="retention_from",
        ),
        CheckConstraint("retention_years IS NULL OR retention_years >= 0", name="retention_years"),
        CheckConstraint("retention_extra_years >= 0", name="retention_extra_years"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    # A short stable name for imports and links ("website-analytics").
    key: Mapped[str] = mapped_column(String(100))
    name_pl: Mapped[str] = mapped_column(String(300), default="")
    name_en: Mapped[str] = mapped_column(String(300), default="")
    # Art. 30(1)(b) purposes, Art. 13(1)(c) with their legal bases (LEGAL_BASES).
    purposes_pl: Mapped[list] = mapped_column(JsonDocument, default=list)
    purposes_en: Mapped[list] = mapped_column(JsonDocument, default=list)
    legal_bases: Mapped[list] = mapped_column(JsonDocument, default=list)
    # Art. 13(1)(d): the legitimate interests pursued, where 6(1)(f) is a basis.
    legitimate_interests_pl: Mapped[str] = mapped_column(Text, default="")
    legitimate_interests_en: Mapped[str] = mapped_column(Text, default="")
    # Art. 30(1)(c): categories of data subjects and of personal data.
    data_subjects_pl: Mapped[list] = mapped_column(JsonDocument, default=list)
    data_subjects_en: Mapped[list] = mapped_column(JsonDocument, default=list)
    data_categories_pl: Mapped[list] = mapped_column(JsonDocument, default=list)
    data_categories_en: Mapped[list] = mapped_column(JsonDocument, default=list)
    special_categories: Mapped[list] = mapped_column(JsonDocument, default=list)
    # Art. 30(1)(f): the time limit for erasure. `retention_years` + `retention_extra_years`
    # from `retention_from` ("6 years + 1 from the end of the year in which the contract
    # ended" is 6, 1, end_of_year); its legal basis in words; a note for what the numbers
    # cannot say ("until consent is withdrawn"). No years and no note: no rule.
    retention_years: Mapped[int | None]
    retention_extra_years: Mapped[int] = mapped_column(default=0)
    retention_from: Mapped[str | None] = mapped_column(String(30))
    retention_basis_pl: Mapped[str] = mapped_column(Text, default="")
    retention_basis_en: Mapped[str] = mapped_column(Text, default="")
    retention_note_pl: Mapped[str] = mapped_column(Text, default="")
    retention_note_en: Mapped[str] = mapped_column(Text, default="")
    # This activity covers the registry's own records of customers (their contacts, notices,
    # proof of delivery, objections): its rule drives the purge of ended relationships.
    covers_customer_records: Mapped[bool] = mapped_column(Boolean, default=False)
    # Art. 30(1)(g): the technical and organisational measures; empty means the
    # organization's summary (Organization.security_measures).
    security_measures_pl: Mapped[str] = mapped_column(Text, default="")
    security_measures_en: Mapped[str] = mapped_column(Text, default="")
    started_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    recipients: Mapped[list[ControllerRecipient]] = relationship(
        secondary=activity_recipients,
        back_populates="activities",
        order_by="ControllerRecipient.name",
    )


class ControllerRecipient(db.Model):
    """A recipient of the organization's own data, in its role toward the organization as
    controller. Its processing locations have the shape of `recipients.location_dict` and
    are judged by the same compliance rules as a subprocessor's."""

    __tablename__ = "controller_recipients"
    __table_args__ = (
        CheckConstraint(
            "role IN ('processor', 'independent_controller', 'joint_controller')", name="role"
        ),
        Index(
            "ix_controller_recipients_external_id",
            "organization_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
            sqlite_where=text("external_id IS NOT NULL"),
        ),
        Index("ix_controller_recipients_organization_name", "organization_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    external_id: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    legal_entity: Mapped[str] = mapped_column(String(300))
    address: Mapped[str] = mapped_column(String(500), default="")
    country: Mapped[str] = mapped_column(String(2))
    website: Mapped[str | None] = mapped_column(String(500))
    role: Mapped[str] = mapped_column(String(30))
    purpose_pl: Mapped[str] = mapped_column(Text, default="")
    purpose_en: Mapped[str] = mapped_column(Text, default="")
    data_categories_pl: Mapped[list] = mapped_column(JsonDocument, default=list)
    data_categories_en: Mapped[list] = mapped_column(JsonDocument, default=list)
    # Where it processes the data, each with its transfer mechanism: dicts of the shape of
    # `service.recipients.services.location_dict` (validated by the same schema).
    locations: Mapped[list] = mapped_column(JsonDocument, default=list)
    # The same vendor in the customers'-data context, where it is registered there.
    subprocessor_id: Mapped[int | None] = mapped_column(
        ForeignKey("recipients.id", ondelete="SET NULL"), index=True
    )
    # "Present in the service used by customers" (a script in the booking widget): it may
    # reach customers' data, so it must be registered as a subprocessor (and announced) or
    # documented as not touching customers' data (the statement and its date).
    in_product: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_data_statement_pl: Mapped[str] = mapped_column(Text, default="")
    customer_data_statement_en: Mapped[str] = mapped_column(Text, default="")
    customer_data_statement_on: Mapped[date | None] = mapped_column(Date)
    # Art. 26: the arrangement between joint controllers, and its essence, which must be
    # made available to the data subject (Art. 26(2)).
    joint_arrangement_on: Mapped[date | None] = mapped_column(Date)
    joint_arrangement_reference: Mapped[str | None] = mapped_column(String(300))
    joint_arrangement_essence_pl: Mapped[str] = mapped_column(Text, default="")
    joint_arrangement_essence_en: Mapped[str] = mapped_column(Text, default="")
    # Art. 28(3): the contract with a processor.
    dpa_signed_on: Mapped[date | None] = mapped_column(Date)
    # Due diligence the transfer rules read (see `rules.Vendor`).
    tia_completed_on: Mapped[date | None] = mapped_column(Date)
    dpf_certified_entity: Mapped[str | None] = mapped_column(String(300))
    dpf_certified_from: Mapped[date | None] = mapped_column(Date)
    dpf_certified_until: Mapped[date | None] = mapped_column(Date)
    dpf_checked_on: Mapped[date | None] = mapped_column(Date)
    dpf_scope: Mapped[str | None] = mapped_column(String(10))
    parent_company: Mapped[str | None] = mapped_column(String(300))
    parent_company_country: Mapped[str | None] = mapped_column(String(2))
    # When the organization started and stopped using it (NULL: from the beginning / still).
    used_from: Mapped[date | None] = mapped_column(Date)
    used_until: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    activities: Mapped[list[ProcessingActivity]] = relationship(
        secondary=activity_recipients,
        back_populates="recipients",
        order_by="ProcessingActivity.key",
    )
