"""Customers' webhook endpoints: a second channel for the same notices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service import clock
from service.db_types import UTCDateTime
from service.extensions import db

WEBHOOK_STATUSES = ("active", "disabled")


class Webhook(db.Model):
    """An HTTPS endpoint of one customer. Its signing secret is kept encrypted (Fernet, key
    derived from SECRET_KEY) and shown once, when the webhook is registered."""

    __tablename__ = "webhooks"
    __table_args__ = (
        UniqueConstraint("customer_id", "url"),
        CheckConstraint("status IN ('active', 'disabled')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    # Indexed by the unique (customer_id, url) constraint, whose first column it is.
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="active")
    # Consecutive failed attempts; a success resets it, WEBHOOK_MAX_FAILURES disables.
    failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
