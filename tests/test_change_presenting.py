"""A change as customers read it, in Polish and English: the notice e-mail (text and HTML),
the signed-link answer page, the portal's change page, the public page's upcoming changes
and the Atom feed all state the facts (brand, vendor, purpose, data, places with country
names and safeguards in words, dates in the organization's zone, reason, what answering or
silence leads to) and show no raw code. The e-mail's HTML part is checked in Chromium with
axe-core."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, date, datetime

import feedparser
import pytest

from service import i18n
from service.notices import presenting
from tests import browser_kit, portal_kit
from tests.notice_kit import Desk

BRAND, LEGAL_NAME = "Bookero", "SAFI STUDIO Paweł Nowakowski"
REASON = "Płatności kartą w rezerwacjach online"
FACTS = {
    "pl": [
        "Stripe Payments Europe, Limited",
        "Obsługa płatności kartami",
        "dane karty płatniczej",
        "klienci salonów korzystających z Bookero",
        "Stany Zjednoczone (US)",
        "Irlandia (IE)",
        "standardowych klauzul umownych",
        "wykrywanie oszustw",
        "payment processing (tylko po angielsku)",
        REASON,
    ],
    "en": [
        "Stripe Payments Europe, Limited",
        "Card payments for online bookings",
        "payment card data",
        "clients of salons using Bookero",
        "United States (US)",
        "Ireland (IE)",
        "standard contractual clauses",
        "fraud screening",
        "payment processing",
        REASON,
    ],
}
ZONE = {
    "pl": re.compile(r"\(czas środkowoeuropejski (standardowy|letni), CES?T\)"),
    "en": re.compile(r"\(Central European (Standard|Summer) Time, CES?T\)"),
}
CONSEQUENCE = {
    ("pl", "objection"): "Jeśli nie zgłoszą Państwo sprzeciwu",
    ("en", "objection"): "If you do not object",
    ("pl", "consent"): "Bez Państwa zgody zmiana nie obejmie Państwa danych",
    ("en", "consent"): "Without your consent the change does not apply to your data",
}
# What a reader must never be left to decode: mechanism and role codes, and ISO codes that
# stand alone (a code after its country's name, in brackets, is for checking, not reading).
RAW_CODES = re.compile(
    r"\b(scc|dpf|none|bcr|ad_hoc_clauses|independent_controller|joint_controller)\b"
    r"|(?<![(\w])(US|IE|DE|PL)(?![)\w])"
)
POLISH_RAW = re.compile(r"\bsubprocessor\b")


def visible(text: str, lang: str) -> str:
    """Text a person reads: tags and links out, entities decoded; asserts no raw code."""
    text = re.sub(r"<(style|title)[^>]*>.*?</\1>", " ", text, flags=re.S)
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", text))
    text = re.sub(r"https?://\S+", " ", text)
    assert not RAW_CODES.search(text), RAW_CODES.search(text)
    assert lang != "pl" or not POLISH_RAW.search(text)
    return " ".join(text.split())


def assert_facts(text: str, lang: str, asks: str | None, effective_on: date) -> None:
    shown = visible(text, lang)
    for fact in FACTS[lang]:
        assert fact in shown, (fact, shown[:3000])
    assert i18n.day(effective_on, lang) in shown
    if asks is not None:
        assert ZONE[lang].search(shown), shown
        assert "UTC" not in shown
        assert CONSEQUENCE[(lang, asks)] in shown
    if lang == "en":
        assert "(tylko po angielsku)" not in shown
        assert "(in Polish only)" not in shown


@pytest.fixture
def desk(client, world) -> Desk:
    return Desk(client, world, display_name=BRAND, legal_name=LEGAL_NAME)


@pytest.fixture
def stripe(desk, outbox_mail) -> dict:
    """Four customers, general and specific authorisation, each in Polish and English, told
    of the addition of a vendor with an EEA place and a transfer to the US."""
    for auth in ("general", "specific"):
        for lang in ("pl", "en"):
            desk.customer(f"{auth[:4].upper()}-{lang.upper()}", authorisation=auth, locale=lang)
    recipient = desk.vendor(
        sub_dpa_signed_on="2021-10-01",
        tia_completed_on="2021-10-01",
        name="Stripe",
        legal_entity="Stripe Payments Europe, Limited",
        address="1 Grand Canal Street Lower, Dublin 2",
        country="IE",
        purpose_pl="Obsługa płatności kartami w rezerwacjach online",
        purpose_en="Card payments for online bookings",
        data_categories_pl=["dane karty płatniczej"],
        data_categories_en=["payment card data"],
        data_subject_categories_pl=["klienci salonów korzystających z Bookero"],
        data_subject_categories_en=["clients of salons using Bookero"],
        locations=[
            {"country": "IE", "mechanism": "none", "activity_en": "payment processing"},
            {
                "country": "US",
                "mechanism": "scc",
                "scc_module": 3,
                "scc_clause9_option": "general",
                "scc_clause9_notice_days": 30,
                "scc_signed_on": "2021-10-01",
                "activity_pl": "wykrywanie oszustw",
                "activity_en": "fraud screening",
            },
        ],
    )
    change = desk.add(recipient, 40, reason=REASON)
    return {"change": change, "effective_on": date.fromisoformat(change["effective_on"])}


def _messages(mail, ref: str) -> list:
    address = f"{ref.lower()}@salon.example"
    return [m for m in mail.sent if m["To"].addresses[0].addr_spec == address]


@pytest.mark.parametrize("lang", ["pl", "en"])
@pytest.mark.parametrize("auth", ["general", "specific"])
def test_the_notice_email_states_the_facts_in_the_readers_language(
    desk, stripe, outbox_mail, lang, auth
):
    (message,) = _messages(outbox_mail, f"{auth[:4].upper()}-{lang.upper()}")
    assert message["Content-Language"] == lang
    assert BRAND in str(message["Subject"])
    assert i18n.day(stripe["effective_on"], lang) in str(message["Subject"])
    asks = "objection" if auth == "general" else "consent"
    for kind in ("plain", "html"):
        body = message.get_body((kind,)).get_content()
        assert_facts(body, lang, asks, stripe["effective_on"])
        assert f"{BRAND} ({LEGAL_NAME})" in html_lib.unescape(body)
        # The list a customer is pointed to is the public page in its language, not JSON.
        assert f"/orgs/bookero/subprocessors?lang={lang}" in body
        assert "/api/v1/" not in body
    label = presenting.labels(lang)[f"deadline_{asks}"]
    assert label in message.get_body(("plain",)).get_content()


def _answer_url(desk, ref: str, change_id: int) -> str:
    return desk.link_path(desk.notices_of(change_id)[ref])


@pytest.mark.parametrize("lang", ["pl", "en"])
@pytest.mark.parametrize("auth", ["general", "specific"])
def test_the_answer_page_states_the_facts_and_the_consequences(desk, stripe, client, lang, auth):
    path = _answer_url(desk, f"{auth[:4].upper()}-{lang.upper()}", stripe["change"]["id"])
    page = client.get(path)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert f'<html lang="{lang}">' in body
    assert_facts(
        body, lang, "objection" if auth == "general" else "consent", stripe["effective_on"]
    )


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_the_portal_change_page_states_the_facts(desk, stripe, client, outbox_mail, lang):
    ref = f"GENE-{lang.upper()}"
    portal_kit.sign_in(client, "bookero", f"{ref.lower()}@salon.example", outbox_mail)
    page = client.get(f"/portal/bookero/changes/{stripe['change']['id']}")
    assert page.status_code == 200, page.get_data(as_text=True)
    assert_facts(page.get_data(as_text=True), lang, "objection", stripe["effective_on"])


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_the_public_upcoming_section_and_the_feed_state_the_facts(desk, stripe, client, lang):
    page = client.get(f"/orgs/bookero/subprocessors?lang={lang}").get_data(as_text=True)
    upcoming = page.partition('id="upcoming"')[2].partition('id="changelog"')[0]
    assert_facts(upcoming, lang, None, stripe["effective_on"])
    public_words = presenting.labels(lang)["public_consequences"]
    assert public_words in upcoming
    feed = feedparser.parse(client.get(f"/orgs/bookero/changes.atom?lang={lang}").data)
    assert feed.bozo == 0
    assert feed.feed.title.startswith(f"{BRAND}: ")
    (entry,) = feed.entries
    assert_facts(entry.summary, lang, None, stripe["effective_on"])
    assert public_words in entry.summary


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_an_update_names_each_field_from_and_to_in_words(desk, outbox_mail, client, lang):
    desk.customer("UPD", locale=lang)
    recipient = desk.listed(0)
    update = {
        "locations": [
            {"country": "DE", "mechanism": "none", "activity": "hosting"},
            {"country": "US", "mechanism": "scc", "scc_module": 3, "activity_en": "backups"},
        ],
        "role": "independent_controller",
    }
    desk.announced(
        kind="update", recipient_id=recipient["id"], effective_on=desk.day(40), update=update
    )
    message = _messages(outbox_mail, "UPD")[-1]
    text = visible(message.get_body(("plain",)).get_content(), lang)
    words = {
        "pl": ("rola: dalszy podmiot przetwarzający (art. 28 ust. 4 RODO) → odrębny administrator",
               "Niemcy (DE) (hosting) → Niemcy (DE) (hosting); Stany Zjednoczone (US) "
               "(backups (tylko po angielsku))"),
        "en": ("role: subprocessor (Art. 28(4) GDPR) → independent controller",
               "Germany (DE) (hosting) → Germany (DE) (hosting); United States (US) (backups)"),
    }[lang]  # fmt: skip
    for line in words:
        assert line in text, text


def test_a_removal_is_information_with_nothing_to_answer(desk, outbox_mail):
    desk.customer("REM", locale="pl")
    recipient = desk.listed(0)
    desk.announced(kind="remove", recipient_id=recipient["id"], effective_on=desk.day(5))
    text = visible(_messages(outbox_mail, "REM")[-1].get_body(("plain",)).get_content(), "pl")
    assert "odpowiedź nie jest potrzebna: od " in text
    assert "Termin" not in text


@pytest.mark.parametrize(
    ("moment", "lang", "shown"),
    [
        # Windows counted in days end at local midnight: the reader sees the last day.
        (
            datetime(2027, 3, 29, 22, 0, tzinfo=UTC),
            "pl",
            "do końca dnia 29 marca 2027 r. (czas środkowoeuropejski letni, CEST)",
        ),
        (
            datetime(2027, 1, 10, 23, 0, tzinfo=UTC),
            "en",
            "the end of 10 January 2027 (Central European Standard Time, CET)",
        ),
        (
            datetime(2027, 1, 10, 13, 5, tzinfo=UTC),
            "en",
            "10 January 2027, 14:05 (Central European Standard Time, CET)",
        ),
    ],
)
def test_a_deadline_reads_on_the_organizations_clock(moment, lang, shown):
    assert presenting.deadline(moment, "Europe/Warsaw", lang) == shown


# --- the e-mail's HTML part in Chromium -----------------------------------------------------

browser = browser_kit.browser  # Debian's Chromium, driven by Playwright
server = browser_kit.server  # the app behind a real HTTP server


@pytest.mark.browser
@pytest.mark.parametrize("ref", ["GENE-PL", "SPEC-EN"])
def test_the_notice_emails_html_part_passes_axe_in_chromium(browser, stripe, outbox_mail, ref):
    (message,) = _messages(outbox_mail, ref)
    lang = message["Content-Language"]
    page = browser.new_page()
    # An e-mail client shows the part as it is, offline: nothing may be fetched.
    page.route("**/*", lambda route: route.abort())
    try:
        page.set_content(message.get_body(("html",)).get_content())
        assert page.locator("html").get_attribute("lang") == lang
        shown = visible(page.inner_text("body"), lang)
        assert CONSEQUENCE[(lang, "objection" if ref.startswith("GENE") else "consent")] in shown
        browser_kit.check_axe(page)
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("ref", ["GENE-PL", "SPEC-EN"])
def test_the_answer_page_passes_axe_and_fits_a_phone(browser, server, desk, stripe, ref, width):
    path = _answer_url(desk, ref, stripe["change"]["id"])
    problems: list[str] = []
    context, page = browser_kit.new_page(browser, server, width, problems)
    try:
        page.goto(server + path)
        assert page.locator("html").get_attribute("lang") == ref[-2:].lower()
        browser_kit.no_horizontal_overflow(page)
        browser_kit.check_axe(page)
        assert problems == []
    finally:
        context.close()


def test_legal_staff_set_the_brand_and_a_second_line_is_refused(client, world, outbox_mail):
    desk = Desk(client, world)
    url = desk.url("")
    refused = client.patch(
        url, json={"display_name": "Bookero\r\nBcc: x@evil.example"}, headers=desk.legal
    )
    assert refused.status_code == 422
    assert "display_name" in refused.json["errors"]
    set_ = client.patch(url, json={"display_name": BRAND}, headers=desk.legal)
    assert set_.status_code == 200, set_.json
    assert set_.json["display_name"] == BRAND
    desk.customer("BR", locale="en")
    desk.add(desk.vendor(), 40)
    (message,) = _messages(outbox_mail, "BR")
    assert str(message["Subject"]).startswith(f"{BRAND}: ")
    assert message["From"].addresses[0].display_name == BRAND
    assert f"{BRAND} (bookero sp. z o.o.)" in message.get_body(("plain",)).get_content()
