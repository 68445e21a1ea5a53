"""Export jobs of the record (Art. 30(2)): asked for through the API, built by a worker in
chunks of customers into a file under the instance folder, fetched through a signed link
that expires, deleted after a retention period.

The services never commit: the view commits the request, the task commits after each chunk
(`build` yields between chunks), the beat task after the sweep.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, or_, select, update

from service import clock
from service.audit import services as audit
from service.config import signing_keys
from service.errors import NotFound, TooManyRequests
from service.extensions import db
from service.organizations.models import Organization
from service.records import services as records
from service.records.models import ACTIVE_STATUSES, RecordExport
from service.records.streams import WRITERS

log = logging.getLogger(__name__)
SALT = "dpa-registry/record-export"
ACTOR = "system:worker"
ENTITY = "record_export"
EXPORT_DIR = "record-exports"
# What a client waiting for a free slot is told to wait: about one chunk's work.
RETRY_AFTER_SECONDS = 30


def _config(name: str):
    return current_app.config[name]


def _seconds(name: str) -> timedelta:
    return timedelta(seconds=_config(name))


# --- asking for one -------------------------------------------------------------------------


def request_export(org: Organization, actor: str, fmt: str, lang: str, day: date) -> RecordExport:
    """Queue an export, unless the organization already has its cap of unfinished ones."""
    # The organization's row lock makes the count and the insert one step for concurrent
    # requests of the same organization.
    db.session.execute(select(Organization.id).where(Organization.id == org.id).with_for_update())
    active = db.session.scalar(
        select(func.count())
        .select_from(RecordExport)
        .where(RecordExport.organization_id == org.id, RecordExport.status.in_(ACTIVE_STATUSES))
    )
    cap = _config("RECORD_EXPORTS_PER_ORG")
    if active >= cap:
        raise TooManyRequests(
            f"{active} exports of this organization are queued or running (at most {cap}); "
            "try again when one has finished.",
            retry_after=RETRY_AFTER_SECONDS,
        )
    export = RecordExport(
        organization_id=org.id, requested_by=actor, format=fmt, lang=lang, as_of=day
    )
    db.session.add(export)
    db.session.flush()
    audit.record(
        org.id, actor, "record.export_requested", ENTITY, export.id, after=_summary(export)
    )
    return export


def _summary(export: RecordExport) -> dict:
    return {"format": export.format, "lang": export.lang, "as_of": export.as_of}


def get_export(org: Organization, export_id: int) -> RecordExport:
    export = db.session.get(RecordExport, export_id)
    if export is None or export.organization_id != org.id:
        raise NotFound(f"No export {export_id}.")
    return export


# --- building it (the worker) ---------------------------------------------------------------


def claim(export_id: int, now: datetime | None = None) -> RecordExport | None:
    """Take a queued job, or one whose worker died; None if it is done or being built."""
    now = now or clock.now()
    claimed = db.session.execute(
        update(RecordExport)
        .where(
            RecordExport.id == export_id,
            or_(
                RecordExport.status == "queued",
                (RecordExport.status == "running") & (RecordExport.lease_until < now),
            ),
        )
        .values(
            status="running",
            progress_done=0,
            lease_until=now + _seconds("RECORD_EXPORT_LEASE_SECONDS"),
        )
    ).rowcount
    return db.session.get(RecordExport, export_id) if claimed else None


def _paths(export: RecordExport) -> tuple[Path, str]:
    """Where the file goes (absolute) and the name stored (relative to the instance)."""
    # A random part, so a name guessed from an id finds nothing even on a shared disk.
    name = f"{EXPORT_DIR}/{export.organization_id}/{export.id}-{secrets.token_hex(8)}"
    relative = f"{name}.{export.format}"
    return Path(current_app.instance_path) / relative, relative


def build(export: RecordExport) -> Iterator[int]:
    """Write the file chunk by chunk, yielding the customers done after each chunk (the
    caller commits there), then mark the job done with the file's size and digest."""
    org = db.session.get_one(Organization, export.organization_id)
    day, lang, export_id = export.as_of, export.lang, export.id
    ids = records.customer_ids_on(org, day)
    _progress(export_id, 0, len(ids))
    target, relative = _paths(export)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    head = records.record_head(org, day, lang)
    size = _config("RECORD_EXPORT_CHUNK")
    memo: dict = {}  # vendors' entries, shared by the customers (records.controller_entries)
    with partial.open("wb") as out:
        writer = WRITERS[export.format](out, head)
        try:
            for start in range(0, len(ids), size):
                chunk = records.customers_by_ids(ids[start : start + size])
                writer.add(records.controller_entries(org, chunk, day, lang, memo))
                done = min(start + size, len(ids))
                _progress(export_id, done, len(ids))
                yield done
                if done < len(ids) and _config("RECORD_EXPORT_PAUSE") > 0:
                    time.sleep(_config("RECORD_EXPORT_PAUSE"))  # committed: holds no locks
            writer.close(len(ids))
        except BaseException:  # GeneratorExit too: the caller stopped between chunks
            writer.abandon()
            raise
    os.replace(partial, target)
    _finish(export_id, org.id, relative, target)


def _progress(export_id: int, done: int, total: int) -> None:
    db.session.execute(
        update(RecordExport)
        .where(RecordExport.id == export_id)
        .values(
            progress_done=done,
            progress_total=total,
            lease_until=clock.now() + _seconds("RECORD_EXPORT_LEASE_SECONDS"),
        )
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _finish(export_id: int, org_id: int, relative: str, target: Path) -> None:
    now = clock.now()
    export = db.session.get_one(RecordExport, export_id)
    export.status = "done"
    export.file_path = relative
    export.size = target.stat().st_size
    export.sha256 = _sha256(target)
    export.lease_until = None
    export.finished_at = now
    export.expires_at = now + timedelta(hours=_config("RECORD_EXPORT_RETENTION_HOURS"))
    after = {"size": export.size, "sha256": export.sha256, "customers": export.progress_total}
    audit.record(org_id, ACTOR, "record.export_completed", ENTITY, export_id, after=after)


def fail(export_id: int, reason: str) -> None:
    """Mark the job failed (kept until the retention purge, so the caller can see why)."""
    export = db.session.get(RecordExport, export_id)
    if export is None:
        return
    now = clock.now()
    export.status = "failed"
    export.error = reason[:2000]
    export.lease_until = None
    export.finished_at = now
    export.expires_at = now + timedelta(hours=_config("RECORD_EXPORT_RETENTION_HOURS"))
    audit.record(
        export.organization_id,
        ACTOR,
        "record.export_failed",
        ENTITY,
        export_id,
        after={"error": export.error},
    )


def discard_partial(export_id: int) -> None:
    """Remove what a failed build left on disk."""
    folder = Path(current_app.instance_path) / EXPORT_DIR
    for leftover in folder.glob(f"*/{export_id}-*.partial"):
        leftover.unlink(missing_ok=True)


# --- signed download links ------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(signing_keys(current_app.config), salt=SALT)


def link_expiry(export: RecordExport) -> datetime:
    """A link made now works this long: its own age, never past the file's deletion."""
    return min(clock.now() + _seconds("RECORD_EXPORT_LINK_MAX_AGE_SECONDS"), export.expires_at)


def download_url(org: Organization, export: RecordExport) -> str:
    """A link bound to this export's file (its digest) that stops working at link_expiry."""
    data = {
        "e": export.id,
        "o": org.id,
        "h": export.sha256,
        "x": int(link_expiry(export).timestamp()),
    }
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    path = f"/api/v1/orgs/{org.slug}/record/exports/{export.id}/download"
    return f"{base}{path}?token={_serializer().dumps(data)}"


def _valid(data: object, org: Organization, export: RecordExport) -> bool:
    return (
        isinstance(data, dict)
        and data.get("e") == export.id
        and data.get("o") == org.id
        and data.get("h") == export.sha256
        and isinstance(data.get("x"), int)
        and data["x"] > clock.timestamp()
    )


def file_for(org: Organization, export_id: int, token: str) -> tuple[RecordExport, Path]:
    """The finished export and its file a valid, unexpired link names; 404 otherwise."""
    gone = NotFound("This link is not valid (any more).")
    export = db.session.get(RecordExport, export_id)
    if export is None or export.organization_id != org.id or export.status != "done":
        raise gone
    try:
        data = _serializer().loads(token)
    except BadSignature as exc:
        raise gone from exc
    path = Path(current_app.instance_path) / (export.file_path or "")
    if not _valid(data, org, export) or not path.is_file():
        raise gone
    return export, path


# --- the sweep (beat) -----------------------------------------------------------------------


def purge_expired(now: datetime | None = None) -> int:
    """Delete the files and rows of exports past their retention; audited per export."""
    now = now or clock.now()
    expired = db.session.scalars(
        select(RecordExport).where(RecordExport.expires_at < now).order_by(RecordExport.id)
    ).all()
    for export in expired:
        if export.file_path:
            (Path(current_app.instance_path) / export.file_path).unlink(missing_ok=True)
        audit.record(
            export.organization_id,
            ACTOR,
            "record.export_purged",
            ENTITY,
            export.id,
            after={"status": export.status, "sha256": export.sha256},
        )
        db.session.delete(export)
    return len(expired)


def stalled(now: datetime | None = None) -> list[int]:
    """Jobs to hand to a worker again: queued but never picked up (the broker was down
    when they were asked for), or running with an expired lease (their worker died)."""
    now = now or clock.now()
    grace = now - timedelta(seconds=_config("OUTBOX_RELAY_GRACE_SECONDS"))
    return list(
        db.session.scalars(
            select(RecordExport.id)
            .where(
                or_(
                    (RecordExport.status == "queued") & (RecordExport.created_at <= grace),
                    (RecordExport.status == "running") & (RecordExport.lease_until < now),
                )
            )
            .order_by(RecordExport.id)
        )
    )
