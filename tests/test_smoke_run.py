"""Smoke suite: `make run`'s own script on the embedded SQLite default, with a real
Celery worker and beat, started and stopped as an operator would."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.smoke


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, method: str = "GET", body: dict | None = None, key: str | None = None):
    request = urllib.request.Request(url, method=method)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, data, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Stack:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"run-{time.monotonic_ns()}.log"
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PORT": str(self.port),
            "DATABASE_URL": f"sqlite:///{self.workdir / 'registry.sqlite3'}",
            "DPA_INSTANCE_PATH": str(self.workdir / "instance"),
            "REDIS_URL": REDIS_URL,
            # Beat runs the audit verification every second so the test sees a task
            # travel from beat through Redis to the worker.
            "DPA_AUDIT_VERIFY_INTERVAL_SECONDS": "1",
        }

    def start(self) -> None:
        env = self.env()
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                ["bash", str(ROOT / "scripts" / "run.sh")],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_for(lambda: self.ready(), 90, "the API to answer /readyz")

    def ready(self) -> bool:
        try:
            return _call(self.base + "/readyz")[0] == 200
        except OSError:
            return False

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, check, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if check():
                return
            if self.proc and self.proc.poll() is not None:
                break
            time.sleep(0.25)
        pytest.fail(f"timed out waiting for {what}; output:\n{self.output()[-4000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)
        code = self.proc.wait(timeout=60)
        # Nothing of the process group may outlive the run.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return code
            time.sleep(0.2)
        os.killpg(self.proc.pid, signal.SIGKILL)
        pytest.fail("processes of the run outlived it")

    def keys(self) -> dict[str, str]:
        text = (self.workdir / "instance" / "demo-keys.env").read_text()
        pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
        return {k.strip(): v.strip() for k, v in pairs if not k.startswith("#")}


@pytest.fixture
def stack(tmp_path: Path):
    stack = Stack(tmp_path)
    yield stack
    if stack.proc and stack.proc.poll() is None:
        os.killpg(stack.proc.pid, signal.SIGKILL)


def test_make_run_serves_the_demo_with_worker_and_beat_and_restarts_on_same_data(stack):
    stack.start()
    status, body = _call(stack.base + "/api/v1/orgs/bookero/subprocessors")
    assert status == 200
    names = {item["name"] for item in body["items"]}
    assert {"Stripe", "tpay.com"} <= names
    stripe = next(i for i in body["items"] if i["name"] == "Stripe")
    assert stripe["country"]
    assert stripe["role"]
    assert stripe["locations"]
    assert all(loc["mechanism"] for loc in stripe["locations"])

    keys = stack.keys()
    legal, foreign = keys["BOOKERO_LEGAL_KEY"], keys["BEZKALKULATORA_LEGAL_KEY"]
    api = stack.base + "/api/v1/orgs/bookero"
    status, created = _call(
        api + "/subprocessors",
        "POST",
        {
            "name": "Smoke Mail",
            "legal_entity": "Smoke Mail GmbH",
            "country": "DE",
            "role": "subprocessor",
            "purpose_pl": "Wysyłka e-maili",
            "purpose_en": "E-mail delivery",
            "locations": [{"country": "DE", "mechanism": "none"}],
        },
        legal,
    )
    assert status == 201, created
    effective = date.today() + timedelta(days=40)
    status, change = _call(
        api + "/changes",
        "POST",
        {"kind": "add", "recipient_id": created["id"], "effective_on": effective.isoformat()},
        legal,
    )
    assert status == 201, change
    _, changes = _call(api + "/changes")
    assert changes["items"][0]["id"] == change["id"]

    # The default mail backend of make run writes each notice as an .eml file.
    mail = stack.workdir / "instance" / "mail"

    def notices_written() -> list:
        found = [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in mail.glob("*.eml")
        ]
        return [m for m in found if "Smoke Mail" in m["Subject"]]

    stack.wait_for(lambda: len(notices_written()) >= 4, 60, "notices as .eml under instance/mail")
    assert all(m["Message-ID"] and m["Content-Language"] for m in notices_written())
    # Every link in them points at the port this run serves on.
    for message in notices_written():
        links = re.findall(r"https?://[^\s\"'<>]+", message.get_body(("plain",)).get_content())
        assert links
        assert all(link.startswith(stack.base + "/") for link in links), links

    # A second run on the same port refuses to start instead of claiming the first's success.
    second = subprocess.run(
        ["bash", str(ROOT / "scripts" / "run.sh")],
        env={**stack.env(), "DPA_INSTANCE_PATH": str(stack.workdir / "second")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert f"127.0.0.1:{stack.port} is already in use" in second.stderr
    assert "is running" not in second.stdout

    def listed(day: date) -> bool:
        _, page = _call(f"{api}/subprocessors?as_of={day.isoformat()}&per_page=500")
        return created["id"] in {i["id"] for i in page["items"]}

    assert listed(effective)
    assert not listed(effective - timedelta(days=1))
    assert _call(f"{api}/subprocessors/{created['id']}", key=foreign)[0] == 404

    # Beat -> Redis -> worker: the periodic audit verification ran and found the chain intact.
    stack.wait_for(lambda: "audit chain" in stack.output(), 60, "the worker to run a beat task")
    assert "broken" not in stack.output()

    code = stack.stop()
    assert code in (0, 130, 143), stack.output()[-2000:]
    assert "run: stopped." in stack.output()

    # Same data again: seeding creates nothing new, the registered vendor is still there.
    stack.start()
    assert "seeded: nothing new" in stack.output()
    assert stack.keys()["BOOKERO_LEGAL_KEY"] == legal
    status, again = _call(f"{api}/subprocessors/{created['id']}", key=legal)
    assert status == 200
    assert again["listed_from"] == effective.isoformat()
    stack.stop(signal.SIGINT)
