"""What people read on the pages, without a browser: the portal's evidence of acceptance
in words, a signed link opened again after its answer, and the public agreement pages.
(tests/test_pages_browser.py shows the same pages in Chromium at 1280 and 390 px.)"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from html import unescape

import pytest

from service import i18n
from tests.notice_kit import Desk
from tests.portal_kit import path_of, sign_in

TEXT = "# Umowa powierzenia 2027\n\nPrzetwarzamy dane **wyłącznie** na polecenie."
CONTACT = "c1@salon.example"
RAW = ("accepted_by_email", "ip_address", "link_message_id", "None", "text_sha256")


@pytest.fixture
def desk(client, world) -> Desk:
    return Desk(client, world)


def publish(desk: Desk, label: str = "2027-01", offset: int = 0) -> None:
    body = {
        "version": label,
        "effective_on": desk.day(offset),
        "publish": True,
        "texts": [{"language": "pl", "text": TEXT}],
    }
    response = desk.client.post(desk.url("/agreements"), json=body, headers=desk.legal)
    assert response.status_code == 201, response.json


def accept_link(mail) -> str:
    """The path of the acceptance link in the newest message that has one."""
    for message in reversed(mail.sent):
        found = re.search(
            r"https?://\S+/agreement/accept/\S+", message.get_body(("plain",)).get_content()
        )
        if found:
            return path_of(found.group(0))
    pytest.fail("no acceptance link was mailed")


def accept_by_link(client, mail, name: str = "Anna Nowak") -> None:
    done = client.post(
        accept_link(mail),
        data={"name": name, "email": "anna@salon.example", "authorised": "yes", "language": "pl"},
    )
    assert done.status_code == 200, done.get_data(as_text=True)


def visible_text(html: str) -> str:
    """The page's text as a reader sees it: no tags, attributes or comments."""
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_the_portal_shows_the_evidence_of_acceptance_in_words(desk, client, app, outbox_mail):
    customer = desk.customer("C1")
    publish(desk)
    accept_by_link(client, outbox_mail)
    (acceptance,) = client.get(
        desk.url(f"/customers/{customer['id']}/agreement-evidence"), headers=desk.legal
    ).json["acceptances"]
    portal = app.test_client()
    sign_in(portal, "bookero", CONTACT, outbox_mail)
    html = portal.get("/portal/bookero/agreement").get_data(as_text=True)
    shown = visible_text(html)
    for raw in RAW:
        assert raw not in shown
    accepted_at = datetime.fromisoformat(acceptance["accepted_at"])
    # Who, when (in the organization's zone, named), how, from which e-mail, and the hash.
    assert "Anna Nowak &lt;anna@salon.example&gt;" in html
    assert i18n.moment(accepted_at, "Europe/Warsaw", "pl") in shown
    assert "czas środkowoeuropejski" in shown
    assert f"przez link z wiadomości e-mail wysłanej na adres {CONTACT}" in shown
    assert acceptance["link_message_id"] in shown
    assert f"<code>{hashlib.sha256(TEXT.encode()).hexdigest()}</code>" in html
    assert "Język zaakceptowanej treści" in shown
    assert "polski" in shown
    # The text's own heading sits under the page's: one <h1>.
    assert html.count("<h1") == 1
    # The printable evidence names the channel and the time the same way.
    printable = client.get(
        desk.url(f"/customers/{customer['id']}/agreement-evidence"),
        query_string={"format": "html", "lang": "pl"},
        headers=desk.legal,
    ).get_data(as_text=True)
    assert "<td>link z e-maila<br>" in printable
    assert i18n.moment(accepted_at, "Europe/Warsaw", "pl") in visible_text(printable)
    assert "UTC" not in visible_text(printable)


def test_an_acceptance_without_a_link_shows_no_empty_fields(desk, client, app, outbox_mail):
    customer = desk.customer("C1", locale="en")
    publish(desk)
    by_key = client.post(
        desk.url("/agreements/2027-01/acceptances"),
        json={"name": "Jane Smith", "email": "jane@salon.example"},
        headers=customer["key"],
    )
    assert by_key.status_code == 201, by_key.json
    portal = app.test_client()
    sign_in(portal, "bookero", CONTACT, outbox_mail)
    shown = visible_text(portal.get("/portal/bookero/agreement").get_data(as_text=True))
    assert "through the API, with the customer's key" in shown
    assert "Message-ID" not in shown
    for raw in RAW:
        assert raw not in shown


def answer_path(desk: Desk, authorisation: str) -> str:
    """The signed answer link of a customer with that authorisation, to a new vendor."""
    desk.customer("C1", authorisation=authorisation)
    change = desk.add(desk.vendor(name="Mailer"), 31)
    (notice,) = [n for n in desk.customer_notices("C1") if n["change_id"] == change["id"]]
    return desk.link_path(notice)


def test_an_answered_link_shows_the_answer_on_record(desk, client):
    path = answer_path(desk, "specific")
    assert client.post(path, data={"decision": "consent", "reason": "Zgoda <b>"}).status_code == 200
    again = client.get(path)
    assert again.status_code == 200
    html = again.get_data(as_text=True)
    assert "<form" not in html
    on_record = ("Odpowiedź jest już zarejestrowana", "zgoda", "Zgoda &lt;b&gt;", "/answers")
    assert [words for words in on_record if words not in html] == []


def test_an_open_objection_still_offers_its_withdrawal(desk, client):
    path = answer_path(desk, "general")
    assert client.post(path, data={"decision": "object"}).status_code == 200
    assert 'value="withdraw"' in client.get(path).get_data(as_text=True)


def test_the_public_agreement_pages_have_one_heading_and_the_site_header(desk, client):
    publish(desk)
    for path in ("/orgs/bookero/agreement?lang=pl", "/orgs/bookero/agreement/versions?lang=pl"):
        html = client.get(path).get_data(as_text=True)
        assert html.count("<h1") == 1, path
        assert '<header class="top">' in html
        assert 'aria-current="true">Polski' in html
    text = client.get("/orgs/bookero/agreement?lang=pl").get_data(as_text=True)
    assert "<h2>Umowa powierzenia 2027</h2>" in text
    assert i18n.day(desk.today(), "pl") in text


def test_the_public_list_shows_what_each_vendor_receives_and_when_it_last_changed(
    desk, client, time_machine, fixed_clock
):
    desk.listed(
        name="Stripe",
        data_categories_pl=["dane karty płatniczej"],
        data_categories_en=["payment card data"],
        data_subject_categories_pl=["klienci salonów"],
        data_subject_categories_en=["clients of salons"],
        services=["payments"],
    )
    desk.listed(name="Hetzner")  # every service
    listed_on = desk.today()
    time_machine.move_to(fixed_clock + timedelta(days=20))
    for lang, words in (
        ("pl", ("dane karty płatniczej", "klienci salonów", "wszystkie usługi", "Jak zgłosić")),
        ("en", ("payment card data", "clients of salons", "all services", "How to object")),
    ):
        html = client.get(f"/orgs/bookero/subprocessors?lang={lang}").get_data(as_text=True)
        assert [w for w in words if w not in html] == []
        # The day the list last changed, not today's date.
        assert f'<time datetime="{listed_on.isoformat()}">{i18n.day(listed_on, lang)}' in html
        assert i18n.day(desk.today(), lang) not in html
        assert f'href="/portal/bookero/sign-in?lang={lang}"' in html
    stripe_row = html.split("Stripe", 1)[1].split("</tr>", 1)[0]
    assert "Services</dt><dd>payments</dd>" in stripe_row
