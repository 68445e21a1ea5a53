"""Expand outbox rows and send their deliveries; record what the SMTP server answered.

Proof of notice: a notice counts as delivered when the server accepted its first message;
its objection deadline then runs from that moment. A notice none of whose messages could
be delivered is not notice: it stays undelivered (a gap in the compliance report) and
legal staff are alerted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from flask import current_app
from sqlalchemy import bindparam, exists, func, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from service import clock
from service.audit import services as audit
from service.changes.models import Notice
from service.customers.models import Customer, CustomerAgreement
from service.extensions import db
from service.mail.prepared import build
from service.mail.senders import (
    EmailSender,
    FileSender,
    MemorySender,
    PermanentFailure,
    PreparedMessage,
    SMTPSender,
    TemporaryFailure,
    Unreachable,
)
from service.notices.services import deadline
from service.observability.metrics import observe_delivery
from service.organizations.models import Organization
from service.outbox import services as outbox
from service.outbox.models import Delivery, OutboxItem
from service.webhooks.services import send_webhook

log = logging.getLogger(__name__)
ACTOR = "system:worker"
# Tests may install a sender for the process (the in-memory one); production configures.
_sender_override: Callable[[], EmailSender] | None = None


def use_sender(factory: Callable[[], EmailSender] | None) -> None:
    global _sender_override
    _sender_override = factory


def make_sender() -> EmailSender:
    if _sender_override is not None:
        return _sender_override()
    config = current_app.config
    backend = config["MAIL_BACKEND"]
    if backend == "smtp":
        return SMTPSender(
            config["SMTP_HOST"],
            config["SMTP_PORT"],
            security=config["SMTP_SECURITY"],
            username=config["SMTP_USERNAME"] or None,
            password=config["SMTP_PASSWORD"] or None,
            timeout=config["SMTP_TIMEOUT_SECONDS"],
        )
    if backend == "file":
        return FileSender(config["MAIL_FILE_DIR"] or Path(current_app.instance_path) / "mail")
    if backend == "memory":
        return MemorySender()
    raise ValueError(f"unknown MAIL_BACKEND {backend!r}")


def process_item(item_id: int, *, on_chunk: Callable[[list[int]], None] | None = None) -> bool:
    """Expand one outbox row chunk by chunk, committing its cursor after each chunk."""
    item = outbox.claim_item(item_id)
    if item is None:
        return False
    size = current_app.config["OUTBOX_CHUNK_SIZE"]
    batch = current_app.config["MAIL_SEND_BATCH"]
    try:
        while True:
            ids = outbox.expand_chunk(item, size)
            if ids is None and item.topic == "change.announced":
                # In the commit that marks the row done.
                _alert_if_uncontactable(item)
                _record_audience(item)
            db.session.commit()
            if ids is None:
                return True
            for start in range(0, len(ids), batch):
                chunk = ids[start : start + batch]
                if on_chunk is not None:
                    on_chunk(chunk)
                else:
                    outbox.dispatch("workers.tasks.send_deliveries", chunk)
            item = db.session.get(OutboxItem, item_id)
    except outbox.LeaseLost:
        db.session.rollback()  # another worker carries on with the row
        return False
    except Exception as exc:
        # Recorded on the row and tried again after a backoff, not at every sweep.
        db.session.rollback()
        outbox.release_item(item_id, f"{type(exc).__name__}: {exc}")
        raise


def _load_batch(ids: list[int], cache: dict) -> dict[int, Delivery]:
    """The batch's deliveries with everything their messages need, in a handful of queries
    for the whole batch rather than several per message.

    The session's identity map holds objects weakly: what messages look up by id (notices,
    organizations) stays in `cache` for the batch, or it would be loaded again each time.
    """
    deliveries = db.session.scalars(
        select(Delivery).where(Delivery.id.in_(ids)).options(selectinload(Delivery.outbox))
    ).all()
    cache["organizations"] = db.session.scalars(
        select(Organization).where(Organization.id.in_({d.organization_id for d in deliveries}))
    ).all()
    notice_ids = [d.notice_id for d in deliveries if d.notice_id]
    if notice_ids:
        cache["notices"] = db.session.scalars(
            select(Notice)
            .where(Notice.id.in_(notice_ids))
            .options(
                selectinload(Notice.change),
                selectinload(Notice.customer)
                .selectinload(Customer.agreement)
                .selectinload(CustomerAgreement.version),
            )
        ).all()
    return {d.id: d for d in deliveries}


def send_batch(ids: list[int]) -> dict[str, int]:
    """Send the claimable deliveries among `ids` over one connection."""
    claimed = outbox.claim_deliveries(ids)
    counts = {"sent": 0, "retry": 0, "failed": 0}
    if not claimed:
        return counts
    commit_every = current_app.config["MAIL_COMMIT_BATCH"]
    # A slow batch renews its lease, or the sweep would hand its rest to another worker.
    renew_after = current_app.config["OUTBOX_LEASE_SECONDS"] / 3
    renewed = time.monotonic()
    unreachable: str | None = None  # once the SMTP server cannot be reached, stop trying
    session = db.session()
    # The batch is leased to this worker, so its rows are not reloaded after every commit
    # (which cost several queries per message); what others may change meanwhile (a
    # notice's first delivery) is written with a condition, never from what was read.
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        cache: dict = {}
        deliveries = _load_batch(claimed, cache)
        notices_delivered: list[dict] = []
        with make_sender() as sender:
            for n, delivery_id in enumerate(claimed, start=1):
                if time.monotonic() - renewed > renew_after:
                    outbox.renew_deliveries(claimed[n - 1 :])
                    # This commit also commits the outcomes sent so far (autoflush): their
                    # proof of notice goes with them, or a crash before the next commit
                    # would leave deliveries sent and their notices never delivered.
                    _record_notices_delivered(notices_delivered)
                    db.session.commit()
                    renewed = time.monotonic()
                delivery = deliveries[delivery_id]
                try:
                    if unreachable is not None and delivery.channel == "email":
                        raise TemporaryFailure(unreachable)
                    if delivery.channel == "webhook":
                        answer = send_webhook(delivery)
                    else:
                        message = build(delivery, cache)
                        if isinstance(message, PreparedMessage) and not getattr(
                            sender, "accepts_prepared", False
                        ):
                            message = message.to_email()
                        answer = sender.send(message)
                except TemporaryFailure as exc:
                    if isinstance(exc, Unreachable):
                        unreachable = str(exc)
                    _retry(delivery, str(exc))
                    counts["retry"] += 1
                except PermanentFailure as exc:
                    _fail(delivery, str(exc))
                    counts["failed"] += 1
                except SQLAlchemyError:
                    raise
                except Exception as exc:
                    # One message that cannot be built must not fail its batch again and
                    # again (resending the batch's uncommitted messages each time): it backs
                    # off alone, and after MAIL_MAX_ATTEMPTS it fails and legal staff are
                    # alerted.
                    log.exception("delivery %s: unexpected error", delivery_id)
                    _retry(delivery, f"error: {type(exc).__name__}: {exc}")
                    counts["retry"] += 1
                else:
                    _sent(delivery, answer, notices_delivered)
                    counts["sent"] += 1
                if n % commit_every == 0:
                    _record_notices_delivered(notices_delivered)
                    db.session.commit()
        _record_notices_delivered(notices_delivered)
        db.session.commit()
    finally:
        session.expire_on_commit = expire_on_commit
        session.expire_all()  # as the last commit would have: callers read fresh rows
    return counts


def _sent(delivery: Delivery, answer: str, notices_delivered: list[dict]) -> None:
    now = clock.now()
    delivery.status, delivery.accepted_at, delivery.last_response = "sent", now, answer
    delivery.attempts += 1
    delivery.lease_until = None
    observe_delivery(delivery.channel, "sent")
    if delivery.notice_id and delivery.outbox.topic == "change.announced":
        notice = db.session.get(Notice, delivery.notice_id)
        if notice.delivered_at is None:
            objection_deadline = None
            if notice.response == "objection":
                org = db.session.get(Organization, delivery.organization_id)
                days, effective_on = notice.objection_days, notice.change.effective_on
                objection_deadline = deadline(
                    org, now, days, effective_on, post_hoc=notice.post_hoc
                )
            notices_delivered.append(
                {"notice": notice.id, "at": now, "deadline": objection_deadline}
            )


_NOTICES = Notice.__table__


def _record_notices_delivered(rows: list[dict]) -> None:
    """Record proof of notice for the messages about to be committed, in one statement.

    The first acceptance is the proof of notice: when another worker delivered to another
    contact of the same customer meanwhile, its earlier time stands (hence the condition).
    Only objection notices have a deadline; the others' stays empty, as it was.
    """
    if not rows:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        # Two contacts of one customer in one commit: the first acceptance is the proof.
        first = list({row["notice"]: row for row in reversed(rows)}.values())
        db.session.execute(
            _RECORD_DELIVERED,
            {
                "ids": [row["notice"] for row in first],
                "ats": [row["at"] for row in first],
                "deadlines": [row["deadline"] for row in first],
            },
        )
    else:
        db.session.execute(
            update(_NOTICES)
            .where(_NOTICES.c.id == bindparam("notice"), _NOTICES.c.delivered_at.is_(None))
            .values(delivered_at=bindparam("at"), objection_deadline=bindparam("deadline")),
            rows,
        )
    rows.clear()


# One UPDATE ... FROM unnest for the commit's notices (an index nested loop at 100,000
# notices): the executemany it replaces cost psycopg a parameter conversion and a pipeline
# step per row. Proof of notice was 12% of a sending worker's CPU (py-spy, 8 threads); this
# step 2.10 -> 1.72 s for 1,006 messages (in-process, cProfile, loaded machine).
_RECORD_DELIVERED = text(
    "UPDATE notices SET delivered_at = u.at, objection_deadline = u.deadline "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:ats AS timestamptz[]),"
    " CAST(:deadlines AS timestamptz[])) AS u(id, at, deadline) "
    "WHERE notices.id = u.id AND notices.delivered_at IS NULL"
)


def _retry(delivery: Delivery, error: str) -> None:
    delivery.attempts += 1
    delivery.last_response = error
    delivery.lease_until = None
    if delivery.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        _fail(delivery, f"gave up after {delivery.attempts} attempts: {error}")
        return
    delivery.next_attempt_at = clock.now() + outbox.backoff(delivery.attempts)
    observe_delivery(delivery.channel, "retry")


def _fail(delivery: Delivery, answer: str) -> None:
    delivery.status, delivery.last_response, delivery.lease_until = "failed", answer, None
    delivery.attempts = max(delivery.attempts, 1)
    observe_delivery(delivery.channel, "failed")
    if delivery.notice_id and delivery.outbox.topic == "change.announced":
        _alert_if_undeliverable(delivery)


def _alert_if_undeliverable(delivery: Delivery) -> None:
    """Alert legal staff once no contact of the notice can still receive it."""
    # Workers failing the notice's last two contacts at once would each see the other still
    # pending, and neither would alert: the lock on the notice puts them one after the other.
    db.session.execute(select(Notice.id).where(Notice.id == delivery.notice_id).with_for_update())
    still_possible = db.session.scalar(
        select(
            exists().where(
                Delivery.notice_id == delivery.notice_id,
                Delivery.outbox_id == delivery.outbox_id,
                Delivery.status.in_(("pending", "sent")),
                Delivery.id != delivery.id,
            )
        )
    )
    if still_possible:
        return
    notice = db.session.get(Notice, delivery.notice_id)
    outbox.enqueue(
        "alert.legal",
        {
            "kind": "notice_undeliverable",
            "change_id": notice.change_id,
            "customer_id": notice.customer_id,
            "customer": notice.customer.name,
            "address": delivery.address,
            "answer": delivery.last_response,
        },
        delivery.organization_id,
    )


def _record_audience(item: OutboxItem) -> None:
    """Audit how many customers the announcement told, now that the worker has written
    their notices: the request does not count them (it would read every customer)."""
    payload = item.payload
    if "notices" not in payload:  # a row from before the count was kept
        return
    audit.record(
        item.organization_id,
        ACTOR,
        "change.notices_written",
        "change",
        payload["change_id"],
        after={"notices": payload["notices"], "uncontactable": payload.get("uncontactable", 0)},
    )


def _alert_if_uncontactable(item: OutboxItem) -> None:
    """Notices of customers without any contact address were never sent: no notice, so
    legal staff hear of them (once per announcement, however many there are)."""
    if item.payload.get("write_notices"):
        # Counted chunk by chunk by the expander: no query over 100,000 notices here.
        count, names = (
            item.payload.get("uncontactable", 0),
            item.payload.get("uncontactable_names", []),
        )
        if count:
            _alert_uncontactable(item, count, names)
        return
    uncontactable = (
        select(Customer.name)
        .join(Notice, Notice.customer_id == Customer.id)
        .where(Notice.change_id == item.payload["change_id"], Notice.withdrawn_at.is_(None))
        .where(
            ~exists().where(
                Delivery.outbox_id == item.id,
                Delivery.notice_id == Notice.id,
                Delivery.channel == "email",
            )
        )
    )
    count = db.session.scalar(select(func.count()).select_from(uncontactable.subquery()))
    if not count:
        return
    names = db.session.scalars(uncontactable.order_by(Notice.id).limit(20)).all()
    _alert_uncontactable(item, count, names)


def _alert_uncontactable(item: OutboxItem, count: int, names: list[str]) -> None:
    listed = ", ".join(names) + (f" (+{count - len(names)})" if count > len(names) else "")
    outbox.enqueue(
        "alert.legal",
        {
            "kind": "notice_undeliverable",
            "change_id": item.payload["change_id"],
            "customers": count,
            "customer": listed,
            "answer": "no contact e-mail address",
        },
        item.organization_id,
    )


def drain(max_rounds: int = 50) -> None:
    """In-process mode (no broker): run everything that is due now, to completion."""
    for _ in range(max_rounds):
        items = db.session.scalars(
            select(OutboxItem.id).where(OutboxItem.status == "pending").order_by(OutboxItem.id)
        ).all()
        for item_id in items:
            process_item(item_id, on_chunk=send_batch)
        due = db.session.scalars(
            select(Delivery.id)
            .where(Delivery.status == "pending", Delivery.next_attempt_at <= clock.now())
            .order_by(Delivery.id)
        ).all()
        if due:
            send_batch(list(due))
        if not items and not due:
            return
