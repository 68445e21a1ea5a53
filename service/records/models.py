"""Export jobs of the Art. 30(2) record: built by a worker into a file, fetched by a signed
link, deleted after a retention period."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from service import clock
from service.db_types import UTCDateTime
from service.extensions import db

EXPORT_FORMATS = ("json", "csv", "xlsx")
EXPORT_STATUSES = ("queued", "running", "done", "failed")
# Queued and running jobs count against the organization's cap of concurrent exports.
ACTIVE_STATUSES = ("queued", "running")


class RecordExport(db.Model):
    """One export of the record: who asked for what, how far the worker got, the file."""

    __tablename__ = "record_exports"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        CheckConstraint("format IN ('json', 'csv', 'xlsx')", name="format"),
        Index("ix_record_exports_active", "organization_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    requested_by: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(10))
    lang: Mapped[str] = mapped_column(String(5))
    as_of: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    # Relative to the instance folder, so the folder can move between hosts.
    file_path: Mapped[str | None] = mapped_column(String(300))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # A running job renews this after each chunk; an expired lease means its worker died.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
