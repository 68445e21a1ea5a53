"""Customers (the controllers using the SaaS), their contacts and agreements."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service import clock
from service.agreements.models import AgreementVersion
from service.db_types import JsonDocument, UTCDateTime
from service.extensions import db
from service.organizations.models import Service

LOCALES = ("pl", "en")
AUTHORISATIONS = ("general", "specific")
OBJECTION_REMEDIES = ("exclude", "terminate")

customer_services = Table(
    "customer_services",
    db.metadata,
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)


class Customer(db.Model):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_ref"),
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="dates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    external_ref: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    # The controller as its record of processing names it (GDPR Art. 30(2)(a)).
    address: Mapped[str] = mapped_column(String(500), default="")
    country: Mapped[str | None] = mapped_column(String(2))
    dpo_name: Mapped[str | None] = mapped_column(String(200))
    dpo_email: Mapped[str | None] = mapped_column(String(320))
    representative_name: Mapped[str | None] = mapped_column(String(200))
    representative_email: Mapped[str | None] = mapped_column(String(320))
    # Special categories (Art. 9(1)) the customer entrusts, e.g. a clinic's "health".
    special_categories: Mapped[list] = mapped_column(JsonDocument, default=list)
    # Set while an objection, a claim or a dispute needs the records kept: no purge.
    legal_hold_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    legal_hold_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    services: Mapped[list[Service]] = relationship(
        secondary=customer_services, order_by="Service.slug"
    )
    contacts: Mapped[list[CustomerContact]] = relationship(
        back_populates="customer",
        order_by="CustomerContact.id",
        cascade="all, delete-orphan",
    )
    agreement: Mapped[CustomerAgreement | None] = relationship(
        back_populates="customer", cascade="all, delete-orphan", uselist=False
    )


class CustomerContact(db.Model):
    __tablename__ = "customer_contacts"
    __table_args__ = (
        UniqueConstraint("customer_id", "email"),
        CheckConstraint("locale IN ('pl', 'en')", name="locale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str] = mapped_column(String(5), default="pl")

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class CustomerAgreement(db.Model):
    """The agreement version a customer accepted and the terms it negotiated.

    NULL overrides fall back to the version's defaults, then the organization's.
    """

    __tablename__ = "customer_agreements"
    __table_args__ = (
        CheckConstraint(
            "authorisation IS NULL OR authorisation IN ('general', 'specific')",
            name="authorisation",
        ),
        CheckConstraint(
            "objection_remedy IS NULL OR objection_remedy IN ('exclude', 'terminate')",
            name="objection_remedy",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), unique=True
    )
    agreement_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreement_versions.id", ondelete="RESTRICT"), index=True
    )
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The acceptance in force; its history is in agreement_acceptances.
    acceptance_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreement_acceptances.id", ondelete="SET NULL")
    )
    evidence: Mapped[dict] = mapped_column(JsonDocument, default=dict)
    authorisation: Mapped[str | None] = mapped_column(String(10))
    # Indexed, as is the emergency minimum, so that an announcement finds the customers
    # owed more notice than it leaves without reading every agreement
    # (service.notices.services.check_notice_period).
    notice_days: Mapped[int | None] = mapped_column(index=True)
    objection_days: Mapped[int | None]
    objection_remedy: Mapped[str | None] = mapped_column(String(10))
    # Negotiated like the rest (NULL: the version's clause applies).
    rejects_unjustified_objections: Mapped[bool | None]
    emergency_clause: Mapped[bool | None]
    emergency_notice_days: Mapped[int | None] = mapped_column(index=True)
    post_hoc_objection_days: Mapped[int | None]

    customer: Mapped[Customer] = relationship(back_populates="agreement")
    version: Mapped[AgreementVersion | None] = relationship()
