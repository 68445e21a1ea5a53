"""The transactional outbox: what must be sent, written in the same transaction as its cause,
and every delivery attempt's outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service import clock
from service.db_types import JsonDocument, UTCDateTime
from service.extensions import db

OUTBOX_STATUSES = ("pending", "done", "failed")
DELIVERY_STATUSES = ("pending", "sent", "failed", "cancelled")


class OutboxItem(db.Model):
    """One thing to send. An announcement is ONE row whatever the number of customers:
    workers expand it into deliveries in chunks, keeping their place in `cursor`."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'done', 'failed')", name="status"),
        Index("ix_outbox_due", "status", "available_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    topic: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JsonDocument, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Whoever holds an unexpired lease is working on the row; an expired lease means its
    # worker died, and the beat sweep hands the row to another.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    cursor: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(db.Model):
    """One message to one address (or endpoint), with a Message-ID that never changes, so a
    resend after a crash is recognisably the same message. One address may serve several
    customers (an accountant for two salons): each customer's notice is its own message."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("outbox_id", "customer_id", "channel", "address"),
        UniqueConstraint("message_id"),
        # `cancelled`: never sent, because the customer's relationship ended first.
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'cancelled')", name="status"),
        CheckConstraint("channel IN ('email', 'webhook')", name="channel"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    notice_id: Mapped[int | None] = mapped_column(
        ForeignKey("notices.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(10), default="email")
    address: Mapped[str] = mapped_column(String(500))
    locale: Mapped[str] = mapped_column(String(5), default="pl")
    message_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_response: Mapped[str | None] = mapped_column(Text)

    outbox: Mapped[OutboxItem] = relationship()
