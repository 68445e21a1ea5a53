"""Published versions of an organization's data-processing agreement."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db_types import UTCDateTime, utcnow
from service.extensions import db


class AgreementVersion(db.Model):
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
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
