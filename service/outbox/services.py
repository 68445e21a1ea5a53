"""Write outbox rows in the cause's transaction; claim, expand and deliver them in workers.

Delivery is at-least-once. Recovery rests on leases: a worker that dies leaves rows whose
lease expires, and the beat sweep hands them to another worker; nothing waits for the
broker's visibility timeout. A message handed to the SMTP server is recorded in one commit
with at most MAIL_COMMIT_BATCH - 1 others, so a crash resends at most MAIL_COMMIT_BATCH
messages per worker process (the last commit may have been under way when it died).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Integer, and_, bindparam, event, or_, select, text, update
from sqlalchemy.orm import Session

from service import clock
from service.db_types import UTCDateTime
from service.extensions import db
from service.outbox.models import Delivery, OutboxItem

log = logging.getLogger(__name__)
PENDING_KEY = "dpa_outbox_new"


def enqueue(topic: str, payload: dict, organization_id: int | None) -> OutboxItem:
    """Add an outbox row to the current transaction; it is relayed after commit."""
    item = OutboxItem(topic=topic, payload=payload, organization_id=organization_id)
    db.session.add(item)
    db.session.flush()
    db.session.info.setdefault(PENDING_KEY, []).append(item.id)
    return item


# --- relay after commit ---------------------------------------------------------------------


def _celery():
    return current_app.extensions["celery"]


def eager() -> bool:
    return bool(current_app.config["CELERY_ALWAYS_EAGER"])


def dispatch(task: str, *args: object) -> None:
    """Hand a task to the broker; if that fails, the beat sweep finds the work later."""
    if eager():
        return  # in-process mode drains after the request instead (see drain)
    try:
        _celery().tasks[task].apply_async(args=args)
    except Exception:
        log.warning("broker unavailable; %s%r left for the sweep", task, args, exc_info=True)


def connect_broker() -> None:
    """Open this process's broker connection ahead of the first task it sends (gunicorn's
    `post_worker_init`). The first task a web worker sent imported the transport and
    connected inside a request: 473 -> 185 ms for an announcement that is a worker's first,
    the calls that decided the p95 of 20 (bench/RESULTS.md section 3)."""
    if eager():
        return
    celery = _celery()
    celery.finalize()  # registers the tasks, otherwise done by the first one sent
    celery.backend  # noqa: B018 - found through the entry points on first use
    try:
        with celery.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=0)
            # Kept declared on this pooled connection, as the first publish would do.
            producer.maybe_declare(celery.amqp.queues[celery.conf.task_default_queue])
    except Exception:
        log.warning("broker unavailable at start; the first task sent connects", exc_info=True)


@event.listens_for(Session, "after_commit")
def _relay_after_commit(session: Session) -> None:
    ids = session.info.pop(PENDING_KEY, None)
    if not ids:
        return
    if eager():
        session.info["dpa_outbox_drain"] = True
        return
    for item_id in ids:
        dispatch("workers.tasks.process_outbox", item_id)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def drain_requested() -> bool:
    return bool(db.session.info.pop("dpa_outbox_drain", False))


# --- claiming -------------------------------------------------------------------------------


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])


def _free(model: type, now: datetime):
    return or_(model.lease_until.is_(None), model.lease_until < now)


def claim_item(item_id: int, now: datetime | None = None) -> OutboxItem | None:
    """Take the lease on a pending row, or None if another worker holds it or it is done."""
    now = now or clock.now()
    claimed = db.session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.id == item_id,
            OutboxItem.status == "pending",
            OutboxItem.available_at <= now,
            _free(OutboxItem, now),
        )
        .values(lease_until=now + _lease(), attempts=OutboxItem.attempts + 1)
    ).rowcount
    db.session.commit()
    return db.session.get(OutboxItem, item_id) if claimed else None


# Expanders turn an outbox row into recipients, a chunk at a time, after `cursor`:
# each returns (rows, new_cursor), rows being dicts of Delivery fields.
Expander = Callable[[OutboxItem, int, int], tuple[list[dict], int]]
EXPANDERS: dict[str, Expander] = {}


def expander(*topics: str) -> Callable[[Expander], Expander]:
    def register(function: Expander) -> Expander:
        for topic in topics:
            EXPANDERS[topic] = function
        return function

    return register


def new_message_id() -> str:
    return f"<{uuid.uuid4().hex}@{current_app.config['MAIL_MESSAGE_ID_DOMAIN']}>"


class LeaseLost(Exception):
    """Another worker moved the row on (this one's lease had expired): this one stops."""


def expand_chunk(item: OutboxItem, size: int) -> list[int] | None:
    """Write the deliveries of the next chunk; None when the row is fully expanded.

    Raises LeaseLost when another worker moved the cursor meanwhile: the cursor moves only
    from where this worker found it, so a chunk is never expanded twice."""
    from service.mail import expanders  # noqa: F401 - registers the topic handlers

    start = item.cursor
    rows, cursor = EXPANDERS[item.topic](item, start, size)
    now = clock.now()
    # Done when the cursor stops moving, not when a chunk yields no rows: a chunk of
    # customers without contacts yields none, and the rest must still be expanded.
    finished = cursor == start
    if finished:
        values = {"status": "done", "done_at": now, "lease_until": None}
    else:
        values = {"cursor": cursor, "lease_until": now + _lease()}
    # A second worker on the same row waits here for this transaction, then matches nothing.
    moved = db.session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item.id, OutboxItem.cursor == start)
        .where(OutboxItem.status == "pending")
        .values(**values)
    ).rowcount
    if not moved:
        raise LeaseLost(item.id)
    if finished:
        return None
    if not rows:
        return []
    # Skip what exists (nothing, unless an expander's chunks overlap). The key is per
    # customer: one address may be the contact of several customers, each owed a notice.
    existing = set(
        db.session.execute(
            select(Delivery.customer_id, Delivery.channel, Delivery.address)
            .where(Delivery.outbox_id == item.id)
            .where(Delivery.address.in_([r["address"] for r in rows]))
        ).all()
    )
    fresh = [
        r
        for r in rows
        if (r.get("customer_id"), r.get("channel", "email"), r["address"]) not in existing
    ]
    if db.session.get_bind().dialect.name == "postgresql" and all(
        row.keys() <= _ROW_FIELDS for row in fresh
    ):
        return _insert_deliveries(item, fresh, now)
    deliveries = [
        Delivery(
            outbox_id=item.id,
            organization_id=item.organization_id,
            message_id=new_message_id(),
            **row,
        )
        for row in fresh
    ]
    db.session.add_all(deliveries)
    db.session.flush()
    return [d.id for d in deliveries]


_ROW_FIELDS = frozenset(("notice_id", "customer_id", "channel", "address", "locale"))
# One statement whose text does not grow with the chunk: the rows travel as six arrays.
# The ORM's multi-row INSERT of 500 deliveries was a statement of some 100 kB that psycopg
# parsed anew each time (too long for its cache): 60% of the fan-out's time. With this and
# the notices' insert alike (notices.services), the fan-out to 3,006 customers costs the
# worker 1.09 s of CPU instead of 2.67 s (in-process, cProfile, loaded machine).
_INSERT_DELIVERIES = (
    text(
        "INSERT INTO deliveries (outbox_id, organization_id, message_id, notice_id, customer_id,"
        " channel, address, locale, status, attempts, created_at, next_attempt_at) "
        "SELECT :outbox_id, :organization_id, u.message_id, u.notice_id, u.customer_id,"
        " u.channel, u.address, u.locale, 'pending', 0, :now, :now "
        "FROM unnest(CAST(:message_ids AS text[]), CAST(:notice_ids AS integer[]),"
        " CAST(:customer_ids AS integer[]), CAST(:channels AS text[]),"
        " CAST(:addresses AS text[]), CAST(:locales AS text[]))"
        " WITH ORDINALITY AS u(message_id, notice_id, customer_id, channel, address, locale, n) "
        "ORDER BY u.n RETURNING id"
    )
    .bindparams(bindparam("now", type_=UTCDateTime()))
    .columns(id=Integer)
)


def _insert_deliveries(item: OutboxItem, rows: list[dict], now: datetime) -> list[int]:
    """The chunk's deliveries in one INSERT ... SELECT FROM unnest (PostgreSQL)."""
    return list(
        db.session.scalars(
            _INSERT_DELIVERIES,
            {
                "outbox_id": item.id,
                "organization_id": item.organization_id,
                "now": now,
                "message_ids": [new_message_id() for _ in rows],
                "notice_ids": [r.get("notice_id") for r in rows],
                "customer_ids": [r.get("customer_id") for r in rows],
                "channels": [r.get("channel", "email") for r in rows],
                "addresses": [r["address"] for r in rows],
                "locales": [r.get("locale", "pl") for r in rows],
            },
        )
    )


def release_item(item_id: int, error: str) -> None:
    """Expanding the row failed: record why, and let it be tried again after a backoff
    (not at every sweep), its lease given up."""
    db.session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id, OutboxItem.status == "pending")
        .values(
            last_error=error[:2000],
            lease_until=None,
            available_at=clock.now() + backoff(db.session.get(OutboxItem, item_id).attempts),
        )
    )
    db.session.commit()


def claim_deliveries(ids: Iterable[int], now: datetime | None = None) -> list[int]:
    now = now or clock.now()
    claimed = db.session.scalars(
        update(Delivery)
        .where(
            Delivery.id.in_(list(ids)),
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
            _free(Delivery, now),
        )
        .values(lease_until=now + _lease())
        .returning(Delivery.id)
    ).all()
    db.session.commit()
    return sorted(claimed)


def renew_deliveries(ids: list[int], now: datetime | None = None) -> None:
    """Extend the lease of a batch still being sent, so the sweep leaves it to its worker."""
    now = now or clock.now()
    db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == "pending")
        .values(lease_until=now + _lease())
    )


def backoff(attempts: int) -> timedelta:
    """Exponential: base, 2x, 4x ... capped."""
    config = current_app.config
    seconds = config["MAIL_RETRY_BASE_SECONDS"] * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, config["MAIL_RETRY_MAX_SECONDS"]))


# --- the sweep ------------------------------------------------------------------------------


def sweep(now: datetime | None = None, *, limit: int = 10_000) -> dict[str, int]:
    """Find work whose lease expired (its worker died) or that was never relayed, and queue
    it again. Rows younger than the grace period are left to their after-commit relay."""
    now = now or clock.now()
    grace = now - timedelta(seconds=current_app.config["OUTBOX_RELAY_GRACE_SECONDS"])
    items = db.session.scalars(
        select(OutboxItem.id)
        .where(
            OutboxItem.status == "pending",
            OutboxItem.available_at <= now,
            OutboxItem.created_at <= grace,
            _free(OutboxItem, now),
        )
        .order_by(OutboxItem.id)
        .limit(limit)
    ).all()
    deliveries = db.session.scalars(
        select(Delivery.id)
        .where(
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
            Delivery.created_at <= grace,
            _free(Delivery, now),
        )
        .order_by(Delivery.id)
        .limit(limit)
    ).all()
    for item_id in items:
        dispatch("workers.tasks.process_outbox", item_id)
    batch = current_app.config["MAIL_SEND_BATCH"]
    for start in range(0, len(deliveries), batch):
        dispatch("workers.tasks.send_deliveries", list(deliveries[start : start + batch]))
    return {"outbox": len(items), "deliveries": len(deliveries)}


def pending_counts() -> dict[str, int]:
    from sqlalchemy import func

    return {
        "outbox": db.session.scalar(select(func.count()).where(OutboxItem.status == "pending")),
        "deliveries": db.session.scalar(
            select(func.count()).where(and_(Delivery.status == "pending"))
        ),
    }
