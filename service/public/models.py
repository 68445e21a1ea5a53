"""The version of each organization's public list, the key of every cached rendering."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service import clock
from service.db_types import UTCDateTime
from service.extensions import db


class ListVersion(db.Model):
    """Replaced in the same transaction as every write that can change the public list.

    `token` is random, not a counter, so a restored backup or a recreated database can
    never bring back a key that a running process has cached other content under.
    """

    __tablename__ = "public_list_versions"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(default=1)
    token: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Replaced by every write that can change which vendors apply to one of the
    # organization's customers (its services, terms, exclusions, consents): the key of the
    # cached per-customer lists, beside `token` (service/public/cache.py).
    customers_token: Mapped[str | None] = mapped_column(String(32))
