"""End to end on the demo data: bookero publishes a new agreement version, every demo
customer is told in its language, one accepts through the signed link, the evidence export
shows the hash of the exact text it accepted, and the published version cannot be edited."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from service import clock
from service.demo.seed import KEYS_FILE, load_data, seed
from service.extensions import db
from service.mail import delivery
from service.organizations.models import Organization
from tests.conftest import bearer
from tests.notice_kit import assert_problem

TEXTS = {
    "pl": "# Umowa powierzenia v2\n\nNaruszenia zgłaszamy w ciągu **12 godzin**.",
    "en": "# Data processing agreement v2\n\nBreaches are reported within **12 hours**.",
}
SUMMARIES = {"pl": "Krótszy termin zgłoszenia naruszenia.", "en": "Shorter breach notice."}


def test_new_bookero_version_reaches_every_customer_and_one_accepts(
    app, client, world, outbox_mail
):
    with app.app_context():
        seed(app.instance_path, actor="test:seed")
        db.session.commit()
        org_id = db.session.scalar(select(Organization.id).where(Organization.slug == "bookero"))
    Path(app.instance_path, KEYS_FILE).unlink(missing_ok=True)
    legal = bearer(world.key("legal", {"id": org_id}))
    api = "/api/v1/orgs/bookero"
    demo = next(o for o in load_data()["organizations"] if o["organization"]["slug"] == "bookero")

    before = client.get(f"{api}/agreements").json
    assert [v["version"] for v in before["items"]] == ["2024-01"]
    with app.app_context():
        delivery.drain()  # the demo's own urgent change, objection and alert go first
    outbox_mail.sent.clear()

    published = client.post(
        f"{api}/agreements",
        json={
            "version": "v2",
            "effective_on": str(clock.local_today("Europe/Warsaw") + timedelta(days=60)),
            "texts": [
                {"language": lang, "text": TEXTS[lang], "summary": SUMMARIES[lang]}
                for lang in ("pl", "en")
            ],
            "publish": True,
        },
        headers=legal,
    )
    assert published.status_code == 201, published.json

    # Every contact of every demo customer got the notice in its own language.
    received = {m["To"].addresses[0].addr_spec: m for m in outbox_mail.sent}
    contacts = [c for customer in demo["customers"] for c in customer["contacts"]]
    assert set(received) == {c["email"] for c in contacts}
    for contact in contacts:
        message = received[contact["email"]]
        assert message["Content-Language"] == contact["locale"]
        assert SUMMARIES[contact["locale"]] in message.get_body(("plain",)).get_content()

    status = client.get(f"{api}/agreements/v2/acceptances", headers=legal).json
    assert status["summary"] == {"customers": 4, "accepted": 0, "pending": 4}
    assert {i["current_version"] for i in status["items"]} == {"2024-01"}

    # The English-speaking barber shop accepts through the link in its e-mail.
    barber = received["owner@gentlemen-barbers.example.com"]
    (link,) = re.findall(r"\S+/agreement/accept/\S+", barber.get_body(("plain",)).get_content())
    page_path = "/" + link.split("/", 3)[3]
    page = client.get(page_path)
    assert page.status_code == 200
    assert "<strong>12 hours</strong>" in page.get_data(as_text=True)
    accepted = client.post(
        page_path,
        data={
            "name": "James Walker",
            "email": "owner@gentlemen-barbers.example.com",
            "authorised": "yes",
            "language": "en",
            "text_sha256": hashlib.sha256(TEXTS["en"].encode()).hexdigest(),
        },
        environ_base={"REMOTE_ADDR": "192.0.2.44"},
        headers={"User-Agent": "Mozilla/5.0 (demo)"},
    )
    assert accepted.status_code == 200, accepted.get_data(as_text=True)

    customers = client.get(f"{api}/customers?external_ref=BK-0002", headers=legal).json["items"]
    assert customers[0]["agreement"]["version"] == "v2"
    evidence_url = f"{api}/customers/{customers[0]['id']}/agreement-evidence"
    evidence = client.get(evidence_url, headers=legal).json
    newest, oldest = evidence["acceptances"]
    assert newest["version"] == "v2"
    assert newest["text_sha256"] == hashlib.sha256(TEXTS["en"].encode()).hexdigest()
    assert (newest["ip_address"], newest["user_agent"]) == ("192.0.2.44", "Mozilla/5.0 (demo)")
    assert newest["channel"] == "link"
    assert oldest["version"] == "2024-01"
    page = client.get(evidence_url + "?format=html", headers=legal).get_data(as_text=True)
    assert newest["text_sha256"] in page

    status = client.get(f"{api}/agreements/v2/acceptances", headers=legal).json
    assert status["summary"] == {"customers": 4, "accepted": 1, "pending": 3}

    # A published text never changes: corrections are a new version.
    edit = client.patch(
        f"{api}/agreements/v2",
        json={"texts": [{"language": "en", "text": "Something else."}]},
        headers=legal,
    )
    assert_problem(edit, 409)
    shown = client.get(f"{api}/agreements/v2").json
    assert {t["language"]: t["text"] for t in shown["texts"]} == TEXTS
