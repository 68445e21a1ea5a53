"""Versions of an organization's data-processing agreement, their acceptance, and the
requests to accept a new version that are still open."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service import clock
from service.db_types import UTCDateTime
from service.extensions import db

CHANNELS = ("api", "link", "portal", "import")


class AgreementVersion(db.Model):
    """One language of one version. The rows of a version share its label, dates and
    defaults; `published_at` is NULL while the version is a draft, and once set the row
    never changes again (corrections are a new version)."""

    __tablename__ = "agreement_versions"
    __table_args__ = (
        UniqueConstraint("organization_id", "version", "language"),
        CheckConstraint("authorisation IN ('general', 'specific')", name="authorisation"),
        CheckConstraint("objection_remedy IN ('exclude', 'terminate')", name="objection_remedy"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(5))
    text: Mapped[str | None] = mapped_column(Text)
    document_ref: Mapped[str | None] = mapped_column(String(500))
    text_sha256: Mapped[str] = mapped_column(String(64))
    effective_on: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text, default="")
    authorisation: Mapped[str] = mapped_column(String(10), default="general")
    notice_days: Mapped[int] = mapped_column(default=30)
    objection_days: Mapped[int] = mapped_column(default=14)
    objection_remedy: Mapped[str] = mapped_column(String(10), default="exclude")
    # The clauses issue 16 asks of a version (see docs/notices.md): whether legal staff may
    # reject an objection as unjustified (Decision 2021/915 clause 7.7(a) leaves the
    # objection's weight to the contract), and an emergency-replacement clause, without which
    # no change may be urgent for the customer: its own minimum notice and the objection
    # window that runs from delivery even after the change took effect (post hoc).
    rejects_unjustified_objections: Mapped[bool] = mapped_column(default=False)
    emergency_clause: Mapped[bool] = mapped_column(default=False)
    emergency_notice_days: Mapped[int] = mapped_column(default=0)
    post_hoc_objection_days: Mapped[int] = mapped_column(default=14)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AgreementAcceptance(db.Model):
    """Append-only: one customer's acceptance of one version, with the evidence of it."""

    __tablename__ = "agreement_acceptances"
    __table_args__ = (
        # One acceptance per customer and version label, whatever the language.
        UniqueConstraint("customer_id", "version"),
        CheckConstraint("channel IN ('api', 'link', 'portal', 'import')", name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    agreement_version_id: Mapped[int] = mapped_column(
        ForeignKey("agreement_versions.id", ondelete="RESTRICT"), index=True
    )
    version: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(5))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    accepted_by_name: Mapped[str] = mapped_column(String(200))
    accepted_by_email: Mapped[str] = mapped_column(String(320))
    # The hash of the text as it was shown and accepted, kept even if the row it names
    # were ever purged.
    text_sha256: Mapped[str] = mapped_column(String(64))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    channel: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(200))
    # A signed link's acceptance: the contact address the link was sent to and the
    # Message-ID of that e-mail, next to the name and e-mail the person typed.
    link_address: Mapped[str | None] = mapped_column(String(320))
    link_message_id: Mapped[str | None] = mapped_column(String(200))

    agreement_version: Mapped[AgreementVersion] = relationship()


class AgreementRequest(db.Model):
    """A customer asked to accept a published version: notified once, reminded until it
    accepts, leaves, or a later version supersedes the request."""

    __tablename__ = "agreement_requests"
    __table_args__ = (
        UniqueConstraint("customer_id", "version"),
        Index("ix_agreement_requests_open", "organization_id", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[str] = mapped_column(String(40))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # The outbox rows that carry the first notice and the latest reminder: their
    # expanders pick the requests that name them.
    notice_outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox.id", ondelete="SET NULL"), index=True
    )
    reminder_outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox.id", ondelete="SET NULL"), index=True
    )
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminders: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_because: Mapped[str | None] = mapped_column(String(20))
