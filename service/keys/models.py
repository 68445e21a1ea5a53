"""API keys: high-entropy secrets stored as SHA-256 and found by a public prefix."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service import clock
from service.db_types import UTCDateTime
from service.extensions import db

ROLES = ("admin", "legal", "customer")


class ApiKey(db.Model):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'legal', 'customer')", name="role"),
        # admin is deployment-wide, legal belongs to one organization, customer to one customer.
        CheckConstraint(
            "(role = 'admin' AND organization_id IS NULL AND customer_id IS NULL)"
            " OR (role = 'legal' AND organization_id IS NOT NULL AND customer_id IS NULL)"
            " OR (role = 'customer' AND organization_id IS NOT NULL"
            " AND customer_id IS NOT NULL)",
            name="scope",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
