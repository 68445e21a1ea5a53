"""Export jobs of the record (Art. 30(2)): a worker builds the file in chunks, a signed
link that expires fetches it, a cap bounds each organization's jobs, beat purges old files,
and the synchronous record refuses organizations too large for one request.

Celery runs eagerly here (the suite's app), so a job is built inside the POST that asks
for it; the files are compared with what `GET .../record` answers for the same day."""

# ruff: noqa: F811 - the fixture imported from tests/test_records.py is a parameter here

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from openpyxl import load_workbook

from service.extensions import db
from service.organizations.models import Organization
from service.records import exports
from service.records.models import RecordExport
from tests.conftest import audit_events, bearer
from tests.notice_kit import assert_problem
from tests.test_records import BOOKERO, demo  # noqa: F401 - demo is a fixture

pytestmark = pytest.mark.usefixtures("fixed_clock")

AS_OF = "2026-06-15"
EXPORTS = f"{BOOKERO}/record/exports"


@pytest.fixture(autouse=True)
def small_chunks(app, monkeypatch):
    """Two customers per chunk, so even the demo's record is built in several."""
    monkeypatch.setitem(app.config, "RECORD_EXPORT_CHUNK", 2)


def ask(client, legal, fmt: str, **extra):
    return client.post(EXPORTS, json={"format": fmt, "as_of": AS_OF, **extra}, headers=legal)


def download(client, job: dict):
    """Fetch the job's signed link, as a browser would: without a key."""
    url = urlsplit(job["download_url"])
    response = client.get(f"{url.path}?{url.query}")
    response.get_data()  # read, then close: the file is streamed from disk
    response.close()
    return response


def synchronous(client, legal, fmt: str):
    return client.get(
        f"{BOOKERO}/record", query_string={"format": fmt, "as_of": AS_OF}, headers=legal
    )


def sheets(body: bytes) -> dict[str, list[tuple]]:
    book = load_workbook(io.BytesIO(body))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def test_a_job_reports_its_progress_and_audits_each_step(client, demo):
    legal = demo["bookero"]
    asked = ask(client, legal, "json")
    assert asked.status_code == 202, asked.json
    job = asked.json
    assert asked.headers["Location"] == f"{EXPORTS}/{job['id']}"
    total = synchronous(client, legal, "json").json["total"]
    assert total > 2  # built in more than one chunk
    assert job["status"] == "done"
    assert job["progress"] == {"done": total, "total": total}
    assert job["download_url"]
    assert job["sha256"]
    assert job["size"] > 0
    polled = client.get(f"{EXPORTS}/{job['id']}", headers=legal)
    assert polled.status_code == 200
    assert polled.json["sha256"] == job["sha256"]
    actions = [e["action"] for e in audit_events(client, demo["orgs"]["bookero"], legal)]
    assert "record.export_requested" in actions
    assert "record.export_completed" in actions


def test_progress_is_written_after_every_chunk(app, demo):
    with app.app_context():
        org = db.session.query(Organization).filter_by(slug="bookero").one()
        export = exports.request_export(org, "test", "csv", "en", date.fromisoformat(AS_OF))
        db.session.commit()
        claimed = exports.claim(export.id)
        steps = []
        for _ in exports.build(claimed):
            db.session.commit()
            steps.append(db.session.get(RecordExport, export.id).progress_done)
        db.session.commit()
        total = db.session.get(RecordExport, export.id).progress_total
    assert steps == [min(n, total) for n in range(2, total + 2, 2)]


def test_the_pause_comes_between_committed_chunks(app, demo, monkeypatch):
    monkeypatch.setitem(app.config, "RECORD_EXPORT_PAUSE", 0.25)
    events: list = []
    monkeypatch.setattr(exports.time, "sleep", lambda seconds: events.append(("sleep", seconds)))
    with app.app_context():
        org = db.session.query(Organization).filter_by(slug="bookero").one()
        export = exports.request_export(org, "test", "json", "en", date.fromisoformat(AS_OF))
        db.session.commit()
        for done in exports.build(exports.claim(export.id)):
            db.session.commit()
            events.append(("commit", done))
        db.session.commit()
        total = db.session.get(RecordExport, export.id).progress_total
    chunks = [("commit", min(n, total)) for n in range(2, total + 2, 2)]
    # After every chunk but the last, once its transaction is committed.
    assert events == [e for c in chunks for e in (c, ("sleep", 0.25))][:-1]


def test_the_csv_equals_the_synchronous_record_byte_for_byte(client, demo):
    legal = demo["bookero"]
    job = ask(client, legal, "csv").json
    fetched = download(client, job)
    assert fetched.status_code == 200
    assert fetched.headers["Cache-Control"] == "no-store"
    assert "attachment" in fetched.headers["Content-Disposition"]
    assert fetched.data == synchronous(client, legal, "csv").data


def test_the_json_equals_the_synchronous_record_when_parsed(client, demo):
    legal = demo["bookero"]
    job = ask(client, legal, "json", lang="pl").json
    fetched = download(client, job)
    expected = client.get(
        f"{BOOKERO}/record", query_string={"as_of": AS_OF, "lang": "pl"}, headers=legal
    )
    assert json.loads(fetched.data) == expected.json


def test_the_xlsx_equals_the_synchronous_record_when_parsed(client, demo):
    legal = demo["bookero"]
    job = ask(client, legal, "xlsx").json
    fetched = download(client, job)
    assert fetched.status_code == 200
    assert sheets(fetched.data) == sheets(synchronous(client, legal, "xlsx").data)


def test_expired_foreign_and_forged_links_are_refused(client, demo, time_machine):
    legal = demo["bookero"]
    first, second = ask(client, legal, "csv").json, ask(client, legal, "json").json
    token = urlsplit(first["download_url"]).query
    # Another export's id with this export's token, a forged token, another organization.
    assert_problem(client.get(f"{EXPORTS}/{second['id']}/download?{token}"), 404)
    assert_problem(client.get(f"{EXPORTS}/{first['id']}/download?{token}x"), 404)
    other = f"/api/v1/orgs/bezkalkulatora/record/exports/{first['id']}/download?{token}"
    assert_problem(client.get(other), 404)
    assert download(client, first).status_code == 200
    time_machine.shift(timedelta(days=1, seconds=1))
    assert_problem(download(client, first), 404)


def test_another_organizations_export_does_not_exist(client, demo):
    job = ask(client, demo["bookero"], "csv").json
    foreign = f"/api/v1/orgs/bezkalkulatora/record/exports/{job['id']}"
    assert_problem(client.get(foreign, headers=demo["bezkalkulatora"]), 404)
    assert_problem(client.get(f"{EXPORTS}/{job['id']}", headers=demo["bezkalkulatora"]), 404)


def test_an_organization_has_at_most_its_cap_of_unfinished_exports(app, client, demo, monkeypatch):
    monkeypatch.setitem(app.config, "RECORD_EXPORTS_PER_ORG", 1)
    with app.app_context():
        db.session.add(
            RecordExport(
                organization_id=demo["orgs"]["bookero"]["id"],
                requested_by="test",
                format="xlsx",
                lang="en",
                as_of=date.fromisoformat(AS_OF),
            )
        )
        db.session.commit()
    refused = ask(client, demo["bookero"], "csv")
    problem = assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0
    assert problem["retry_after"] > 0
    # Another organization's cap is its own.
    other = client.post(
        "/api/v1/orgs/bezkalkulatora/record/exports",
        json={"format": "csv"},
        headers=demo["bezkalkulatora"],
    )
    assert other.status_code == 202, other.json


def test_beat_builds_stalled_jobs_and_purges_expired_files(app, client, demo, time_machine):
    from workers.tasks import sweep_record_exports

    legal = demo["bookero"]
    job = ask(client, legal, "csv").json
    with app.app_context():
        stored = db.session.get(RecordExport, job["id"])
        path = Path(app.instance_path) / stored.file_path
        # A job whose broker was down when it was asked for: only beat hands it on.
        db.session.add(
            RecordExport(
                organization_id=stored.organization_id,
                requested_by="test",
                format="json",
                lang="en",
                as_of=stored.as_of,
            )
        )
        db.session.commit()
    assert path.is_file()
    time_machine.shift(timedelta(minutes=5))
    assert sweep_record_exports.apply().get() == {"purged": 0, "requeued": 1}
    time_machine.shift(timedelta(hours=app.config["RECORD_EXPORT_RETENTION_HOURS"]))
    assert sweep_record_exports.apply().get()["purged"] == 2
    assert not path.exists()
    assert_problem(client.get(f"{EXPORTS}/{job['id']}", headers=legal), 404)
    actions = [e["action"] for e in audit_events(client, demo["orgs"]["bookero"], legal)]
    assert actions.count("record.export_purged") == 2


def test_the_synchronous_record_refuses_a_large_organization(app, client, demo, monkeypatch):
    monkeypatch.setitem(app.config, "RECORD_SYNC_MAX_CUSTOMERS", 1)
    problem = assert_problem(synchronous(client, demo["bookero"], "xlsx"), 409)
    assert problem["export_endpoint"] == EXPORTS


def test_an_export_request_is_validated(client, demo):
    assert_problem(ask(client, demo["bookero"], "pdf"), 422)
    key = bearer("nosuchkey")
    assert_problem(client.post(EXPORTS, json={"format": "csv"}, headers=key), 401)


def test_a_build_that_fails_says_so_and_frees_its_slot(app, client, demo, monkeypatch):
    # A chunk size of 0 is a misconfiguration the build cannot work with: a real failure.
    monkeypatch.setitem(app.config, "RECORD_EXPORT_CHUNK", 0)
    monkeypatch.setitem(app.config, "RECORD_EXPORTS_PER_ORG", 1)
    job = ask(client, demo["bookero"], "xlsx").json
    assert job["status"] == "failed"
    assert "could not be built" in job["error"]
    assert job["download_url"] is None
    leftovers = list((Path(app.instance_path) / exports.EXPORT_DIR).glob("*/*.partial"))
    assert leftovers == []
    actions = [e["action"] for e in audit_events(client, demo["orgs"]["bookero"], demo["bookero"])]
    assert "record.export_failed" in actions
    monkeypatch.setitem(app.config, "RECORD_EXPORT_CHUNK", 2)
    assert ask(client, demo["bookero"], "csv").json["status"] == "done"
