"""The production stack outside Docker: the compose file validates, and the commands its
containers run (scripts/entrypoint.sh migrate|api|worker|beat) work here against
PostgreSQL and Redis with production settings: JSON logs whose request id follows a
request into the worker, /metrics counters that move, refusal of unsafe settings."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
import yaml
from alembic.script import ScriptDirectory

from service import MIGRATIONS
from tests.conftest import ADMIN_URL, REDIS_URL, _admin, _with_database, vendor
from tests.processes import Process, redis_server

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("VIRTUAL_ENV") or ROOT / ".venv") / "bin"
ENTRYPOINT = str(ROOT / "scripts" / "entrypoint.sh")
STRONG_KEY = "k" * 16 + uuid.uuid4().hex  # 48 characters, unique per run
ARTIFACTS = ROOT / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], object], seconds: float, what: str, output=lambda: "") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}; output:\n{output()[-4000:]}")


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in reversed(started):
        process.stop()


@pytest.fixture
def fresh_database() -> Iterator[str]:
    name = f"dpa_prod_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(ADMIN_URL, name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def broker_url(tmp_path: Path, processes: list[Process]) -> str:
    """A private Redis when redis-server is installed, so no other worker takes our tasks."""
    import redis

    if not shutil.which("redis-server"):
        return REDIS_URL
    port = _free_port()
    server = redis_server(port, tmp_path)
    processes.append(server)
    url = f"redis://127.0.0.1:{port}/0"

    def up() -> bool:
        try:
            return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    wait_for(up, 10, "redis-server", server.output)
    return url


def production_env(database_url: str, broker: str, **extra: str) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DPA_", "PROMETHEUS_", "GUNICORN_")) and key != "DATABASE_URL"
    }
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        DPA_ENV="production",
        DPA_SECRET_KEY=STRONG_KEY,
        DATABASE_URL=database_url,
        REDIS_URL=broker,
        DPA_PUBLIC_BASE_URL="https://dpa.example.com",
        DPA_LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


def call(url: str, method: str = "GET", body: dict | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, data, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text, or None when absent."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        metric, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', metric))
        if metric.split("{")[0] == name and all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


def run(argv: list[str], env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


# --- the compose file and the image -----------------------------------------------------------


def test_compose_file_validates_with_the_example_env_file() -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        message = "docker-compose is not installed (apt-get install docker-compose)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    env = {**os.environ, "DPA_ENV_FILE": ".env.example"}
    base = [tool, "--env-file", ".env.example", "-f", "docker-compose.yml", "config"]
    checked = run([*base, "-q"], env)
    assert checked.returncode == 0, checked.stderr
    services = run([*base, "--services"], env).stdout.split()
    expected = ["api", "beat", "exports", "migrate", "mailpit", "postgres", "redis", "worker"]
    assert sorted(services) == sorted(expected)
    text = (ROOT / "docker-compose.yml").read_text()
    # Everything that runs the app waits for the one-shot migration to have succeeded.
    assert text.count("condition: service_completed_successfully") == 1  # in the x-app anchor
    for service in ("api", "worker", "beat", "exports"):
        block = text.split(f"\n  {service}:\n", 1)[1].split("\n\n", 1)[0]
        assert "<<: *app" in block
    _exports_have_their_own_worker(yaml.safe_load(run(base, env).stdout)["services"])
    # A compose file without the secrets set is refused, not started with blanks.
    unset = run([tool, "-f", "docker-compose.yml", "config", "-q"], {**env, "DPA_ENV_FILE": "x"})
    assert unset.returncode != 0
    assert "POSTGRES_PASSWORD" in unset.stderr


def _exports_have_their_own_worker(services: dict) -> None:
    """Every process that queues or re-queues an export routes it to `exports`, which only
    the `exports` service reads, one build at a time, at a fraction of a default
    container's CPU weight (1024): `nice` would not reach across containers."""
    for name in ("api", "worker", "beat", "exports"):
        assert services[name]["environment"]["DPA_RECORD_EXPORT_QUEUE"] == "exports", name
    exports = services["exports"]
    assert exports["command"] == ["worker", "-Q", "exports"]
    assert exports["environment"]["DPA_WORKER_POOL"] == "prefork"
    assert exports["environment"]["DPA_WORKER_CONCURRENCY"] == "1"
    assert 2 <= int(exports["cpu_shares"]) <= 512
    assert "cpu_shares" not in services["api"]
    assert "-Q" not in services["worker"]["command"]  # mail keeps the default queue


def test_the_dockerfile_copies_what_exists_and_runs_as_non_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for sources in re.findall(r"^COPY\s+(.+?)\s+\S+$", dockerfile, flags=re.M):
        for source in sources.split():
            assert (ROOT / source).exists(), source
            assert source not in ignored, source
    assert re.search(r"^USER app", dockerfile, flags=re.M)
    assert "HEALTHCHECK" in dockerfile
    assert "/healthz" in dockerfile
    assert os.access(ROOT / "scripts" / "entrypoint.sh", os.X_OK)
    # The image installs the runtime dependencies named in pyproject.toml, no dev extras.
    extract = re.search(r'python -c "(import tomllib;.+?)"', dockerfile).group(1)
    listed = run([str(BIN / "python"), "-c", extract], dict(os.environ))
    assert listed.returncode == 0, listed.stderr
    names = {re.split(r"[<>=\[ ]", line)[0].lower() for line in listed.stdout.split()}
    assert {"flask", "gunicorn", "celery", "prometheus-client"} <= names
    assert "pytest" not in names


# --- production settings ------------------------------------------------------------------------


def test_production_refuses_the_example_env_file_placeholders(monkeypatch) -> None:
    from service import create_app
    from service.config import UnsafeConfiguration

    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            monkeypatch.setenv(key, value)
    with pytest.raises(UnsafeConfiguration, match="DPA_SECRET_KEY"):
        create_app({"LOG_FORMAT": "text"})


def test_migrations_run_twice_at_once_both_succeed(fresh_database: str, tmp_path: Path) -> None:
    env = production_env(fresh_database, REDIS_URL)
    logs = [tmp_path / "migrate-1.log", tmp_path / "migrate-2.log"]
    runs = [Process([ENTRYPOINT, "migrate"], env, log) for log in logs]
    codes = [r.proc.wait(timeout=180) for r in runs]
    assert codes == [0, 0], "\n".join(r.output() for r in runs)
    # One ran the upgrade; the other waited for the lock and found nothing left to do.
    upgraded = [r for r in runs if "Running upgrade" in r.output()]
    assert len(upgraded) == 1, "\n".join(r.output() for r in runs)
    with psycopg.connect(fresh_database) as conn:
        versions = [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
    assert versions == list(ScriptDirectory(MIGRATIONS).get_heads())


def test_the_api_command_refuses_to_start_with_default_secrets(
    fresh_database: str, tmp_path: Path, processes: list[Process]
) -> None:
    env = production_env(fresh_database, REDIS_URL, GUNICORN_BIND=f"127.0.0.1:{_free_port()}")
    env.pop("DPA_SECRET_KEY")
    api = Process([ENTRYPOINT, "api"], env, tmp_path / "api.log")
    processes.append(api)
    code = api.proc.wait(timeout=60)
    assert code != 0
    assert "refusing to start (DPA_ENV=production)" in api.output()
    assert "DPA_SECRET_KEY" in api.output()


# --- the stack: api, worker and beat --------------------------------------------------------------


def test_stack_serves_logs_request_ids_into_the_worker_and_counts(
    fresh_database: str, broker_url: str, tmp_path: Path, processes: list[Process]
) -> None:
    figures: dict[str, object] = {}
    api_port, worker_metrics_port = _free_port(), _free_port()
    base = f"http://127.0.0.1:{api_port}"
    mail_dir = tmp_path / "mail"
    env = production_env(
        fresh_database,
        broker_url,
        DPA_OUTBOX_SWEEP_INTERVAL_SECONDS="1",
        DPA_MAIL_BACKEND="file",
        DPA_MAIL_FILE_DIR=str(mail_dir),
    )

    started = time.monotonic()
    migrated = run([ENTRYPOINT, "migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    figures["migrate_seconds"] = round(time.monotonic() - started, 2)
    # The migrate step logs JSON lines too (production default).
    assert json.loads(migrated.stderr.strip().splitlines()[-1])["logger"].startswith("alembic")

    flask = [str(BIN / "flask"), "--app", "service"]
    created = run(
        [
            *flask,
            "orgs",
            "create",
            "--slug",
            "acme",
            "--legal-name",
            "ACME sp. z o.o.",
            "--country",
            "PL",
            "--contact-email",
            "legal@acme.example",
        ],
        env,
    )
    assert created.returncode == 0, created.stderr
    key = run([*flask, "keys", "create", "--org", "acme", "--role", "legal", "--name", "ops"], env)
    assert key.returncode == 0, key.stderr
    legal = {"Authorization": f"Bearer {key.stdout.strip()}"}

    started = time.monotonic()
    api = Process(
        [ENTRYPOINT, "api"],
        {**env, "GUNICORN_BIND": f"127.0.0.1:{api_port}", "WEB_CONCURRENCY": "2"},
        tmp_path / "api.log",
    )
    processes.append(api)
    worker = Process(
        [ENTRYPOINT, "worker"],
        {
            **env,
            "DPA_WORKER_CONCURRENCY": "2",
            "DPA_WORKER_METRICS_PORT": str(worker_metrics_port),
            "DPA_WORKER_METRICS_ADDR": "127.0.0.1",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "worker-metrics"),
        },
        tmp_path / "worker.log",
    )
    processes.append(worker)
    beat = Process(
        [ENTRYPOINT, "beat"],
        {**env, "DPA_BEAT_SCHEDULE": str(tmp_path / "beat-schedule")},
        tmp_path / "beat.log",
    )
    processes.append(beat)

    def api_ready() -> bool:
        try:
            return call(base + "/readyz")[0] == 200
        except OSError:
            return False

    wait_for(api_ready, 60, "the API to answer /readyz", api.output)
    figures["api_ready_seconds"] = round(time.monotonic() - started, 2)
    wait_for(lambda: " ready." in worker.output(), 60, "the worker", worker.output)
    figures["worker_ready_seconds"] = round(time.monotonic() - started, 2)

    status, _, before = call(base + "/metrics")
    assert status == 200
    before = before.decode()
    assert sample(before, "dpa_database_up") == 1.0
    assert sample(before, "dpa_outbox_depth", queue="outbox") == 0.0

    # Some data, through the API: a customer with a contact, a vendor, then an announcement.
    api_org = base + "/api/v1/orgs/acme"
    service = {"slug": "bookings", "name_pl": "Rezerwacje", "name_en": "Bookings"}
    assert call(api_org + "/services", "POST", service, legal)[0] == 201
    customer = {
        "external_ref": "C1",
        "name": "Salon Łódź",
        "services": ["bookings"],
        "contacts": [{"email": "owner@salon.example", "locale": "pl"}],
        "agreement": {"notice_days": 14},
    }
    assert call(api_org + "/customers", "POST", customer, legal)[0] == 201
    status, _, body = call(api_org + "/subprocessors", "POST", vendor(), legal)
    assert status == 201, body
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    change = {
        "kind": "add",
        "recipient_id": json.loads(body)["id"],
        "effective_on": (date.today() + timedelta(days=40)).isoformat(),
    }
    status, headers, body = call(
        api_org + "/changes", "POST", change, {**legal, "X-Request-ID": request_id}
    )
    assert status == 201, body
    assert headers["X-Request-ID"] == request_id

    # The worker expands the announcement and sends the notice: one .eml file.
    wait_for(lambda: mail_dir.is_dir() and any(mail_dir.iterdir()), 30, "the notice", worker.output)

    # The API's access log names the request id, and so do the worker's lines of the tasks
    # that request caused: process_outbox and the send_deliveries it queued in turn.
    access = [e for e in api.json_lines() if e.get("logger") == "gunicorn.access"]
    assert any(
        e.get("request_id") == request_id and e["path"] == "/api/v1/orgs/acme/changes"
        for e in access
    )

    def tasks_of_request() -> set[str]:
        return {e["task_name"] for e in worker.json_lines() if e.get("request_id") == request_id}

    wanted = {"workers.tasks.process_outbox", "workers.tasks.send_deliveries"}
    wait_for(lambda: wanted <= tasks_of_request(), 20, "request id in worker", worker.output)
    figures["worker_log_line"] = next(
        e
        for e in worker.json_lines()
        if e.get("request_id") == request_id
        and e.get("task_name") == "workers.tasks.send_deliveries"
    )

    # Beat's schedule reaches the worker; work beat starts carries its own task id.
    def swept() -> list[dict]:
        return [
            e
            for e in worker.json_lines()
            if e.get("task_name") == "workers.tasks.sweep_outbox" and "succeeded" in e["message"]
        ]

    wait_for(swept, 30, "beat's sweep to run in the worker", beat.output)
    assert all(e["request_id"] == e["task_id"] for e in swept())
    assert any(e.get("logger", "").startswith("celery.beat") for e in beat.json_lines())

    # /metrics: request counters moved, by route (not path), and the outbox gauges are there.
    status, _, after = call(base + "/metrics")
    after = after.decode()
    route = "/api/v1/orgs/<org>/changes"
    assert sample(after, "dpa_http_requests_total", method="POST", route=route, status="201") == 1
    assert sample(after, "dpa_http_requests_total", route="/metrics", status="200") >= 1
    assert sample(after, "dpa_http_request_duration_seconds_count", route=route) == 1
    assert "/api/v1/orgs/acme/changes" not in after
    assert sample(after, "dpa_outbox_depth", queue="deliveries") == 0.0
    assert sample(after, "dpa_outbox_oldest_due_age_seconds", queue="outbox") == 0.0
    assert sample(after, "dpa_outbox_failed", queue="deliveries") == 0.0

    # The worker's own /metrics: e-mails sent and tasks run, summed over its pool.
    def worker_metrics() -> str:
        return call(f"http://127.0.0.1:{worker_metrics_port}/metrics")[2].decode()

    wait_for(
        lambda: sample(worker_metrics(), "dpa_deliveries_total", channel="email", outcome="sent"),
        10,
        "the worker's e-mail counter",
    )
    text = worker_metrics()
    assert sample(text, "dpa_deliveries_total", channel="email", outcome="sent") == 1
    assert sample(text, "dpa_tasks_total", task="workers.tasks.process_outbox", state="SUCCESS")
    figures["api_metrics"] = [
        line
        for line in after.splitlines()
        if line.startswith(('dpa_http_requests_total{method="POST"', "dpa_outbox_depth"))
    ]
    figures["worker_metrics"] = [
        line for line in text.splitlines() if line.startswith("dpa_deliveries_total")
    ]

    # A clean stop: every process of the stack ends on SIGTERM.
    for process, name in ((api, "api"), (worker, "worker"), (beat, "beat")):
        began = time.monotonic()
        process.stop(signal.SIGTERM)
        figures[f"{name}_stop_seconds"] = round(time.monotonic() - began, 2)
        assert process.proc.returncode == 0, (name, process.output()[-2000:])
    if ARTIFACTS.is_dir():
        (ARTIFACTS / "production-stack.json").write_text(
            json.dumps(figures, indent=2, ensure_ascii=False)
        )
