"""Subscriptions of the public to an organization's list changes, and the suppression list
that is all an erasure leaves behind."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service import clock
from service.db_types import UTCDateTime
from service.extensions import db

SUBSCRIPTION_STATUSES = ("pending", "confirmed", "unsubscribed")


class Subscription(db.Model):
    """An address that asked to hear about changes; it hears only once confirmed."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("organization_id", "email_hash"),
        CheckConstraint("status IN ('pending', 'confirmed', 'unsubscribed')", name="status"),
        CheckConstraint("locale IN ('pl', 'en')", name="locale"),
        Index("ix_subscriptions_audience", "organization_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    # SHA-256 of the lower-cased address: finds the row (and a suppression) by address.
    email_hash: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(5), default="pl")
    status: Mapped[str] = mapped_column(String(12), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # When the last confirmation was queued: resends are rate-limited by it.
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Suppression(db.Model):
    """An address that must never be written to again: the hash only, never the address."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("organization_id", "email_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    email_hash: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(20), default="erasure")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
