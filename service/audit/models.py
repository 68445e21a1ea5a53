"""Append-only audit trail, hash-chained per organization."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service import clock
from service.db_types import JsonDocument, UTCDateTime
from service.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("organization_id", "seq"),
        Index("ix_audit_events_entity", "organization_id", "entity_type", "entity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key on purpose: the trail must outlive what it describes. 0 is the
    # deployment's own chain (organizations and admin keys).
    organization_id: Mapped[int] = mapped_column()
    seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict | None] = mapped_column(JsonDocument)
    after: Mapped[dict | None] = mapped_column(JsonDocument)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Set only by a retention purge that pseudonymised this event's personal data: `hash`
    # stays the original (the chain still links through it) and `sealed_hash` is the digest
    # of the rewritten content, which an `audit.checkpoint` event lists (see verify_chain).
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sealed_hash: Mapped[str | None] = mapped_column(String(64))


class AuditChain(db.Model):
    """Head of one hash chain: an organization's, or the deployment's (organization_id 0).

    Moving the head takes a row lock, which serialises audit writes per chain so that it
    never forks under concurrent requests.
    """

    __tablename__ = "audit_chains"

    organization_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(default=0)
    head: Mapped[str] = mapped_column(String(64), default="")
