"""Sign-in links and sessions of the customer portal. Only hashes of secrets are stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from service import clock
from service.customers.models import Customer, CustomerContact
from service.db_types import UTCDateTime
from service.extensions import db


class _OfOneContact:
    """Bound to one contact of one customer of one organization, and gone with any of them."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    # Removing a contact ends its links and sessions with it.
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("customer_contacts.id", ondelete="CASCADE"), index=True
    )

    @declared_attr
    def customer(cls) -> Mapped[Customer]:
        return relationship()

    @declared_attr
    def contact(cls) -> Mapped[CustomerContact]:
        return relationship()


class PortalSignIn(_OfOneContact, db.Model):
    """One requested sign-in link for one contact of one customer.

    The token is minted when the message is built (see service.mail.messages), so it never
    rests in the outbox; the expiry runs from then. A resend mints a new one.
    """

    __tablename__ = "portal_sign_ins"

    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PortalSession(_OfOneContact, db.Model):
    """A signed-in contact: the cookie holds a secret whose SHA-256 is `session_hash`."""

    __tablename__ = "portal_sessions"

    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
