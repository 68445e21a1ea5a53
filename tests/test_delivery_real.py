"""E-mail delivery with real parts: Celery worker and beat processes, a private Redis server
and a real SMTP server (aiosmtpd) that receives and parses every message.

Every process is started here on a free port and killed in the fixture finalizers (whole
process groups). Nothing touches the machine's shared Redis: the API side relays to the
private one while a test runs, and gives the shared test app its own Celery app back.

The duplicate bound asserted after a SIGKILL is the documented one: a worker process
commits its deliveries MAIL_COMMIT_BATCH at a time, so a killed worker can resend at most
MAIL_COMMIT_BATCH messages per thread or process of its pool (MAIL_COMMIT_BATCH x concurrency).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import shutil
import signal
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import func, select

from service import clock
from service.changes.models import Notice
from service.customers.models import Customer, CustomerContact
from service.extensions import db
from service.mail.senders import PermanentFailure, SMTPSender
from service.notices.links import read_answer_token
from service.organizations.models import Organization
from service.outbox.models import Delivery, OutboxItem
from tests import processes
from tests.conftest import bearer, vendor
from tests.processes import Process
from workers import celery_init_app

pytestmark = pytest.mark.delivery

ROOT = Path(__file__).resolve().parent.parent
CELERY = ROOT / ".venv" / "bin" / "celery"
CONCURRENCY = 2
COMMIT_BATCH = 10
LEASE_SECONDS = 5
FIGURES: dict[str, object] = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], bool], seconds: float, what: str, explain=None) -> None:
    """Poll `check` until it holds; fail with `explain()` (logs, counts) when time is up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    if check():
        return
    pytest.fail(f"timed out after {seconds}s waiting for {what}\n{explain() if explain else ''}")


# --- a real SMTP server -----------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    at: float

    def parsed(self) -> EmailMessage:
        if self.raw.isascii():
            return email.message_from_bytes(self.raw, policy=email.policy.default)
        # SMTPUTF8 (RFC 6532) or 8BITMIME: UTF-8 in headers or bodies, as sent.
        return email.message_from_string(self.raw.decode(), policy=email.policy.default)


@dataclass
class SmtpSink:
    """aiosmtpd on a fixed port: keeps what it accepted, refuses what it is told to."""

    port: int
    messages: list[Received] = field(default_factory=list)
    # address -> how many more times to answer 451 at RCPT
    temporary: dict[str, int] = field(default_factory=dict)
    # addresses answered 550 at RCPT, for good
    refuse: set[str] = field(default_factory=set)
    # address -> monotonic times of each RCPT for it
    attempts: dict[str, list[float]] = field(default_factory=dict)
    smtputf8: bool = True
    # seconds to wait before answering DATA: longer than the client's timeout simulates a
    # server that hangs
    stall: float = 0.0
    controller: Controller | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.attempts.setdefault(address, []).append(time.monotonic())
            if address in self.refuse:
                return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
            if self.temporary.get(address, 0) > 0:
                self.temporary[address] -= 1
                return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.stall:
            await asyncio.sleep(self.stall)
        with self.lock:
            self.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, time.time())
            )
            n = len(self.messages)
        return f"250 2.0.0 Ok: queued as Q{n}"

    def start(self) -> None:
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.smtputf8
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.messages)

    def duplicates(self) -> int:
        """Messages received more than once (the same Message-ID again)."""
        ids = Counter(m.parsed()["Message-ID"] for m in self.snapshot())
        return sum(n - 1 for n in ids.values())


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink(_free_port())
    yield sink
    sink.stop()


# --- processes ----------------------------------------------------------------------------------


class RedisServer:
    """A private redis-server, nothing kept on disk, that can be stopped and started again
    on the same port (coming back empty: what the broker held is lost)."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: Process | None = None

    def start(self) -> None:
        import redis

        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.process = processes.redis_server(self.port, self.workdir)

        def up() -> bool:
            try:
                return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
            except redis.RedisError:
                return False

        wait_for(up, 10, "redis-server", self.process.output)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill(signal.SIGTERM)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


class Stack:
    """Starts workers and beat against the private Redis, the test database and the sink."""

    def __init__(self, tmp_path: Path, database_url: str, redis: RedisServer, smtp: SmtpSink):
        self.tmp = tmp_path
        self.processes: list[Process] = []
        self.workers: list[Process] = []
        self.beat: Process | None = None
        self.started = 0
        self.revived = 0
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DPA_")},
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url,
            "DPA_INSTANCE_PATH": str(tmp_path / "instance"),
            "DPA_CELERY_ALWAYS_EAGER": "0",
            "DPA_MAIL_BACKEND": "smtp",
            "DPA_SMTP_HOST": "127.0.0.1",
            "DPA_SMTP_PORT": str(smtp.port),
            "DPA_SMTP_TIMEOUT_SECONDS": "3",
            "DPA_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
            "DPA_OUTBOX_RELAY_GRACE_SECONDS": "1",
            "DPA_OUTBOX_SWEEP_INTERVAL_SECONDS": "1",
            "DPA_MAIL_RETRY_BASE_SECONDS": "1",
            "DPA_MAIL_COMMIT_BATCH": str(COMMIT_BATCH),
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("SECRET_KEY", "PUBLIC_BASE_URL"):  # links are signed alike on both sides
            if os.environ.get("DPA_" + name):
                self.env["DPA_" + name] = os.environ["DPA_" + name]

    def start_worker(self, pool: str = "prefork", concurrency: int = CONCURRENCY) -> Process:
        self.started += 1
        n = self.started
        worker = Process(
            [
                str(CELERY),
                "-A",
                "workers.main",
                "worker",
                f"--pool={pool}",
                "-c",
                str(concurrency),
                "--loglevel=INFO",
                f"--hostname=w{n}-{uuid.uuid4().hex[:6]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            self.env,
            self.tmp / f"worker-{n}.log",
        )
        self.processes.append(worker)
        self.workers.append(worker)
        wait_for(lambda: " ready." in worker.output(), 60, f"worker {n}", worker.output)
        return worker

    def revive(self) -> int:
        """Start a worker in place of each one that exited by itself, as the deployment's
        restart policy does (docker-compose.yml: `restart: unless-stopped`)."""
        dead = [worker for worker in self.workers if not worker.alive()]
        for worker in dead:
            self.workers.remove(worker)
            self.revived += 1
            self.start_worker()
        return len(dead)

    def start_beat(self) -> Process:
        beat = Process(
            [
                str(CELERY),
                "-A",
                "workers.main",
                "beat",
                "--loglevel=INFO",
                f"--schedule={self.tmp / 'beat-schedule'}",
            ],
            self.env,
            self.tmp / "beat.log",
        )
        self.processes.append(beat)
        self.beat = beat
        wait_for(lambda: "workers.tasks.sweep_outbox" in beat.output(), 60, "beat", beat.output)
        return beat

    def logs(self) -> str:
        return "\n".join(f"--- {p.log.name}\n{p.output()[-3000:]}" for p in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            process.kill()


@pytest.fixture
def stack(
    tmp_path: Path, database_url: str, redis_server: RedisServer, smtp: SmtpSink, app: Flask
) -> Iterator[Stack]:
    stack = Stack(tmp_path, database_url, redis_server, smtp)
    try:
        with relaying_to(app, redis_server.url):
            yield stack
    finally:
        stack.stop()


@contextmanager
def relaying_to(app: Flask, redis_url: str) -> Iterator[None]:
    """Let the shared test app relay outbox rows to the private Redis (not in-process), and
    give it its own Celery app and settings back afterwards."""
    saved_celery = app.extensions["celery"]
    saved = {k: app.config[k] for k in ("CELERY_ALWAYS_EAGER", "REDIS_URL")}
    app.config.update(CELERY_ALWAYS_EAGER=False, REDIS_URL=redis_url)
    private = celery_init_app(app)
    try:
        yield
    finally:
        private.close()
        app.config.update(saved)
        app.extensions["celery"] = saved_celery
        saved_celery.set_default()


def dispatch(app: Flask, task: str, *args: object) -> None:
    with app.app_context():
        app.extensions["celery"].tasks[task].apply_async(args=args)


# --- data -------------------------------------------------------------------------------------


@dataclass
class Scene:
    org: dict
    legal: dict
    customer_ids: dict[str, int]  # external_ref -> id

    def address(self, ref: str, locale: str) -> str:
        return f"{ref.lower()}-{locale}@salon.example"


def make_scene(app: Flask, world, client, customers: int) -> Scene:
    """An organization with `customers` customers, each with a Polish and an English contact,
    inserted in bulk."""
    org = world.org("bookero", legal_contact_email="dpo@bookero.example")
    legal = bearer(world.key("legal", org))
    with app.app_context():
        refs = [f"C{n:05d}" for n in range(customers)]
        table = Customer.__table__
        inserted = db.session.execute(
            table.insert().returning(table.c.external_ref, table.c.id),
            [
                {
                    "organization_id": org["id"],
                    "external_ref": ref,
                    "name": f"Salon Łódź {ref}",
                    "started_on": clock.local_today("Europe/Warsaw") - timedelta(days=365),
                }
                for ref in refs
            ],
        ).all()
        by_ref = dict(sorted(inserted))
        db.session.execute(
            CustomerContact.__table__.insert(),
            [
                {"customer_id": cid, "email": f"{ref.lower()}-{loc}@salon.example", "locale": loc}
                for ref, cid in by_ref.items()
                for loc in ("pl", "en")
            ],
        )
        db.session.commit()
        db.session.remove()
    return Scene(org, legal, by_ref)


def announce(client, world, scene: Scene, name: str = "Pocztex Żółć") -> dict:
    created = client.post(
        "/api/v1/orgs/bookero/subprocessors", json=vendor(name=name), headers=scene.legal
    )
    assert created.status_code == 201, created.json
    change = client.post(
        "/api/v1/orgs/bookero/changes",
        json={
            "kind": "add",
            "recipient_id": created.json["id"],
            "effective_on": world.day(scene.org, 45),
        },
        headers=scene.legal,
    )
    assert change.status_code == 201, change.json
    return change.json


def state(app: Flask) -> dict:
    """Counts of deliveries by status, notices delivered, outbox rows by status."""
    with app.app_context():
        try:
            deliveries = dict(
                db.session.execute(
                    select(Delivery.status, func.count()).group_by(Delivery.status)
                ).all()
            )
            items = dict(
                db.session.execute(
                    select(OutboxItem.status, func.count()).group_by(OutboxItem.status)
                ).all()
            )
            delivered = db.session.scalar(
                select(func.count()).where(Notice.delivered_at.is_not(None))
            )
            notices = db.session.scalar(select(func.count()).select_from(Notice))
            return {
                "deliveries": deliveries,
                "outbox": items,
                "notices": notices,
                "notices_delivered": delivered,
            }
        finally:
            db.session.remove()


def explain(stack: Stack, smtp: SmtpSink, app: Flask) -> Callable[[], str]:
    return lambda: f"received={smtp.count()} state={state(app)}\n{stack.logs()}"


def all_sent(app: Flask, expected: int) -> Callable[[], bool]:
    def check() -> bool:
        now = state(app)
        return now["deliveries"].get("sent", 0) >= expected and not now["outbox"].get("pending")

    return check


def link_path(text: str) -> str:
    link = next(line for line in text.splitlines() if "/answers/" in line).strip()
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    if FIGURES:
        print("\ndelivery figures:", json.dumps(FIGURES, indent=2))
        out = ROOT / "test-artifacts"
        if out.is_dir():
            (out / "delivery-figures.json").write_text(json.dumps(FIGURES, indent=2) + "\n")


# --- the tests ----------------------------------------------------------------------------------


def test_announcement_to_1000_customers_reaches_the_smtp_server_2000_times(
    app, client, world, stack, smtp
):
    """1,000 customers x 2 contacts: 2,000 distinct parseable messages in each contact's
    language, a working answer link, no unsubscribe header, and proof of notice."""
    smtp.start()
    scene = make_scene(app, world, client, 1000)
    stack.start_worker()
    stack.start_beat()
    started = time.monotonic()
    change = announce(client, world, scene)
    answered = time.monotonic() - started
    wait_for(lambda: smtp.count() >= 2000, 120, "2,000 messages", explain(stack, smtp, app))
    FIGURES["2000_messages_seconds"] = round(time.monotonic() - started, 2)
    FIGURES["announce_request_seconds"] = round(answered, 3)
    wait_for(all_sent(app, 2000), 30, "every delivery recorded", explain(stack, smtp, app))
    time.sleep(1.5)  # a late duplicate would show up now
    received = smtp.snapshot()
    assert len(received) == 2000

    with app.app_context():
        org = db.session.get(Organization, scene.org["id"])
        item_rows = db.session.scalars(select(OutboxItem)).all()
        assert [(i.topic, i.status) for i in item_rows] == [("change.announced", "done")]
        notice_of = {n.customer_id: n for n in db.session.scalars(select(Notice))}
        message_ids = set()
        links: list[str] = []
        for got in received:
            (rcpt,) = got.rcpt_tos
            ref, _, rest = rcpt.partition("-")
            locale = rest.split("@")[0]
            customer_id = scene.customer_ids[ref.upper()]
            message = got.parsed()
            assert message["To"].addresses[0].addr_spec == rcpt
            assert message["Content-Language"] == locale
            subject = message["Subject"]
            assert "Żółć" in subject
            if locale == "pl":
                assert subject.startswith("bookero sp. z o.o.: zmiana dalszych podmiotów")
            else:
                assert subject.startswith("bookero sp. z o.o.: subprocessor change")
            assert "List-Unsubscribe" not in message
            assert message["From"].addresses[0].display_name == "bookero sp. z o.o."
            assert message["Reply-To"].addresses[0].addr_spec == "dpo@bookero.example"
            assert message["Date"].datetime is not None
            message_ids.add(message["Message-ID"])
            text = message.get_body(("plain",)).get_content()
            assert message.get_body(("html",)) is not None
            path = link_path(text)
            # Every link names its own customer's notice.
            token = path.rsplit("/", 1)[1]
            assert read_answer_token(org, token).id == notice_of[customer_id].id
            links.append(path)
        assert len(message_ids) == 2000

        sent = db.session.scalars(select(Delivery)).all()
        assert {d.message_id for d in sent} == message_ids
        assert all(d.status == "sent" and d.accepted_at for d in sent)
        assert all(d.last_response.startswith("250 2.0.0 Ok: queued as") for d in sent)
        assert len(notice_of) == 1000
        for notice in notice_of.values():
            assert notice.delivered_at is not None
            assert notice.objection_deadline is not None
            assert notice.objection_deadline > notice.delivered_at
        db.session.remove()

    for path in links[:: len(links) // 20]:
        page = client.get(path)
        assert page.status_code == 200, path
        assert "Pocztex" in page.get_data(as_text=True)

    listed = client.get(
        f"/api/v1/orgs/bookero/changes/{change['id']}/notices?per_page=500", headers=scene.legal
    ).json
    assert listed["total"] == 1000
    assert all(n["delivered_at"] for n in listed["items"])


def test_smtp_server_down_at_first_then_up_delivers_everything(app, client, world, stack, smtp):
    """The port is closed when the announcement is made; attempts fail, back off, and once
    the server listens the sweep hands the deliveries out again: none is lost."""
    scene = make_scene(app, world, client, 20)
    stack.start_worker()
    stack.start_beat()
    announce(client, world, scene)

    def refused_twice() -> bool:
        with app.app_context():
            try:
                attempts = db.session.scalars(select(Delivery.attempts)).all()
                return len(attempts) == 40 and min(attempts) >= 2
            finally:
                db.session.remove()

    wait_for(refused_twice, 30, "failed attempts while down", explain(stack, smtp, app))
    with app.app_context():
        pending = db.session.scalars(select(Delivery)).all()
        assert {d.status for d in pending} == {"pending"}
        assert all("cannot connect" in d.last_response for d in pending)
        assert db.session.scalar(select(func.count()).where(Notice.delivered_at.is_not(None))) == 0
        db.session.remove()
    assert smtp.count() == 0

    smtp.start()
    up = time.monotonic()
    wait_for(lambda: smtp.count() >= 40, 60, "delivery after the outage", explain(stack, smtp, app))
    FIGURES["recovery_after_smtp_outage_seconds"] = round(time.monotonic() - up, 2)
    wait_for(all_sent(app, 40), 20, "all recorded sent", explain(stack, smtp, app))
    time.sleep(1.5)
    assert smtp.count() == 40
    assert smtp.duplicates() == 0
    now = state(app)
    assert now["notices_delivered"] == now["notices"] == 20


def test_temporary_failure_is_retried_with_backoff_and_permanent_failure_alerts_legal(
    app, client, world, stack, smtp
):
    scene = make_scene(app, world, client, 5)
    greylisted = scene.address("C00000", "pl")
    half_bad = scene.address("C00001", "en")  # its Polish contact still receives notice
    gone = [scene.address("C00002", "pl"), scene.address("C00002", "en")]
    smtp.temporary[greylisted] = 2
    smtp.refuse.update([half_bad, *gone])
    smtp.start()
    stack.start_worker()
    stack.start_beat()
    change = announce(client, world, scene)

    def settled() -> bool:
        with app.app_context():
            try:
                statuses = Counter(
                    db.session.scalars(
                        select(Delivery.status).where(Delivery.notice_id.is_not(None))
                    )
                )
                return statuses == {"sent": 7, "failed": 3}
            finally:
                db.session.remove()

    wait_for(settled, 45, "retries to settle", explain(stack, smtp, app))
    # Legal staff hear of the one notice that reached nobody: one alert, received.
    wait_for(
        lambda: any("dpo@bookero.example" in m.rcpt_tos for m in smtp.snapshot()),
        30,
        "the legal alert",
        explain(stack, smtp, app),
    )
    time.sleep(2)

    # 451 twice, then accepted: three attempts, spaced by the growing backoff (1 s, 2 s).
    times = smtp.attempts[greylisted]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.9
    assert times[2] - times[1] >= 1.9
    with app.app_context():
        by_address = {d.address: d for d in db.session.scalars(select(Delivery))}
        grey = by_address[greylisted]
        assert (grey.status, grey.attempts) == ("sent", 3)
        assert grey.last_response.startswith("250")
        for address in (half_bad, *gone):
            failed = by_address[address]
            assert failed.status == "failed"
            assert failed.last_response.startswith("550 5.1.1")
            assert "User unknown" in failed.last_response
            assert failed.accepted_at is None
        delivered = {n.customer_id: n.delivered_at for n in db.session.scalars(select(Notice))}
        assert delivered[scene.customer_ids["C00001"]] is not None
        assert delivered[scene.customer_ids["C00002"]] is None
        assert sum(1 for when in delivered.values() if when is None) == 1
        alerts = db.session.scalars(
            select(OutboxItem).where(OutboxItem.topic == "alert.legal")
        ).all()
        assert [a.payload["customer_id"] for a in alerts] == [scene.customer_ids["C00002"]]
        db.session.remove()

    alert_mails = [m for m in smtp.snapshot() if m.rcpt_tos == ["dpo@bookero.example"]]
    assert len(alert_mails) == 1
    alert = alert_mails[0].parsed()
    assert "Salon Łódź C00002" in alert.get_body(("plain",)).get_content()
    assert "550 5.1.1" in alert.get_body(("plain",)).get_content()

    listed = client.get(
        f"/api/v1/orgs/bookero/changes/{change['id']}/notices", headers=scene.legal
    ).json
    gaps = [n["customer"]["external_ref"] for n in listed["items"] if not n["delivered_at"]]
    assert gaps == ["C00002"]


# The default of scripts/entrypoint.sh (threads x 8) and a prefork pool of 2.
@pytest.mark.parametrize(("pool", "concurrency"), [("prefork", 2), ("threads", 8)])
def test_worker_killed_mid_fan_out_a_new_worker_serves_everyone(
    app, client, world, stack, smtp, pool, concurrency
):
    """SIGKILL to the whole worker (main process and pool) when about half of 3,000 messages
    are out; a new worker and the sweep finish. Duplicates stay within the bound:
    MAIL_COMMIT_BATCH per sending thread or process."""
    smtp.start()
    scene = make_scene(app, world, client, 1500)
    first = stack.start_worker(pool, concurrency)
    stack.start_beat()
    announce(client, world, scene)
    wait_for(lambda: smtp.count() >= 1500, 90, "half of the fan-out", explain(stack, smtp, app))
    first.kill(signal.SIGKILL)
    killed_at = smtp.count()
    stack.start_worker()
    wait_for(lambda: smtp.count() >= 3000, 120, "the rest", explain(stack, smtp, app))
    wait_for(all_sent(app, 3000), 60, "every delivery recorded", explain(stack, smtp, app))
    time.sleep(2)

    received = smtp.snapshot()
    addresses = {m.rcpt_tos[0] for m in received}
    expected = {scene.address(ref, loc) for ref in scene.customer_ids for loc in ("pl", "en")}
    assert addresses == expected  # every recipient served
    duplicates = smtp.duplicates()
    bound = COMMIT_BATCH * concurrency  # one killed worker
    FIGURES[f"sigkill_{pool}_{concurrency}"] = {
        "received_when_killed": killed_at,
        "received_total": len(received),
        "duplicates": duplicates,
        "bound": bound,
    }
    assert duplicates <= bound
    now = state(app)
    assert now["deliveries"] == {"sent": 3000}
    assert now["notices_delivered"] == now["notices"] == 1500


def test_a_task_delivered_twice_sends_nothing_twice(app, client, world, stack, smtp):
    """The broker may hand a task out twice: both copies race, each message goes out once."""
    from service.mail.delivery import process_item

    smtp.start()
    scene = make_scene(app, world, client, 50)
    announce(client, world, scene)  # relayed: process_outbox is queued, no worker yet
    with app.app_context():
        (item_id,) = db.session.scalars(select(OutboxItem.id)).all()
        db.session.remove()
    dispatch(app, "workers.tasks.process_outbox", item_id)  # the second copy
    # Expand here, so the send tasks exist before any worker: queue each of them twice.
    chunks: list[list[int]] = []
    with app.app_context():
        assert process_item(item_id, on_chunk=chunks.append)
        db.session.remove()
    for chunk in chunks:
        dispatch(app, "workers.tasks.send_deliveries", chunk)
        dispatch(app, "workers.tasks.send_deliveries", chunk)
    worker = stack.start_worker()  # both pool processes take copies at once
    wait_for(lambda: smtp.count() >= 100, 60, "100 messages", explain(stack, smtp, app))
    wait_for(all_sent(app, 100), 20, "recorded", explain(stack, smtp, app))
    # Later copies of both tasks, after everything was sent, do nothing either.
    dispatch(app, "workers.tasks.send_deliveries", chunks[0])
    dispatch(app, "workers.tasks.process_outbox", item_id)
    tasks = 2 + 2 * len(chunks) + 2
    wait_for(
        lambda: worker.output().count("succeeded in") >= tasks,
        30,
        f"{tasks} tasks to run",
        explain(stack, smtp, app),
    )
    assert smtp.count() == 100
    assert smtp.duplicates() == 0
    with app.app_context():
        attempts = db.session.scalars(select(Delivery.attempts)).all()
        assert sorted(set(attempts)) == [1]
        assert len(attempts) == 100
        db.session.remove()


def test_redis_restarted_mid_fan_out_the_sweep_recovers(
    app, client, world, stack, smtp, redis_server
):
    """Redis goes away (and comes back empty) while a fan-out is under way: the queued
    tasks are lost, the outbox is not; the sweep queues the rest again. A worker may exit
    on the lost broker (kombu can fail while its consumer restarts); it is started again
    as the deployment's restart policy would, and nothing it held is lost either."""
    smtp.start()
    scene = make_scene(app, world, client, 600)
    stack.start_worker()
    stack.start_beat()
    announce(client, world, scene)
    wait_for(lambda: smtp.count() >= 300, 90, "part of the fan-out", explain(stack, smtp, app))
    redis_server.stop()
    stopped_at = smtp.count()
    time.sleep(2)
    redis_server.start()
    restarted = time.monotonic()

    def every_message() -> bool:
        stack.revive()
        return smtp.count() >= 1200

    wait_for(every_message, 120, "every message", explain(stack, smtp, app))
    wait_for(all_sent(app, 1200), 30, "every delivery recorded", explain(stack, smtp, app))
    time.sleep(1.5)
    received = smtp.snapshot()
    addresses = {m.rcpt_tos[0] for m in received}
    assert len(addresses) == 1200
    duplicates = smtp.duplicates()
    FIGURES["redis_restart"] = {
        "received_when_stopped": stopped_at,
        "seconds_to_finish_after_restart": round(time.monotonic() - restarted, 2),
        "duplicates": duplicates,
        "workers_restarted": stack.revived,
    }
    # Nothing was killed: a lost broker costs no duplicate beyond the documented bound.
    assert duplicates <= COMMIT_BATCH * CONCURRENCY
    now = state(app)
    assert now["notices_delivered"] == now["notices"] == 600


@pytest.mark.parametrize("smtputf8", [True, False], ids=["smtputf8", "ascii-only"])
def test_non_ascii_addresses_need_smtputf8_and_are_refused_for_good_without(smtputf8):
    """The API accepts `żaneta@salon.example`: it goes out with SMTPUTF8 where the server
    offers it, and fails for good (not retried for hours) where it does not. Either way the
    connection serves the next message."""
    sink = SmtpSink(_free_port(), smtputf8=smtputf8)
    sink.start()
    try:

        def message(to: str) -> EmailMessage:
            built = EmailMessage()
            built["From"] = '"Zakład Łódź" <notices@dpa-registry.localhost>'
            built["To"] = to
            built["Subject"] = "Zmiana dalszych podmiotów przetwarzających: Żółć"
            built["Message-ID"] = f"<{uuid.uuid4().hex}@dpa-registry.localhost>"
            built.set_content("Dzień dobry")
            return built

        with SMTPSender("127.0.0.1", sink.port, timeout=5) as sender:
            if smtputf8:
                assert sender.send(message("żaneta@salon.example")).startswith("250")
            else:
                with pytest.raises(PermanentFailure, match="SMTPUTF8"):
                    sender.send(message("żaneta@salon.example"))
            assert sender.send(message("ascii@salon.example")).startswith("250")
        received = {m.rcpt_tos[0]: m.parsed() for m in sink.snapshot()}
        expected = {"żaneta@salon.example", "ascii@salon.example"} if smtputf8 else set()
        assert set(received) == expected | {"ascii@salon.example"}
        for address, parsed in received.items():
            assert parsed["To"].addresses[0].addr_spec == address
            assert parsed["Subject"] == "Zmiana dalszych podmiotów przetwarzających: Żółć"
            assert parsed["From"].addresses[0].display_name == "Zakład Łódź"
    finally:
        sink.stop()
