"""The public page and feeds: content, escaping, conditional requests, and a cache that
is never stale (every write kind moves its key, and so does the organization's date)."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import feedparser
import pytest
from sqlalchemy import event, select, update
from werkzeug.http import http_date

from service import clock, i18n, reference
from service.changes.models import Change
from service.extensions import db
from service.organizations.models import Organization
from service.public import cache, services
from service.public.models import ListVersion
from service.recipients.models import Recipient
from service.subscriptions.models import Subscription
from tests.conftest import bearer, legacy_name, moved_clock, vendor

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def org(world) -> dict:
    return world.org("bookero", address="ul. Spacerowa 25, 05-152 Czosnów")


def api(org: dict, suffix: str = "") -> str:
    return f"/api/v1/orgs/{org['slug']}{suffix}"


def page_url(org: dict, suffix: str = "") -> str:
    return f"/orgs/{org['slug']}/subprocessors{suffix}"


def register(client, org, headers, **overrides) -> dict:
    response = client.post(api(org, "/subprocessors"), json=vendor(**overrides), headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def announce(client, org, headers, **body) -> dict:
    response = client.post(api(org, "/changes"), json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def listed(client, world, org, headers, offset: int = 0, **overrides) -> dict:
    recipient = register(client, org, headers, **overrides)
    announce(
        client, org, headers, kind="add", recipient_id=recipient["id"],
        effective_on=world.day(org, offset), reason="We need it",
    )  # fmt: skip
    return recipient


def feed_names(client, org) -> list[str]:
    return [item["name"] for item in client.get(page_url(org, ".json")).json["items"]]


# --- the page -------------------------------------------------------------------------------


def test_page_shows_list_upcoming_changes_changelog_form_and_links(client, world, org, legal):
    hetzner = listed(client, world, org, legal)
    stripe = listed(
        client, world, org, legal, offset=10, name="Stripe", legal_entity="Stripe, Inc.",
        country="US", purpose_pl="Płatności", purpose_en="Payments",
        locations=[{"country": "US", "mechanism": "scc", "scc_module": 3}],
    )  # fmt: skip
    stripe_change = client.get(api(org, "/changes")).json["items"][0]["id"]

    response = client.get(page_url(org, "?lang=en"))
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "<h1>Subprocessors and recipients of personal data</h1>" in html
    # The current list: name, legal entity, role, purpose, location with its mechanism, since.
    assert "Hetzner Online GmbH" in html
    assert "Hosting of application servers" in html
    assert "Germany (DE)" in html
    assert "no transfer outside the European Economic Area" in html
    assert f'<time datetime="{world.day(org, 0)}">' in html
    assert '<th scope="row"' in html
    assert "<caption>" in html
    # Stripe is only announced: upcoming, with its date and mechanism nowhere in the table.
    current, _, rest = html.partition('id="upcoming"')
    assert "Stripe, Inc." not in current
    upcoming, _, changelog = rest.partition('id="changelog"')
    stripe_day = date.fromisoformat(world.day(org, 10))
    assert f"Addition: Stripe (from {i18n.day(stripe_day, 'en')})" in upcoming
    assert changelog.count("<h3>") == 2
    assert f'<li id="change-{stripe_change}">' in changelog
    # The form, the feeds, the switch; nothing inline, nothing external.
    assert f'action="/orgs/{org["slug"]}/subprocessors/subscribe"' in html
    assert '<label for="email">E-mail address</label>' in html
    for link in ("subprocessors.json", "subprocessors.csv", "changes.atom?lang=en"):
        assert link in html
    assert 'href="/orgs/bookero/subprocessors?lang=pl"' in html
    assert "<script" not in html
    assert "style=" not in html
    assert "<style" not in html
    assert "http://" not in html.replace('href="https://www.hetzner.com"', "")
    assert stripe["id"] != hetzner["id"]

    polish = client.get(page_url(org, "?lang=pl")).get_data(as_text=True)
    assert '<html lang="pl">' in polish
    assert "<h1>Dalsze podmioty przetwarzające i odbiorcy danych</h1>" in polish
    assert "Hosting serwerów aplikacji" in polish
    assert "Dodanie: Stripe (od " + world.day(org, 10) + ")" in polish


def test_a_long_changelog_is_cut_and_points_to_the_api(client, world, org, legal, monkeypatch):
    monkeypatch.setattr(services, "CHANGELOG_LIMIT", 1)
    listed(client, world, org, legal)
    listed(client, world, org, legal, name="Second", legal_entity="Second Ltd")
    html = client.get(page_url(org, "?lang=en")).get_data(as_text=True)
    changelog = html.partition('id="changelog"')[2].partition('id="subscribe"')[0]
    assert changelog.count("<h3>") == 1
    assert "The 1 latest changes are shown." in changelog
    assert 'href="/api/v1/orgs/bookero/changes"' in changelog
    assert len(feedparser.parse(client.get("/orgs/bookero/changes.atom").data).entries) == 1


def test_language_follows_accept_language_unless_asked(client, org):
    english = client.get(page_url(org), headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert english.headers["Vary"] == "Accept-Language"
    default = client.get(page_url(org), headers={"Accept-Language": "de"})
    assert '<html lang="pl">' in default.get_data(as_text=True)
    asked = client.get(page_url(org, "?lang=pl"), headers={"Accept-Language": "en"})
    assert '<html lang="pl">' in asked.get_data(as_text=True)
    assert english.headers["ETag"] != asked.headers["ETag"]


def test_markup_in_vendor_data_is_shown_as_text_everywhere(client, world, org, legal):
    listed(client, world, org, legal, name=SCRIPT, legal_entity='<img src=x onerror="alert(2)">')

    html = client.get(page_url(org, "?lang=en")).get_data(as_text=True)
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html
    assert response_csp(client, org).startswith("default-src 'self'")

    feed = feedparser.parse(client.get(f"/orgs/{org['slug']}/changes.atom?lang=en").data)
    assert feed.bozo == 0
    assert SCRIPT in feed.entries[0].title
    assert feed_names(client, org) == [SCRIPT]


def response_csp(client, org) -> str:
    return client.get(page_url(org)).headers["Content-Security-Policy"]


def test_unknown_organization_is_a_small_html_page_and_feeds_answer_problems(client):
    response = client.get("/orgs/nobody/subprocessors?lang=en")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "<h1>Not found</h1>" in response.get_data(as_text=True)
    for suffix in ("subprocessors.json", "subprocessors.csv", "changes.atom"):
        missing = client.get(f"/orgs/nobody/{suffix}")
        assert missing.status_code == 404
        assert missing.mimetype == "application/problem+json"


def test_another_organizations_key_sees_nothing(client, world, org, legal):
    other = world.org("bezkalkulatora")
    listed(client, world, org, legal)
    assert feed_names(client, other) == []
    assert "Hetzner" not in client.get(page_url(other)).get_data(as_text=True)
    stranger = bearer(world.key("legal", other))
    assert client.get(page_url(org, ".json"), headers=stranger).status_code == 404


# --- the feeds ------------------------------------------------------------------------------


def test_json_is_the_public_list(client, world, org, legal):
    listed(client, world, org, legal)
    listed(client, world, org, legal, offset=3, name="Later", legal_entity="Later sp. z o.o.")
    response = client.get(page_url(org, ".json"))
    assert response.mimetype == "application/json"
    body = response.json
    assert body["organization"] == {"slug": "bookero", "legal_name": "bookero sp. z o.o."}
    assert body["as_of"] == world.day(org, 0)
    assert body["total"] == 1
    [item] = body["items"]
    assert item["name"] == "Hetzner"
    assert item["status"] == "active"
    assert item["locations"][0]["mechanism"] == "none"
    assert item["locations"][0]["safeguard_status"] == "no_transfer"
    assert "due_diligence" not in item
    # The same items the anonymous API lists.
    from_api = client.get(api(org, "/subprocessors")).json["items"]
    assert [{k: v for k, v in i.items() if k != "due_diligence"} for i in from_api] == [item]


def test_csv_quotes_properly_and_defuses_formulas(client, world, org, legal):
    listed(
        client, world, org, legal, name="=HYPERLINK(\"http://evil\",\"x\")",
        legal_entity='Quote "and", comma', purpose_en="+1 trick", purpose_pl="@SUM(A1)",
        locations=[{"country": "DE", "mechanism": "none", "activity": "-hosting"}],
    )  # fmt: skip
    response = client.get(page_url(org, ".csv"))
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    [row] = rows
    assert row["name"] == '\'=HYPERLINK("http://evil","x")'
    assert row["legal_entity"] == 'Quote "and", comma'
    assert row["purpose_en"] == "'+1 trick"
    assert row["purpose_pl"] == "'@SUM(A1)"
    assert row["locations"] == "DE: no transfer outside the European Economic Area [-hosting]"
    assert row["listed_from"] == world.day(org, 0)
    assert row["services"] == "bookings; payments"
    assert b"\r\n" in response.data


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@x", "\tx", "\rx"])
def test_safe_cell_prefixes_every_formula_start(value):
    assert services.safe_cell(value) == "'" + value
    assert services.safe_cell("a" + value) == "a" + value


def test_atom_feed_is_valid_with_one_entry_per_change(client, world, org, legal):
    hetzner = listed(client, world, org, legal)
    later = register(client, org, legal, name="Later", legal_entity="Later sp. z o.o.")
    change = announce(
        client, org, legal, kind="add", recipient_id=later["id"],
        effective_on=world.day(org, 5), reason="Cheaper & <better>",
    )  # fmt: skip
    withdrawn = client.post(
        api(org, f"/changes/{change['id']}/withdraw"), json={"reason": "No longer needed"},
        headers=legal,
    )  # fmt: skip
    assert withdrawn.status_code == 200

    response = client.get(f"/orgs/{org['slug']}/changes.atom?lang=en")
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert feed.bozo == 0, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.title == "bookero sp. z o.o.: subprocessor list changes"
    assert feed.feed.id.startswith("tag:127.0.0.1,")
    assert feed.feed.author_detail.email == "legal@bookero.example"
    links = {link.rel: link.href for link in feed.feed.links}
    assert links["self"] == "http://127.0.0.1:8000/orgs/bookero/changes.atom?lang=en"
    assert links["alternate"] == "http://127.0.0.1:8000/orgs/bookero/subprocessors?lang=en"
    assert feed.feed.language == "en"
    assert len(feed.entries) == 2
    newest, oldest = feed.entries
    later_day = i18n.day(date.fromisoformat(world.day(org, 5)), "en")
    assert newest.title == f"Withdrawn: Addition: Later (from {later_day})"
    assert "Reason for the change: Cheaper & <better>" in newest.summary
    assert "No longer needed" in newest.summary
    assert newest.id.endswith(f":bookero/changes/{change['id']}")
    assert newest.link.endswith(f"#change-{change['id']}")
    assert newest.updated_parsed >= newest.published_parsed
    assert oldest.title.startswith("Addition: Hetzner")
    assert hetzner["name"] in oldest.summary

    assert_rfc4287(response.data)

    polish = feedparser.parse(client.get(f"/orgs/{org['slug']}/changes.atom?lang=pl").data)
    assert polish.bozo == 0
    assert polish.entries[1].title.startswith("Dodanie: Hetzner")


ATOM = "{http://www.w3.org/2005/Atom}"


def assert_rfc4287(document: bytes) -> None:
    """The constraints of RFC 4287 that a lenient parser such as feedparser lets through."""
    feed = ET.fromstring(document)  # noqa: S314 - our own feed, just rendered
    assert feed.tag == ATOM + "feed"

    def one(parent: ET.Element, name: str) -> ET.Element:
        found = parent.findall(ATOM + name)
        assert len(found) == 1, f"{parent.tag} needs exactly one {name}"
        return found[0]

    def timestamp(element: ET.Element) -> None:  # RFC 3339 date-time
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", element.text
        )

    for name in ("id", "title", "updated"):
        one(feed, name)
    timestamp(one(feed, "updated"))
    assert feed.findall(f"{ATOM}author/{ATOM}name"), "a feed without author needs them on entries"
    rels = [link.get("rel") for link in feed.findall(ATOM + "link")]
    assert "self" in rels
    assert "alternate" in rels
    ids = [one(feed, "id").text]
    for entry in feed.findall(ATOM + "entry"):
        for name in ("id", "title", "updated"):
            one(entry, name)
        timestamp(one(entry, "updated"))
        timestamp(one(entry, "published"))
        ids.append(one(entry, "id").text)
        assert re.fullmatch(r"tag:[a-z0-9.-]+,\d{4}-\d\d-\d\d:\S+", ids[-1])
        # Without content, an entry needs a summary and an alternate link.
        assert one(entry, "summary").get("type") == "text"
        assert [link for link in entry.findall(ATOM + "link") if link.get("rel") == "alternate"]
    assert len(set(ids)) == len(ids)


def test_atom_feed_survives_characters_xml_cannot_carry(client, world, org, legal, app):
    recipient = listed(client, world, org, legal, name="BadName")
    legacy_name(app, Recipient, recipient["id"], "Bad\x0bName")  # the API refuses it now
    feed = feedparser.parse(client.get(f"/orgs/{org['slug']}/changes.atom").data)
    assert feed.bozo == 0
    assert "BadName" in feed.entries[0].title


# --- conditional requests and cache headers -------------------------------------------------


@pytest.mark.parametrize("suffix", ["", ".json", ".csv", "/../changes.atom"])
def test_etag_answers_304_without_a_body(client, org, suffix):
    url = page_url(org, suffix) if not suffix.startswith("/..") else "/orgs/bookero/changes.atom"
    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=60, must-revalidate"
    etag = first.headers["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')

    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(url, headers={"If-None-Match": f"W/{etag}"}).status_code == 304


def test_last_modified_and_if_modified_since(client, world, org, legal, time_machine):
    listed(client, world, org, legal)
    time_machine.move_to(datetime.now(UTC) + timedelta(seconds=5))
    first = client.get(page_url(org, ".json"))
    stamp = first.headers["Last-Modified"]
    assert stamp
    assert (
        client.get(page_url(org, ".json"), headers={"If-Modified-Since": stamp}).status_code == 304
    )
    earlier = http_date(datetime.now(UTC) - timedelta(days=2))
    assert (
        client.get(page_url(org, ".json"), headers={"If-Modified-Since": earlier}).status_code
        == 200
    )
    # If-None-Match wins over If-Modified-Since.
    both = {"If-Modified-Since": stamp, "If-None-Match": '"stale"'}
    assert client.get(page_url(org, ".json"), headers=both).status_code == 200


def test_no_last_modified_in_the_second_of_the_write(client, world, org, legal, time_machine):
    listed(client, world, org, legal)
    with world.app.app_context():
        changed_at = db.session.get(ListVersion, org["id"]).changed_at
    time_machine.move_to(changed_at, tick=False)
    response = client.get(page_url(org, ".json"))
    # A second write in this same second would carry the same Last-Modified.
    assert "Last-Modified" not in response.headers
    assert "ETag" in response.headers


def test_second_request_is_served_from_the_cache(client, world, org, legal):
    listed(client, world, org, legal)
    assert client.get(page_url(org)).headers["X-Cache"] == "miss"
    assert client.get(page_url(org)).headers["X-Cache"] == "hit"
    assert client.get(page_url(org, "?lang=en")).headers["X-Cache"] == "miss"


# --- a cache that is never stale ------------------------------------------------------------


def test_every_write_kind_moves_the_key(client, world, org, legal):
    def etag() -> str:
        response = client.get(page_url(org, "?lang=en"))
        assert response.status_code == 200
        return response.headers["ETag"]

    seen = [etag()]

    def moved() -> str:
        seen.append(etag())
        assert seen[-1] not in seen[:-1]
        return client.get(page_url(org, "?lang=en")).get_data(as_text=True)

    hetzner = register(client, org, legal)  # register (proposed: not shown, still a write)
    assert "Hetzner" not in moved()
    change = announce(
        client, org, legal, kind="add", recipient_id=hetzner["id"], effective_on=world.day(org, 3)
    )
    assert "Addition: Hetzner" in moved()  # announce
    withdrawn = client.post(
        api(org, f"/changes/{change['id']}/withdraw"), json={"reason": "Changed plans"},
        headers=legal,
    )  # fmt: skip
    assert withdrawn.status_code == 200
    assert "Withdrawn: Addition: Hetzner" in moved()  # withdraw
    announce(
        client, org, legal, kind="add", recipient_id=hetzner["id"], effective_on=world.day(org, 0)
    )
    assert "Hetzner Online GmbH" in moved()
    edited = client.patch(
        api(org, f"/subprocessors/{hetzner['id']}"), json={"name": "Hetzner Cloud"}, headers=legal
    )
    assert edited.status_code == 200
    assert "Hetzner Cloud" in moved()  # edit
    updated = client.patch(api(org), json={"legal_name": "SAFI STUDIO"}, headers=legal)
    assert updated.status_code == 200
    assert "SAFI STUDIO" in moved()  # organization edit
    update_change = announce(
        client, org, legal, kind="update", recipient_id=hetzner["id"],
        effective_on=world.day(org, 0), update={"purpose_en": "Hosting and backups"},
    )  # fmt: skip
    assert update_change["kind"] == "update"
    assert "Hosting and backups" in moved()  # update takes effect today
    assert client.get(page_url(org, ".json")).json["items"][0]["purpose_en"] == (
        "Hosting and backups"
    )


def test_a_failed_write_leaves_the_key(client, world, org, legal):
    before = client.get(page_url(org, ".json")).headers["ETag"]
    bad = client.post(api(org, "/subprocessors"), json=vendor(country="XX"), headers=legal)
    assert bad.status_code == 422
    assert client.get(page_url(org, ".json")).headers["ETag"] == before


def test_writes_outside_the_views_bump_too(ctx, world, org):
    """Imports, the CLI and scripts write through the same session: no path can forget."""

    def token() -> str:
        return cache.list_state(org["id"]).token

    first = token()
    recipient = Recipient(organization_id=org["id"], name="Direct", legal_entity="Direct Ltd")
    db.session.add(recipient)
    db.session.flush()
    db.session.rollback()  # rolled back: nothing changed, nor does the key
    assert token() == first

    with db.session.begin_nested():
        db.session.add(Recipient(organization_id=org["id"], name="Kept", legal_entity="K"))
    try:
        with db.session.begin_nested():
            db.session.execute(select(Organization).where(Organization.id == org["id"]))
            raise RuntimeError("a savepoint that rolls back")
    except RuntimeError:
        pass
    db.session.commit()
    second = token()
    assert second != first

    # Core-level DML on a list table bumps every organization (it cannot tell whose).
    db.session.execute(update(Recipient).where(Recipient.name == "Kept").values(address="x"))
    db.session.commit()
    assert token() != second

    # A value set but unchanged, and the beat job's milestone stamps, show nothing new.
    third = token()
    org_row = db.session.get(Organization, org["id"])
    org_row.security_measures = org_row.security_measures
    db.session.commit()
    assert token() == third
    change = Change(
        organization_id=org["id"], kind="add", recipient_id=recipient_id("Kept"),
        effective_on=clock.local_today(org["timezone"]), announced_by="test",
    )  # fmt: skip
    db.session.add(change)
    db.session.commit()
    fourth = token()
    assert fourth != third
    change.reminder_recorded_at = change.in_effect_recorded_at = datetime.now(UTC)
    db.session.commit()
    assert token() == fourth


def recipient_id(name: str) -> int:
    return db.session.scalars(select(Recipient.id).where(Recipient.name == name)).one()


def test_the_day_after_the_effective_date_shows_the_vendor_with_no_worker(
    client, world, org, legal, time_machine
):
    listed(client, world, org, legal, offset=1)
    today = client.get(page_url(org, "?lang=en"))
    assert "Hetzner Online GmbH" not in today.get_data(as_text=True).partition('id="upcoming"')[0]
    assert feed_names(client, org) == []

    # Tomorrow, with no job and no write in between: the local date moves the key.
    time_machine.move_to(datetime.now(UTC) + timedelta(days=1))
    next_day = client.get(
        page_url(org, "?lang=en"), headers={"If-None-Match": today.headers["ETag"]}
    )
    assert next_day.status_code == 200
    current = next_day.get_data(as_text=True).partition('id="upcoming"')[0]
    assert "Hetzner Online GmbH" in current
    assert feed_names(client, org) == ["Hetzner"]


def test_the_key_and_the_rendering_follow_the_date(ctx, world, org, legal, client):
    listed(client, world, org, legal, offset=1)
    organization = db.session.get(Organization, org["id"])
    today = clock.local_today(organization.timezone)
    state = cache.list_state(organization.id)
    keys = [
        cache.Key(organization.id, state.token, day, "en", "html")
        for day in (today, today + timedelta(days=1))
    ]
    assert keys[0].etag != keys[1].etag
    assert json.loads(services.json_body(organization, today))["items"] == []
    assert [
        i["name"]
        for i in json.loads(services.json_body(organization, today + timedelta(days=1)))["items"]
    ] == ["Hetzner"]


def test_body_cache_is_bounded_by_bytes():
    store = cache.BodyCache(max_bytes=100)
    keys = [cache.Key(1, "t", clock.local_today("UTC"), "pl", str(i)) for i in range(5)]
    for key in keys:
        store.put(key, b"x" * 25)
    assert len(store) == 4
    assert store.get(keys[0]) is None
    assert store.get(keys[4]) == b"x" * 25
    store.put(keys[0], b"y" * 60)  # more than a quarter of the cache: not kept
    assert store.get(keys[0]) is None


# --- the subscribe form ---------------------------------------------------------------------


def test_subscribe_form_asks_for_confirmation(client, world, org):
    response = client.post(
        page_url(org, "/subscribe"), data={"email": "reader@example.com", "lang": "en"}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Check your inbox</h1>" in html
    assert response.headers["Cache-Control"] == "no-store"
    with world.app.app_context():
        subscription = db.session.scalars(select(Subscription)).one()
        assert (subscription.status, subscription.locale) == ("pending", "en")


def test_subscribe_form_names_a_bad_address(client, world, org):
    response = client.post(page_url(org, "/subscribe"), data={"email": "not-an-address"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in html
    assert 'value="not-an-address"' in html
    with world.app.app_context():
        assert db.session.scalars(select(Subscription)).all() == []


def test_subscribe_form_escapes_what_it_echoes(client, org):
    response = client.post(page_url(org, "/subscribe"), data={"email": f'"><b>{SCRIPT}'})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert SCRIPT not in html
    assert "<b>" not in html


# --- the per-process state: answers from the cache without the database ------------------------


@pytest.fixture
def remembered(app, monkeypatch) -> dict:
    """Production's state cache (tests otherwise read the token on every request), with a
    clock the test moves."""
    yield from moved_clock(app, monkeypatch, "PUBLIC_STATE_MAX_AGE_SECONDS", cache.states)


@pytest.fixture
def statements(app):
    """SQL statements the database receives while the test runs."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_hits_and_revalidations_touch_no_database(
    client, world, org, legal, remembered, statements
):
    listed(client, world, org, legal)
    first = client.get(page_url(org, ".json"))
    assert first.headers["X-Cache"] == "miss"
    statements.clear()
    hit = client.get(page_url(org, ".json"))
    revalidated = client.get(page_url(org, ".json"), headers={"If-None-Match": hit.headers["ETag"]})
    assert (hit.status_code, hit.headers["X-Cache"], revalidated.status_code) == (200, "hit", 304)
    assert hit.data == first.data
    assert statements == []


def test_a_write_in_this_process_shows_at_once(client, world, org, legal, remembered):
    listed(client, world, org, legal)
    before = client.get(page_url(org, ".json"))
    listed(client, world, org, legal, name="Stripe", legal_entity="Stripe, Inc.")
    after = client.get(page_url(org, ".json"), headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert [item["name"] for item in after.json["items"]] == ["Hetzner", "Stripe"]


def test_a_write_of_another_process_shows_within_the_max_age(
    client, ctx, world, org, legal, remembered
):
    listed(client, world, org, legal)
    before = client.get(page_url(org, ".json")).headers["ETag"]
    # Another process's write: the token moves in the database, this process is not told.
    db.session.execute(
        update(ListVersion)
        .where(ListVersion.organization_id == org["id"])
        .values(token="f" * 32, changed_at=datetime.now(UTC) - timedelta(minutes=1))
    )
    db.session.commit()  # a Core update of the token table is no list write: no bump
    assert client.get(page_url(org, ".json")).headers["ETag"] == before
    remembered["now"] += 1.9
    assert client.get(page_url(org, ".json")).headers["ETag"] == before
    remembered["now"] += 0.2
    moved = client.get(page_url(org, ".json"), headers={"If-None-Match": before})
    assert moved.status_code == 200
    assert moved.headers["ETag"] != before


def test_the_state_cache_keeps_tenants_and_keys_apart(client, world, org, legal, remembered):
    listed(client, world, org, legal)
    assert client.get(page_url(org, ".json")).status_code == 200  # remembered now
    other = world.org("bezkalkulatora")
    assert feed_names(client, other) == []
    stranger = bearer(world.key("legal", other))
    assert client.get(page_url(org, ".json"), headers=stranger).status_code == 404
    assert client.get(page_url(org, ".json"), headers=bearer("nope")).status_code == 401
    own = client.get(page_url(org, ".json"), headers=legal)
    assert [item["name"] for item in own.json["items"]] == ["Hetzner"]


def test_an_unknown_slug_is_not_remembered(client, world, remembered):
    assert client.get("/orgs/newcomer/subprocessors.json").status_code == 404
    assert client.get("/orgs/newcomer/subprocessors").status_code == 404
    world.org("newcomer")
    assert client.get("/orgs/newcomer/subprocessors.json").status_code == 200


# --- the whole list's CSV from rows, against the objects ----------------------------------------


@pytest.mark.parametrize("named_at_most", [1000, 0], ids=["vendors named", "organization read"])
def test_the_csv_from_rows_is_byte_for_byte_the_objects_csv(app, monkeypatch, named_at_most):
    """The CSV renders from set-based rows (`present_listed`, `facts_of_presented`: the
    vendors by id, or the organization's whole when they are many) with the reference data
    read once (`reference.pinned`); the demo's vendors (adequacy, the DPF, SCC with
    assessments, EEA, parents) rendered from loaded objects, judging each location on its
    own, give the same bytes at dates across the DPF's life."""
    from service.compliance import services as compliance
    from service.demo.seed import seed
    from service.recipients import services as recipients

    monkeypatch.setattr(compliance, "_NAMED_AT_MOST", named_at_most)

    reads: list[str] = []
    monkeypatch.setattr(
        reference, "_read", lambda name, read=reference._read: reads.append(name) or read(name)
    )
    with app.app_context():
        seed(app.instance_path, actor="test")
        db.session.commit()
        org = db.session.scalars(select(Organization).where(Organization.slug == "bookero")).one()
        today = clock.local_today(org.timezone)
        sizes = []
        for day in [today + timedelta(days=n) for n in (-1200, -400, -30, 0, 60)]:
            vendors = recipients.all_listed(org, day)
            sizes.append(len(vendors))
            expected = services.list_csv(
                [recipients.present(r, day, legal=False) for r in vendors],
                {r.id: services.recipient_places(r, day, "en") for r in vendors},
            )
            reads.clear()
            assert services.csv_body(org, day) == expected
            # Each file at most once for the whole list (66,000 reads at 10,000 vendors).
            assert len(reads) == len(set(reads))
        assert max(sizes) > 5
        db.session.remove()
