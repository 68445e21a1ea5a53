"""Announced changes of the subprocessor list and the notices they give customers."""

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
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service import clock
from service.customers.models import Customer
from service.db_types import JsonDocument, UTCDateTime
from service.extensions import db
from service.recipients.models import Recipient, RecipientRevision

KINDS = ("add", "replace", "update", "remove")
# Stored status is only announced or withdrawn: "in effect" follows from the date.
STATUSES = ("announced", "withdrawn")
# What a notice asks of its customer: nothing (for information), a chance to object
# (general authorisation, Art. 28(2)), or prior consent (specific authorisation).
NOTICE_RESPONSES = ("none", "objection", "consent")


class Change(db.Model):
    __tablename__ = "changes"
    __table_args__ = (
        CheckConstraint("kind IN ('add', 'replace', 'update', 'remove')", name="kind"),
        CheckConstraint("status IN ('announced', 'withdrawn')", name="status"),
        CheckConstraint("kind <> 'replace' OR replaces_id IS NOT NULL", name="replaces"),
        CheckConstraint("kind <> 'update' OR revision_id IS NOT NULL", name="revision"),
        CheckConstraint("NOT urgent OR urgent_justification IS NOT NULL", name="urgent_justified"),
        Index("ix_changes_org_announced", "organization_id", "announced_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("recipients.id", ondelete="RESTRICT"), index=True
    )
    replaces_id: Mapped[int | None] = mapped_column(
        ForeignKey("recipients.id", ondelete="RESTRICT")
    )
    # For `update`: the revision that takes effect on `effective_on`.
    revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("recipient_revisions.id", ondelete="RESTRICT")
    )
    # For `update`: the material fields before and after, as announced.
    update_diff: Mapped[dict | None] = mapped_column(JsonDocument)
    effective_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    urgent: Mapped[bool] = mapped_column(default=False)
    urgent_justification: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="announced")
    # A change recorded from an imported history (or entered afterwards): it took effect
    # before the registry knew of it, so it gave no notice and was never announced here;
    # `source` names where it came from (a file, a published list version).
    historical: Mapped[bool] = mapped_column(default=False, server_default=false())
    source: Mapped[str | None] = mapped_column(String(300))
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    announced_by: Mapped[str] = mapped_column(String(200))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    # Milestones recorded by the beat jobs; reads never depend on them.
    reminder_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    in_effect_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    recipient: Mapped[Recipient] = relationship(foreign_keys=[recipient_id])
    replaces: Mapped[Recipient | None] = relationship(foreign_keys=[replaces_id])
    revision: Mapped[RecipientRevision | None] = relationship()


class Notice(db.Model):
    """One (change, customer) pair: when notice was delivered and what it asks of the customer.

    Until deliveries are recorded by the mail system, the announcement time stands in for
    the delivery time. The objection deadline is delivery + objection window, capped at the
    start of the effective date (organization's time zone).
    """

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("change_id", "customer_id"),
        CheckConstraint("response IN ('none', 'objection', 'consent')", name="response"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    response: Mapped[str] = mapped_column(String(10))
    notice_days: Mapped[int | None]
    objection_days: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    objection_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An urgent change under the customer's emergency clause: `notice_days` is the clause's
    # minimum notice and `objection_days` its post-hoc window, which runs from delivery
    # past the effective date (not capped at it).
    post_hoc: Mapped[bool] = mapped_column(default=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    change: Mapped[Change] = relationship()
    customer: Mapped[Customer] = relationship()
