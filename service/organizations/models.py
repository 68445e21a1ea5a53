"""Organizations (the processors, our tenants) and the services they offer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service import clock
from service.db_types import UTCDateTime
from service.extensions import db

RESIDENCY_POLICIES = ("none", "eu_only", "eea_only", "eea_or_adequate")
# Where the retention period of an ended customer relationship starts: its last day, or the
# last day of the calendar year in which it ended (as Polish limitation periods run).
RETENTION_FROM = ("end_of_relationship", "end_of_year")


class Organization(db.Model):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint(
            "residency_policy IN ('none', 'eu_only', 'eea_only', 'eea_or_adequate')",
            name="residency_policy",
        ),
        CheckConstraint("default_notice_days >= 0", name="notice_days"),
        CheckConstraint("default_objection_days >= 0", name="objection_days"),
        CheckConstraint(
            "retention_from IN ('end_of_relationship', 'end_of_year')", name="retention_from"
        ),
        CheckConstraint("retention_years IS NULL OR retention_years >= 0", name="retention_years"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    legal_name: Mapped[str] = mapped_column(String(300))
    # The brand customers know ("Bookero"), beside the legal name that contracts carry.
    display_name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500), default="")
    country: Mapped[str] = mapped_column(String(2))
    contact_email: Mapped[str] = mapped_column(String(320))
    legal_contact_email: Mapped[str | None] = mapped_column(String(320))
    dpo_name: Mapped[str | None] = mapped_column(String(200))
    dpo_email: Mapped[str | None] = mapped_column(String(320))
    representative_name: Mapped[str | None] = mapped_column(String(200))
    representative_email: Mapped[str | None] = mapped_column(String(320))
    security_measures: Mapped[str] = mapped_column(Text, default="")
    retention_policy: Mapped[str] = mapped_column(Text, default="")
    # Records of an ended customer relationship (and its proof of notice) are kept this many
    # years from `retention_from`, then purged; NULL keeps them until a rule is set.
    retention_years: Mapped[int | None]
    retention_from: Mapped[str] = mapped_column(String(30), default="end_of_relationship")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Warsaw")
    default_notice_days: Mapped[int] = mapped_column(default=30)
    default_objection_days: Mapped[int] = mapped_column(default=14)
    residency_policy: Mapped[str] = mapped_column(String(20), default="none")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    services: Mapped[list[Service]] = relationship(
        back_populates="organization", order_by="Service.slug"
    )

    @property
    def brand(self) -> str:
        """The name customers know the organization by."""
        return self.display_name or self.legal_name

    @property
    def known_as(self) -> str:
        """'Bookero (SAFI STUDIO Paweł Nowakowski)': the brand, and who the party is."""
        if self.display_name and self.display_name != self.legal_name:
            return f"{self.display_name} ({self.legal_name})"
        return self.legal_name


class Service(db.Model):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("organization_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(String(63))
    name_pl: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))

    organization: Mapped[Organization] = relationship(back_populates="services")
