"""The pages customers and the public read, in Chromium at desktop and phone width, each
passing axe-core (no serious or critical finding) with nothing scrolling sideways; and the
kit's own checks, shown to catch what they are for."""

from __future__ import annotations

import re

import pytest

from tests import browser_kit
from tests.browser_kit import check_axe, check_page, new_page, no_horizontal_overflow
from tests.notice_kit import Desk
from tests.portal_kit import LINK, plain_text

pytestmark = pytest.mark.browser
browser = browser_kit.browser
server = browser_kit.server

ANNA = "recepcja@salon-bella.example.com"
ACCEPT_LINK = re.compile(r"https?://\S+/agreement/accept/\S+")
# A long word and a heading of its own, as legal texts have: neither may widen a phone's page.
AGREEMENT = (
    "# Umowa powierzenia przetwarzania danych osobowych\n\n"
    "Przetwarzający przetwarza dane **wyłącznie** na udokumentowane polecenie administratora "
    "(Rozporządzenie2016/679Parlamentu-Europejskiego-i-Rady-z-dnia-27-kwietnia-2016)."
)


def test_the_kit_catches_an_axe_violation_and_sideways_scrolling(browser):
    page = browser.new_page(viewport={"width": 390, "height": 600})
    try:
        page.set_content(
            '<html lang="en"><body><main><h1>Kit</h1>'
            '<p><img src="data:,"> <a href="#x"></a></p>'
            '<pre style="width: 900px">wide</pre></main></body></html>'
        )
        with pytest.raises(AssertionError) as found:
            check_axe(page)
        assert "critical image-alt" in str(found.value)
        assert "serious link-name" in str(found.value)
        with pytest.raises(AssertionError, match="PRE"):
            no_horizontal_overflow(page)
    finally:
        page.close()


@pytest.fixture
def bookero(server, client, world, outbox_mail) -> Desk:
    """A vendor on the list with the data it receives, a customer, and a published agreement
    whose acceptance link has been mailed (to the test server)."""
    desk = Desk(client, world)
    desk.customer("BK-0001", name="Salon Urody Bella", contacts=[{"email": ANNA, "locale": "pl"}])
    desk.listed(
        name="Stripe",
        legal_entity="Stripe Payments Europe, Limited",
        country="IE",
        data_categories_pl=["dane karty płatniczej"],
        data_categories_en=["payment card data"],
        services=["payments"],
        locations=[
            {"country": "IE", "mechanism": "none", "activity": "payments"},
            {"country": "US", "mechanism": "scc", "scc_module": 3, "activity": "fraud"},
        ],
    )
    agreement = {
        "version": "2027-01",
        "effective_on": desk.day(0),
        "publish": True,
        "texts": [{"language": "pl", "text": AGREEMENT}],
    }
    assert (
        client.post(desk.url("/agreements"), json=agreement, headers=desk.legal).status_code == 201
    )
    return desk


@pytest.mark.parametrize("width", browser_kit.WIDTHS)
def test_public_acceptance_and_portal_pages_pass_axe_at_both_widths(
    browser, server, bookero, outbox_mail, width
):
    problems: list[str] = []
    context, page = new_page(browser, server, width, problems)
    try:
        for name, path in (
            ("pages-public-pl", "/orgs/bookero/subprocessors?lang=pl"),
            ("pages-public-en", "/orgs/bookero/subprocessors?lang=en"),
            ("pages-agreement", "/orgs/bookero/agreement?lang=pl"),
            ("pages-agreement-versions", "/orgs/bookero/agreement/versions?lang=en"),
            ("pages-portal-sign-in", "/portal/bookero/sign-in?lang=pl"),
        ):
            page.goto(server + path)
            check_page(page, name, width)
        assert page.get_by_role("heading", level=1).count() == 1

        # The acceptance page from the e-mail, then what it records.
        page.goto(mail_link(outbox_mail, ACCEPT_LINK))
        check_page(page, "pages-accept", width)
        page.get_by_label("Imię i nazwisko osoby akceptującej").fill("Anna Nowak")
        page.get_by_label("Adres e-mail").fill(ANNA)
        page.get_by_role("checkbox").check()
        with page.expect_navigation():
            page.get_by_role("button", name="Akceptuję umowę").click()
        assert (
            page.get_by_role("heading", level=1).inner_text()
            == "Akceptacja została zarejestrowana."
        )
        check_page(page, "pages-accepted", width)

        # The portal's agreement page with that evidence, in words.
        page.goto(f"{server}/portal/bookero/sign-in?email={ANNA}")
        page.get_by_role("button", name="Wyślij link do logowania").click()
        page.goto(mail_link(outbox_mail, LINK))
        with page.expect_navigation():
            page.get_by_role("button", name="Zaloguj się").click()
        page.goto(f"{server}/portal/bookero/agreement")
        evidence = page.locator("dl.evidence").inner_text()
        assert "Anna Nowak" in evidence
        assert f"wysłanej na adres {ANNA}" in evidence
        assert "None" not in evidence
        check_page(page, "pages-portal-agreement", width)
    finally:
        context.close()
    assert problems == []


def mail_link(mail, pattern: re.Pattern) -> str:
    """The newest link matching `pattern` in the mail sent so far."""
    for message in reversed(mail.sent):
        found = pattern.search(plain_text(message))
        if found:
            return found.group(0)
    pytest.fail(f"no message with {pattern.pattern}")
