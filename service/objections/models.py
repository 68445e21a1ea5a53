"""Customers' answers to notices (objections, consents, refusals) and what came of them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service import clock
from service.changes.models import Change, Notice
from service.customers.models import Customer
from service.db_types import UTCDateTime
from service.extensions import db
from service.recipients.models import Recipient

KINDS = ("objection", "consent", "refusal")
STATUSES = ("open", "resolved", "recorded", "void")
# Upheld by the customer's remedy (`excluded`, `termination_right`), `rejected` as
# unjustified (only where its agreement allows it), `withdrawn` by the customer, or an
# `alternative` offered and accepted.
RESOLUTIONS = ("excluded", "termination_right", "rejected", "withdrawn", "alternative")


class Objection(db.Model):
    """An objection (general authorisation) or a consent/refusal (specific authorisation).

    Objections start `open` and are `resolved` by legal staff according to the customer's
    remedy; consents and refusals are `recorded` at once. A withdrawn change makes its
    answers `void`.
    """

    __tablename__ = "objections"
    __table_args__ = (
        # One answer per notice: a second one is a conflict, not a new row.
        UniqueConstraint("notice_id"),
        CheckConstraint("kind IN ('objection', 'consent', 'refusal')", name="kind"),
        CheckConstraint("status IN ('open', 'resolved', 'recorded', 'void')", name="status"),
        CheckConstraint(
            "resolution IS NULL OR resolution IN "
            "('excluded', 'termination_right', 'rejected', 'withdrawn', 'alternative')",
            name="resolution",
        ),
        CheckConstraint("channel IN ('api', 'link', 'portal')", name="channel"),
        Index("ix_objections_org_status", "organization_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(10))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    filed_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    # For `termination_right`: the day the customer's agreement ends; until then the
    # vendor does not process its data (an exclusion from the effective date).
    termination_on: Mapped[date | None] = mapped_column(Date)

    notice: Mapped[Notice] = relationship()
    change: Mapped[Change] = relationship()
    customer: Mapped[Customer] = relationship()


class Exclusion(db.Model):
    """A vendor that is not used for one customer, from a date (objection remedy `exclude`)."""

    __tablename__ = "customer_exclusions"
    __table_args__ = (UniqueConstraint("customer_id", "recipient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("recipients.id", ondelete="CASCADE"), index=True
    )
    since: Mapped[date] = mapped_column(Date)
    objection_id: Mapped[int | None] = mapped_column(
        ForeignKey("objections.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    recipient: Mapped[Recipient] = relationship()
