"""Agreement versions: drafts and publication, acceptance with evidence by key and by signed
link, requests and reminders, offboarding, the evidence export and the public pages."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from service import clock
from service.agreements import services as agreements
from service.agreements.models import AgreementAcceptance
from service.customers.models import Customer
from service.extensions import db
from service.mail.senders import TemporaryFailure
from service.organizations.models import Organization
from service.outbox.models import Delivery
from tests.conftest import audit_events
from tests.notice_kit import Desk, assert_problem

TEXT_EN = "# DPA v2\n\nThe processor processes data **only** on instructions."
TEXT_PL = "# Umowa v2\n\nPrzetwarzający przetwarza dane **wyłącznie** na polecenie."


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def ahead(days: int = 90) -> str:
    """A date comfortably after every reminder these tests simulate (they span 32 days)."""
    return str(clock.local_today("Europe/Warsaw") + timedelta(days=days))


def body(label: str = "v2", **extra: object) -> dict:
    return {
        "version": label,
        "effective_on": ahead(),
        "notice_days": 45,
        "texts": [
            {"language": "en", "text": TEXT_EN, "summary": "Breach notice in 24 hours."},
            {"language": "pl", "text": TEXT_PL, "summary": "Zgłoszenie naruszenia w 24 godziny."},
        ],
        **extra,
    }


@pytest.fixture
def desk(client, world) -> Desk:
    return Desk(client, world, "acme")


def publish(client, desk: Desk, label: str = "v2", **extra: object) -> dict:
    response = client.post(
        desk.url("/agreements"), json=body(label, publish=True, **extra), headers=desk.legal
    )
    assert response.status_code == 201, response.json
    return response.json


def links_in(messages) -> list[str]:
    found = []
    for message in messages:
        text = message.get_body(("plain",)).get_content()
        found += re.findall(r"https?://\S+/agreement/accept/\S+", text)
    return found


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


# --- drafts, publication, immutability ----------------------------------------------------


def test_draft_is_editable_and_hidden_until_published(client, desk):
    created = client.post(desk.url("/agreements"), json=body(), headers=desk.legal)
    assert created.status_code == 201, created.json
    assert created.json["status"] == "draft"
    assert {t["language"]: t["text_sha256"] for t in created.json["texts"]} == {
        "en": sha(TEXT_EN),
        "pl": sha(TEXT_PL),
    }
    assert client.get(desk.url("/agreements/v2")).status_code == 404
    assert client.get(desk.url("/agreements")).json["total"] == 0

    edited = client.patch(
        desk.url("/agreements/v2"),
        json={"texts": [{"language": "en", "text": "Fixed."}], "notice_days": 60},
        headers=desk.legal,
    )
    assert edited.status_code == 200, edited.json
    assert edited.json["languages"] == ["en"]
    assert edited.json["notice_days"] == 60
    assert edited.json["texts"][0]["text_sha256"] == sha("Fixed.")

    published = client.post(desk.url("/agreements/v2/publish"), headers=desk.legal)
    assert published.status_code == 200
    assert published.json["status"] == "published"
    assert client.get(desk.url("/agreements/v2")).json["texts"][0]["text"] == "Fixed."


def test_published_version_cannot_be_edited_deleted_or_published_again(client, desk):
    publish(client, desk)
    patched = client.patch(desk.url("/agreements/v2"), json={"notice_days": 1}, headers=desk.legal)
    assert_problem(patched, 409)
    assert_problem(client.delete(desk.url("/agreements/v2"), headers=desk.legal), 409)
    assert_problem(client.post(desk.url("/agreements/v2/publish"), headers=desk.legal), 409)
    again = client.post(desk.url("/agreements"), json=body(), headers=desk.legal)
    assert_problem(again, 409)
    shown = client.get(desk.url("/agreements/v2")).json
    assert shown["notice_days"] == 45
    assert {t["text"] for t in shown["texts"]} == {TEXT_EN, TEXT_PL}


def test_draft_can_be_deleted_and_every_step_is_audited(client, desk, world):
    client.post(desk.url("/agreements"), json=body(), headers=desk.legal)
    client.patch(desk.url("/agreements/v2"), json={"notice_days": 50}, headers=desk.legal)
    assert client.delete(desk.url("/agreements/v2"), headers=desk.legal).status_code == 204
    assert client.get(desk.url("/agreements?status=all"), headers=desk.legal).json["total"] == 0
    events = audit_events(client, desk.org, desk.legal, entity_type="agreement_version")
    actions = [e["action"] for e in events]
    assert actions == ["agreement.draft_deleted", "agreement.edited", "agreement.drafted"]
    assert events[1]["before"] == {"notice_days": 45}
    assert events[1]["after"] == {"notice_days": 50}


@pytest.mark.parametrize(
    "bad",
    [
        {"texts": []},
        {"texts": [{"language": "en"}]},
        {"texts": [{"language": "de", "text": "x"}]},
        {"texts": [{"language": "en", "text": "a"}, {"language": "en", "text": "b"}]},
        {"texts": [{"language": "en", "text": "a", "text_sha256": "0" * 64}]},
        {"version": "../etc"},
        {"notice_days": -1},
    ],
)
def test_bad_versions_are_refused_and_nothing_is_written(client, desk, bad):
    response = client.post(desk.url("/agreements"), json={**body(), **bad}, headers=desk.legal)
    assert_problem(response, 422)
    assert client.get(desk.url("/agreements?status=all"), headers=desk.legal).json["total"] == 0


def test_document_reference_with_its_hash(client, desk):
    digest = sha("the signed PDF")
    response = client.post(
        desk.url("/agreements"),
        json={
            "version": "pdf-1",
            "effective_on": ahead(),
            "texts": [{"language": "en", "document_ref": "dms://dpa/1.pdf", "text_sha256": digest}],
            "publish": True,
        },
        headers=desk.legal,
    )
    assert response.status_code == 201, response.json
    assert response.json["texts"][0] == {
        "id": response.json["id"],
        "language": "en",
        "summary": "",
        "document_ref": "dms://dpa/1.pdf",
        "text_sha256": digest,
        "text": None,
    }


def test_another_organization_sees_nothing(client, desk, world):
    publish(client, desk)
    other = Desk(client, world, "other")
    response = client.get(desk.url("/agreements/v2"), headers=other.legal)
    assert_problem(response, 404)
    assert client.get(other.url("/agreements")).json["total"] == 0


# --- acceptance -----------------------------------------------------------------------------


def test_customer_accepts_by_api_with_evidence(client, desk):
    customer = desk.customer("C1", locale="en")
    publish(client, desk)
    response = client.post(
        desk.url("/agreements/v2/acceptances"),
        json={"name": "Ann Owner", "email": "ann@c1.example", "language": "pl"},
        headers={**customer["key"], "User-Agent": "Tester/1.0"},
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    )
    assert response.status_code == 201, response.json
    accepted = response.json
    assert accepted["text_sha256"] == sha(TEXT_PL)
    assert accepted["language"] == "pl"
    assert accepted["ip_address"] == "203.0.113.7"
    assert accepted["user_agent"] == "Tester/1.0"
    assert accepted["channel"] == "api"
    assert accepted["accepted_by_email"] == "ann@c1.example"

    shown = client.get(desk.url(f"/customers/{customer['id']}"), headers=desk.legal).json
    assert shown["agreement"]["agreement_version_id"] == accepted["agreement_version_id"]
    # The version's defaults now apply where nothing was negotiated.
    assert shown["agreement"]["effective"]["objection_days"] == 14

    twice = client.post(
        desk.url("/agreements/v2/acceptances"),
        json={"name": "Ann Owner", "email": "ann@c1.example"},
        headers=customer["key"],
    )
    assert_problem(twice, 409)
    events = audit_events(client, desk.org, desk.legal, action="agreement.accepted")
    assert events[0]["after"]["text_sha256"] == sha(TEXT_PL)


def test_only_the_newest_version_can_be_accepted(client, desk):
    customer = desk.customer("C1")
    publish(client, desk, "v1")
    publish(client, desk, "v2")
    old = client.post(
        desk.url("/agreements/v1/acceptances"),
        json={"name": "A", "email": "a@c1.example"},
        headers=customer["key"],
    )
    assert assert_problem(old, 409)["current_version"] == "v2"


def test_acceptance_of_another_text_is_refused(client, desk):
    customer = desk.customer("C1")
    publish(client, desk)
    response = client.post(
        desk.url("/agreements/v2/acceptances"),
        json={"name": "A", "email": "a@c1.example", "language": "en", "text_sha256": "a" * 64},
        headers=customer["key"],
    )
    assert_problem(response, 409)
    assert (
        client.get(
            desk.url(f"/customers/{customer['id']}/agreement-evidence"), headers=desk.legal
        ).json["acceptances"]
        == []
    )


def test_service_function_for_other_packages(ctx, client, desk):
    customer = desk.customer("C1")
    publish(client, desk)
    organization = db.session.get(Organization, desk.org["id"])
    row = db.session.get(Customer, customer["id"])
    first = agreements.accept_version(
        organization, row, "v2", name="P", email="p@c1.example", ip="198.51.100.1",
        user_agent="portal", channel="portal",
    )  # fmt: skip
    db.session.commit()
    assert first.channel == "portal"
    assert first.text_sha256 == sha(TEXT_PL)  # the contact's locale
    assert [a.id for a in agreements.acceptance_history(row)] == [first.id]


# --- publication notices, signed link, reminders -------------------------------------------


def test_publishing_asks_each_customer_in_its_language(client, desk, outbox_mail):
    desk.customer("C1", locale="pl")
    desk.customer("C2", locale="en")
    publish(client, desk)
    by_address = {m["To"].addresses[0].addr_spec: m for m in outbox_mail.sent}
    assert len(by_address) == 2
    polish = [m for m in by_address.values() if m["Content-Language"] == "pl"]
    english = [m for m in by_address.values() if m["Content-Language"] == "en"]
    assert len(polish) == len(english) == 1
    assert "Zgłoszenie naruszenia w 24 godziny." in polish[0].get_body(("plain",)).get_content()
    assert "Breach notice in 24 hours." in english[0].get_body(("plain",)).get_content()
    assert len(links_in(outbox_mail.sent)) == 2
    (event,) = audit_events(client, desk.org, desk.legal, action="agreement.published")
    assert event["after"]["customers_asked"] == 2
    assert event["after"]["text_sha256"] == {"en": sha(TEXT_EN), "pl": sha(TEXT_PL)}


def test_signed_link_get_asks_post_accepts(client, desk, outbox_mail):
    customer = desk.customer("C1", locale="en")
    publish(client, desk)
    (link,) = links_in(outbox_mail.sent)
    page = client.get(path_of(link))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<strong>only</strong>" in html
    # The link is bound to the contact it was mailed to: the form suggests that address.
    assert 'value="c1@salon.example"' in html
    assert sha(TEXT_EN) in html
    evidence_url = desk.url(f"/customers/{customer['id']}/agreement-evidence")
    assert client.get(evidence_url, headers=desk.legal).json["acceptances"] == []

    missing = client.post(path_of(link), data={"name": "", "email": "x"})
    assert missing.status_code == 422
    done = client.post(
        path_of(link),
        data={
            "name": "Ann <b>Owner</b>",
            "email": "ann@c1.example",
            "authorised": "yes",
            "language": "en",
            "text_sha256": sha(TEXT_EN),
        },
        headers={"User-Agent": "Browser/2"},
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    (acceptance,) = client.get(evidence_url, headers=desk.legal).json["acceptances"]
    assert acceptance["channel"] == "link"
    assert acceptance["text_sha256"] == sha(TEXT_EN)
    # What was typed, next to the contact whose link was used and the e-mail it came in.
    assert acceptance["accepted_by_email"] == "ann@c1.example"
    assert acceptance["link_address"] == "c1@salon.example"
    assert acceptance["link_message_id"] == outbox_mail.sent[0]["Message-ID"]
    assert acceptance["user_agent"] == "Browser/2"
    html = client.get(evidence_url + "?format=html", headers=desk.legal).get_data(as_text=True)
    assert "Ann &lt;b&gt;Owner&lt;/b&gt;" in html
    assert "c1@salon.example" in html
    assert "<b>Owner" not in html

    status = client.get(desk.url("/agreements/v2/acceptances"), headers=desk.legal).json
    assert status["summary"] == {"customers": 1, "accepted": 1, "pending": 0}
    # Opened again, the link shows what was accepted and asks nothing.
    again = client.get(path_of(link)).get_data(as_text=True)
    assert sha(TEXT_EN) in again
    assert "<form" not in again


def test_forged_or_foreign_link_is_not_found(client, desk, world, outbox_mail):
    desk.customer("C1")
    publish(client, desk)
    (link,) = links_in(outbox_mail.sent)
    token = path_of(link).split("/accept/")[1].split("?")[0]
    assert client.get(f"/orgs/acme/agreement/accept/{token}x").status_code == 404
    Desk(client, world, "other")
    assert client.get(f"/orgs/other/agreement/accept/{token}").status_code == 404


def test_reminders_until_accepted_and_idempotent(app, client, desk, outbox_mail):
    from service.mail.delivery import drain

    c1 = desk.customer("C1", locale="en")
    desk.customer("C2", locale="en")
    publish(client, desk)
    outbox_mail.sent.clear()
    client.post(
        desk.url("/agreements/v2/acceptances"),
        json={"name": "A", "email": "a@c1.example"},
        headers=c1["key"],
    )
    outbox_mail.sent.clear()
    later = clock.now() + timedelta(days=8)
    with app.app_context():
        assert agreements.send_reminders(timedelta(days=7), now=later) == 1
        assert agreements.send_reminders(timedelta(days=7), now=later) == 0
        db.session.commit()
        drain()
    assert [m["To"].addresses[0].addr_spec for m in outbox_mail.sent] == ["c2@salon.example"]
    assert "Reminder" in outbox_mail.sent[0]["Subject"]
    status = client.get(
        desk.url("/agreements/v2/acceptances?accepted=false"), headers=desk.legal
    ).json
    assert [(i["customer"]["external_ref"], i["reminders"]) for i in status["items"]] == [("C2", 1)]


def test_reminder_task_sends_through_the_outbox(app, client, desk, outbox_mail):
    from service.mail.delivery import drain
    from workers.tasks import remind_agreement_acceptance

    desk.customer("C1", locale="pl")
    publish(client, desk)
    outbox_mail.sent.clear()
    with app.app_context():
        assert remind_agreement_acceptance() == 0  # asked just now: not due yet
        app.config["AGREEMENT_REMINDER_DAYS"] = 0
        try:
            assert remind_agreement_acceptance() == 1
        finally:
            app.config["AGREEMENT_REMINDER_DAYS"] = 7
        drain()
    (message,) = outbox_mail.sent
    assert message["Subject"].startswith("Przypomnienie")
    assert links_in([message])


def test_reminder_task_is_on_the_beat_schedule(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    entry = schedule["remind-agreement-acceptance"]
    assert entry["task"] == "workers.tasks.remind_agreement_acceptance"
    assert entry["schedule"] == app.config["AGREEMENT_REMINDER_INTERVAL_SECONDS"]


# --- offboarding ----------------------------------------------------------------------------


def test_offboarding_stops_requests_and_cancels_unsent_mail(app, client, desk, outbox_mail):
    customer = desk.customer("C1", locale="en")

    def busy(message) -> None:
        raise TemporaryFailure("421 4.3.2 try again later")

    outbox_mail.hook = busy
    publish(client, desk)
    outbox_mail.hook = None
    with app.app_context():
        pending = db.session.scalars(
            select(Delivery).where(Delivery.customer_id == customer["id"])
        ).all()
        assert [d.status for d in pending] == ["pending"]
    response = client.post(
        desk.url(f"/customers/{customer['id']}/offboarding"),
        json={"reason": "Contract terminated"},
        headers=desk.legal,
    )
    assert response.status_code == 200, response.json
    assert response.json["deliveries_cancelled"] == 1
    assert response.json["agreement_requests_closed"] == 1
    assert response.json["customer"]["ended_on"] == str(desk.today())
    with app.app_context():
        statuses = db.session.scalars(
            select(Delivery.status).where(Delivery.customer_id == customer["id"])
        ).all()
        assert statuses == ["cancelled"]
        assert agreements.send_reminders(timedelta(0), now=clock.now() + timedelta(days=30)) == 0
    again = client.post(
        desk.url(f"/customers/{customer['id']}/offboarding"),
        json={"reason": "again"},
        headers=desk.legal,
    )
    assert_problem(again, 409)
    (event,) = audit_events(client, desk.org, desk.legal, action="customer.offboarded")
    assert event["after"]["end_reason"] == "Contract terminated"


@pytest.mark.usefixtures("fixed_clock")  # its dates are literals
def test_offboarding_starts_the_retention_period(client, world):
    desk = Desk(client, world, "kept", retention_years=2)
    customer = desk.customer("C1", started_on="2024-01-01")
    response = client.post(
        desk.url(f"/customers/{customer['id']}/offboarding"),
        json={"reason": "Contract ended", "ended_on": "2025-03-31"},
        headers=desk.legal,
    )
    assert response.status_code == 200, response.json
    # Kept two years from the day after the last day of the relationship.
    assert response.json["customer"]["deletion_due_on"] == "2027-04-01"
    assert response.json["customer"]["end_reason"] == "Contract ended"
    early = client.post(
        desk.url(f"/customers/{customer['id']}/offboarding"),
        json={"reason": "x", "ended_on": "2023-01-01"},
        headers=desk.legal,
    )
    assert_problem(early, 409)


@pytest.mark.usefixtures("fixed_clock")  # its dates are literals
def test_offboarding_before_the_start_is_refused(client, desk):
    customer = desk.customer("C1", started_on="2024-01-01")
    response = client.post(
        desk.url(f"/customers/{customer['id']}/offboarding"),
        json={"reason": "x", "ended_on": "2023-12-31"},
        headers=desk.legal,
    )
    assert_problem(response, 422)
    shown = client.get(desk.url(f"/customers/{customer['id']}"), headers=desk.legal).json
    assert shown["ended_on"] is None


def test_offboarded_customer_gets_no_new_version_notice(client, desk, outbox_mail):
    gone = desk.customer("C1", locale="en", started_on=desk.day(-30))
    desk.customer("C2", locale="en")
    client.post(
        desk.url(f"/customers/{gone['id']}/offboarding"),
        json={"reason": "left", "ended_on": desk.day(-1)},
        headers=desk.legal,
    )
    publish(client, desk)
    assert [m["To"].addresses[0].addr_spec for m in outbox_mail.sent] == ["c2@salon.example"]
    refused = client.post(
        desk.url("/agreements/v2/acceptances"),
        json={"name": "A", "email": "a@c1.example"},
        headers=gone["key"],
    )
    assert_problem(refused, 409)


def test_negotiated_overrides_are_audited_with_before_and_after(client, desk):
    customer = desk.customer("C1", notice_days=30)
    client.patch(
        desk.url(f"/customers/{customer['id']}"),
        json={"agreement": {"notice_days": 60, "objection_remedy": "terminate"}},
        headers=desk.legal,
    )
    (event,) = audit_events(client, desk.org, desk.legal, action="customer.edited")
    assert event["before"]["agreement"]["notice_days"] == 30
    assert event["after"]["agreement"]["notice_days"] == 60
    assert event["after"]["agreement"]["objection_remedy"] == "terminate"


# --- public pages ---------------------------------------------------------------------------


def test_public_text_renders_markdown_safely_in_each_language(client, desk):
    hostile = "# T\n\n<script>alert(1)</script> [x](javascript:alert(1))"
    client.post(
        desk.url("/agreements"),
        json={
            "version": "v1",
            "effective_on": str(desk.today()),
            "texts": [
                {"language": "en", "text": hostile},
                {"language": "pl", "text": "Stara *v1*"},
            ],
            "publish": True,
        },
        headers=desk.legal,
    )
    publish(client, desk, "v2")
    english = client.get("/orgs/acme/agreement?lang=en").get_data(as_text=True)
    assert "&lt;script&gt;" in english
    assert "<script>" not in english
    assert 'href="javascript' not in english
    polish = client.get("/orgs/acme/agreement?lang=pl").get_data(as_text=True)
    # v2 takes effect in 90 days: until then v1 is the text in force.
    assert "Stara <em>v1</em>" in polish
    archive = client.get("/orgs/acme/agreement/versions").get_data(as_text=True)
    assert "v1" in archive
    assert "v2" in archive
    v2 = client.get("/orgs/acme/agreement/versions/v2?lang=pl").get_data(as_text=True)
    assert "<strong>wyłącznie</strong>" in v2
    assert client.get("/orgs/acme/agreement/versions/nope").status_code == 404


def test_acceptance_row_is_append_only_history(ctx, client, desk):
    customer = desk.customer("C1")
    publish(client, desk, "v1")
    client.post(
        desk.url("/agreements/v1/acceptances"),
        json={"name": "A", "email": "a@c1.example"},
        headers=customer["key"],
    )
    publish(client, desk, "v2")
    client.post(
        desk.url("/agreements/v2/acceptances"),
        json={"name": "B", "email": "b@c1.example"},
        headers=customer["key"],
    )
    evidence = client.get(
        desk.url(f"/customers/{customer['id']}/agreement-evidence"), headers=customer["key"]
    ).json
    assert [a["version"] for a in evidence["acceptances"]] == ["v2", "v1"]
    assert evidence["current_acceptance_id"] == evidence["acceptances"][0]["id"]
    assert db.session.scalar(select(db.func.count()).select_from(AgreementAcceptance)) == 2


def test_publish_and_accept_on_sqlite(tmp_path):
    """`make run` uses SQLite: the INSERT ... SELECT of publication and the locks of
    acceptance must work there too."""
    from flask_migrate import upgrade

    from service import create_app
    from service.customers.services import create_customer
    from service.organizations.services import create_organization

    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.sqlite3'}"}
    )
    with app.app_context():
        upgrade()
        org = create_organization(
            {"slug": "lite", "legal_name": "Lite", "country": "PL", "contact_email": "l@l.example"},
            actor="test",
        )
        customer = create_customer(
            org,
            {"external_ref": "C1", "name": "C1", "contacts": [{"email": "c@l.example"}]},
            actor="test",
        )
        data = {**body(), "publish": True, "effective_on": date.fromisoformat(ahead())}
        version = agreements.create_version(org, data, actor="test")
        db.session.commit()
        accepted = agreements.accept_version(
            org, customer, version.label, name="C", email="c@l.example", ip=None,
            user_agent=None, channel="api",
        )  # fmt: skip
        db.session.commit()
        assert accepted.text_sha256 == sha(TEXT_PL)
        assert agreements.send_reminders(timedelta(0), now=clock.now() + timedelta(days=1)) == 0
        db.engine.dispose()


# --- customers that arrive after publication, the date checks, the HTML 404 -----------------


def test_customer_registered_after_publication_is_asked_then_reminded(
    app, client, desk, outbox_mail
):
    from service.mail.delivery import drain

    desk.customer("C1", locale="en")
    publish(client, desk)
    late = desk.customer("C2", locale="pl")
    outbox_mail.sent.clear()
    with app.app_context():
        # The run asks the newcomer (no reminder yet) and leaves C1 alone (asked just now).
        assert agreements.send_reminders(timedelta(days=7)) == 0
        assert agreements.send_reminders(timedelta(days=7)) == 0  # asked once, not twice
        db.session.commit()
        drain()
    (message,) = outbox_mail.sent
    assert message["To"].addresses[0].addr_spec == "c2@salon.example"
    assert "Zgłoszenie naruszenia w 24 godziny." in message.get_body(("plain",)).get_content()
    (link,) = links_in([message])
    assert client.get(path_of(link)).status_code == 200
    status = client.get(
        desk.url("/agreements/v2/acceptances?accepted=false"), headers=desk.legal
    ).json
    assert {i["customer"]["external_ref"] for i in status["items"]} == {"C1", "C2"}
    (event,) = audit_events(client, desk.org, desk.legal, action="agreement.requested")
    assert event["after"]["customers_asked"] == 1
    outbox_mail.sent.clear()
    with app.app_context():
        # A week on, both are reminded like any other customer.
        assert (
            agreements.send_reminders(timedelta(days=7), now=clock.now() + timedelta(days=8)) == 2
        )
        db.session.commit()
    accepted = client.post(
        desk.url("/agreements/v2/acceptances"),
        json={"name": "B", "email": "b@c2.example"},
        headers=late["key"],
    )
    assert accepted.status_code == 201, accepted.json
    with app.app_context():
        # Accepted: its request is closed, so only C1 is reminded a week after that.
        assert (
            agreements.send_reminders(timedelta(days=7), now=clock.now() + timedelta(days=16)) == 1
        )


def test_customer_that_accepted_without_a_request_is_not_asked(app, client, desk, outbox_mail):
    publish(client, desk)
    customer = desk.customer("C1", locale="en")
    accepted = client.post(
        desk.url("/agreements/v2/acceptances"),
        json={"name": "A", "email": "a@c1.example"},
        headers=customer["key"],
    )
    assert accepted.status_code == 201, accepted.json
    outbox_mail.sent.clear()
    with app.app_context():
        assert agreements.send_reminders(timedelta(0)) == 0
        db.session.commit()
    assert audit_events(client, desk.org, desk.legal, action="agreement.requested") == []


def test_publishing_refuses_an_effective_date_in_the_past(client, desk):
    yesterday = str(desk.today() - timedelta(days=1))
    created = client.post(
        desk.url("/agreements"), json=body("old", effective_on=yesterday), headers=desk.legal
    )
    assert created.status_code == 201, created.json
    refused = client.post(desk.url("/agreements/old/publish"), headers=desk.legal)
    assert_problem(refused, 422)
    assert "effective_on" in refused.json["errors"]
    # Still a draft: nothing was frozen or asked.
    assert client.get(desk.url("/agreements/old"), headers=desk.legal).json["status"] == "draft"
    direct = client.post(
        desk.url("/agreements"),
        json=body("old2", effective_on=yesterday, publish=True),
        headers=desk.legal,
    )
    assert_problem(direct, 422)


def test_agreement_pages_of_an_unknown_organization_are_an_html_404(client, desk):
    for path in ("/orgs/nobody/agreement", "/orgs/nobody/agreement/versions",
                 "/orgs/acme/agreement/versions/nope"):  # fmt: skip
        response = client.get(path + "?lang=en")
        assert response.status_code == 404
        assert response.mimetype == "text/html"
        assert "Not found" in response.get_data(as_text=True)


# --- the end of reminders: a bound, an alert to legal staff, a compliance gap ---------------


def test_reminders_stop_at_the_bound_and_legal_staff_are_alerted_once(
    app, client, desk, outbox_mail
):
    from service.mail.delivery import drain

    desk.customer("C1", locale="en")
    publish(client, desk)
    outbox_mail.sent.clear()
    sent = []
    with app.app_context():
        for n in (1, 2, 3, 4):
            later = clock.now() + timedelta(days=8 * n)
            sent.append(agreements.send_reminders(timedelta(days=7), now=later, limit=2))
            db.session.commit()
            drain()  # each run's mail goes out before the next run, as days apart
    assert sent == [1, 1, 0, 0]
    reminders = [m for m in outbox_mail.sent if "Reminder" in m["Subject"]]
    alerts = [m for m in outbox_mail.sent if m["Subject"].startswith("[DPA Registry]")]
    assert len(reminders) == 2
    # The effective date is still ahead on these dates: one alert, for the exhausted reminders.
    (alert,) = alerts
    assert alert["To"].addresses[0].addr_spec == "legal@acme.example"
    body_text = alert.get_body(("plain",)).get_content()
    assert "reminders_exhausted" in body_text
    assert "C1" in body_text
    (event,) = audit_events(client, desk.org, desk.legal, action="agreement.unaccepted_alert")
    assert event["after"] == {"reason": "reminders_exhausted", "pending": 1}


def test_effective_date_without_acceptance_alerts_legal_and_shows_in_compliance(
    app, client, desk, outbox_mail
):
    from service.mail.delivery import drain

    desk.customer("C1", locale="en")
    c2 = desk.customer("C2", locale="en")
    publish(client, desk, effective_on=str(desk.today()))
    client.post(
        desk.url("/agreements/v2/acceptances"),
        json={"name": "B", "email": "b@c2.example"},
        headers=c2["key"],
    )
    outbox_mail.sent.clear()
    with app.app_context():
        agreements.send_reminders(timedelta(days=7))
        agreements.send_reminders(timedelta(days=7))
        db.session.commit()
        drain()
    (alert,) = [m for m in outbox_mail.sent if m["Subject"].startswith("[DPA Registry]")]
    body_text = alert.get_body(("plain",)).get_content()
    assert "effective_without_acceptance" in body_text
    assert "C1" in body_text
    assert "C2" not in body_text
    report = client.get(desk.url("/compliance?rule=agreement"), headers=desk.legal).json
    (item,) = report["items"]
    assert item["rule"] == "agreement.not_accepted"
    assert item["severity"] == "warning"
    assert "1 customer(s)" in item["detail"]
    assert "C1" in item["detail"]
    # The day before it took effect there was no gap.
    yesterday = desk.today() - timedelta(days=1)
    earlier = client.get(
        desk.url(f"/compliance?rule=agreement&as_of={yesterday}"), headers=desk.legal
    ).json
    assert earlier["items"] == []
