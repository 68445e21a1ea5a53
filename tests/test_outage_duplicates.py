"""The duplicates a PostgreSQL outage can cause: at most MAIL_COMMIT_BATCH per sending
process, as for a SIGKILL (docs/delivery.md, "At-least-once").

The worker's own database session is really terminated (pg_terminate_backend) at its
next statement after the outage begins, half-way through a commit batch: the SMTP server
has accepted messages whose outcome cannot be committed. After the outage the leases run
out and the batch is claimed again.
"""

# ruff: noqa: F811 - the fixtures imported from tests/test_mail_fixes.py are parameters here
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from service import clock
from service.changes.models import Notice
from service.extensions import db
from service.mail import delivery as mail_delivery
from service.outbox.models import Delivery, OutboxItem
from tests.test_database_faults import _terminate
from tests.test_mail_fixes import _announce, _customer, broker_off, legal  # noqa: F401

COMMIT_BATCH = 10
CUSTOMERS = 35
KILLED_AT = 15  # the outage begins after the 15th accepted message (the 2nd batch's 5th)


@pytest.mark.parametrize("killed_at", [11, KILLED_AT, 20])
def test_a_database_outage_mid_batch_resends_at_most_one_commit_batch(
    client, world, legal, outbox_mail, app, broker_off, monkeypatch, database_url, time_machine,
    request, killed_at,
):  # fmt: skip
    org, key = legal
    for n in range(CUSTOMERS):
        _customer(client, key, f"C{n:02}", f"c{n:02}@salon.example")
    _announce(client, world, org, key)
    monkeypatch.setitem(app.config, "MAIL_COMMIT_BATCH", COMMIT_BATCH)

    down = {"from": None}

    def outage(message) -> None:
        if len(outbox_mail.sent) + 1 == killed_at:
            down["from"] = killed_at

    def statement(conn, cursor, statement, parameters, context, executemany) -> None:
        # A dropped connection between statements is replaced unnoticed (pool_pre_ping);
        # the outage that costs something is the one the next write meets.
        if down["from"] is not None:
            down["from"] = None
            _terminate(database_url, [conn.connection.dbapi_connection.info.backend_pid])

    outbox_mail.hook = outage
    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", statement)
        request.addfinalizer(lambda: event.remove(engine, "before_cursor_execute", statement))
        item_id = db.session.scalars(select(OutboxItem.id)).one()
        batches: list[list[int]] = []
        assert mail_delivery.process_item(item_id, on_chunk=batches.append)
        ids = [i for batch in batches for i in batch]
        with pytest.raises(OperationalError):
            mail_delivery.send_batch(ids)
        db.session.remove()
    outbox_mail.hook = None
    # The database is back; the unfinished batch's leases run out and it is claimed again.
    time_machine.move_to(clock.now() + timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1))
    with app.app_context():
        mail_delivery.send_batch(ids)
        statuses = Counter(db.session.scalars(select(Delivery.status)))
        db.session.remove()

    sent = Counter(m["To"].addresses[0].addr_spec for m in outbox_mail.sent)
    duplicates = sum(sent.values()) - len(sent)
    assert len(sent) == CUSTOMERS  # everyone served, nothing lost
    assert statuses == {"sent": CUSTOMERS}
    assert 0 < duplicates <= COMMIT_BATCH


class _Killed(BaseException):
    """What a SIGKILL is to the batch: nothing after it runs, nothing more is committed."""


def test_a_lease_renewal_commits_proof_of_notice_with_the_outcomes_it_commits(
    client, world, legal, outbox_mail, app, broker_off, monkeypatch
):
    """A slow batch renews its lease and commits mid-batch; that commit records the
    messages sent so far as sent, so it must record their notices as delivered too: a
    worker that dies before its next commit leaves no delivery `sent` whose notice is not
    delivered (seen with 8 threads on a loaded machine: 1 notice of 1,500)."""
    org, key = legal
    for n in range(6):
        _customer(client, key, f"C{n}", f"c{n}@salon.example")
    _announce(client, world, org, key)
    monkeypatch.setitem(app.config, "MAIL_COMMIT_BATCH", 100)  # only renewals commit
    monkeypatch.setitem(app.config, "OUTBOX_LEASE_SECONDS", 0)  # a renewal before each

    def die(message) -> None:
        if len(outbox_mail.sent) == 4:
            raise _Killed

    outbox_mail.hook = die
    with app.app_context():
        item_id = db.session.scalars(select(OutboxItem.id)).one()
        batches: list[list[int]] = []
        assert mail_delivery.process_item(item_id, on_chunk=batches.append)
        with pytest.raises(_Killed):
            mail_delivery.send_batch([i for batch in batches for i in batch])
        db.session.rollback()
        db.session.remove()
    with app.app_context():
        rows = db.session.execute(
            select(Delivery.status, Notice.delivered_at).join(
                Notice, Notice.id == Delivery.notice_id
            )
        ).all()
        db.session.remove()
    sent = [delivered_at for status, delivered_at in rows if status == "sent"]
    assert len(sent) == 4  # committed by the renewal before the fifth message
    assert all(delivered_at is not None for delivered_at in sent)
