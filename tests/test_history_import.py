"""Bringing an existing list with its history: dated versions in, the same versions out.

A published list of eight versions (2018-2022) with additions, removals, a vendor that
leaves and comes back, purpose and location updates, a change of the SCC set and renames
(one on the same day as an update) is imported; the list as of every version's day and the
diff between consecutive versions must reproduce the source exactly. Then: the dry run,
the refusals (a future version, a vendor already registered), what customers and the
public page see of history (no notice, never "announced"), returns and dated renames
through the API, and the message when an add cannot be.
"""

from __future__ import annotations

import copy
import itertools

import pytest
from sqlalchemy import func, select

from service.changes.models import Change, Notice
from service.extensions import db
from service.outbox.models import OutboxItem
from tests.conftest import audit_events, vendor

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

OLD_SCC = {"mechanism": "scc", "scc_set": "2010/87", "scc_signed_on": "2018-05-01"}
NEW_SCC = {
    "mechanism": "scc",
    "scc_set": "2021/914",
    "scc_module": 3,
    "scc_clause9_option": "general",
    "scc_clause9_notice_days": 30,
    "scc_signed_on": "2021-09-20",
}


def place(country: str, activity: str, **mechanism: object) -> dict:
    return {"country": country, "activity_en": activity, **(mechanism or {"mechanism": "none"})}


def row(key: str, name: str, entity: str, country: str, purpose: str, *locations, **more):
    return {
        "external_id": key,
        "name": name,
        "legal_entity": entity,
        "country": country,
        "role": "subprocessor",
        "purpose_pl": f"{purpose} (pl)",
        "purpose_en": purpose,
        "locations": list(locations),
        **more,
    }


def source_versions() -> list[dict]:
    """The eight published versions, each built from the one before."""
    hetzner = row("hz", "Hetzner", "Hetzner Online GmbH", "DE", "Hosting", place("DE", "hosting"))
    mailgun = row(
        "mg", "Mailgun", "Mailgun Technologies, Inc.", "US", "E-mail delivery",
        place("US", "sending", **OLD_SCC),
    )  # fmt: skip
    zendesk = row(
        "zd", "Zendesk", "Zendesk, Inc.", "US", "Support tickets",
        place("IE", "storage"), place("US", "support", **OLD_SCC),
    )  # fmt: skip
    sentry = row(
        "se", "Sentry", "Functional Software, Inc.", "US", "Error tracking",
        place("US", "errors", **OLD_SCC), data_categories_en=["IP address"],
    )  # fmt: skip
    stripe = row(
        "st", "Stripe", "Stripe Payments Europe, Ltd.", "IE", "Payments",
        place("IE", "payments"), place("US", "fraud checks", **OLD_SCC),
    )  # fmt: skip
    versions = [{"valid_on": "2018-05-25", "vendors": [hetzner, mailgun, zendesk, sentry]}]

    def then(day: str, edit) -> None:
        vendors = copy.deepcopy(versions[-1]["vendors"])
        versions.append({"valid_on": day, "vendors": edit(vendors) or vendors})

    def find(vendors: list[dict], key: str) -> dict:
        return next(v for v in vendors if v["external_id"] == key)

    then("2018-11-01", lambda v: v.append(copy.deepcopy(stripe)))

    def hetzner_grows(v):
        find(v, "hz").update(purpose_en="Hosting and backups", purpose_pl="Hosting i kopie")
        find(v, "hz")["locations"].append(place("FI", "backups"))

    then("2019-04-01", hetzner_grows)
    then("2019-10-01", lambda v: [x for x in v if x["external_id"] != "se"])
    then(
        "2020-03-01",
        lambda v: find(v, "mg").update(name="Sinch Mailgun", legal_entity="Sinch America Inc."),
    )

    def sentry_returns(v):
        back = copy.deepcopy(sentry)
        back.update(purpose_en="Error and performance tracking")
        back["locations"].append(place("DE", "performance"))
        v.append(back)

    then("2020-09-01", sentry_returns)

    def zendesk_new_clauses(v):
        find(v, "zd")["locations"][1] = place("US", "support", **NEW_SCC)

    then("2021-10-01", zendesk_new_clauses)

    def last(v):
        v = [x for x in v if x["external_id"] != "st"]
        find(v, "hz")["data_categories_en"] = ["contact details", "booking history"]
        find(v, "se").update(name="Sentry.io", locations=[place("DE", "errors")])
        v.append(row("ic", "Intercom", "Intercom R&D Unlimited", "IE", "Chat", place("IE", "chat")))
        return v

    then("2022-06-01", last)
    return versions


def history_url(org: dict) -> str:
    return f"/api/v1/orgs/{org['slug']}/subprocessors/history/import"


def imported(client, org, legal, versions, **query) -> dict:
    response = client.post(
        history_url(org),
        json={"versions": versions},
        query_string={"source": "published list", **query},
        headers=legal,
    )
    assert response.status_code == 200, response.json
    return response.json


def facts(item: dict) -> tuple:
    """What a version states of a vendor: names, purposes, categories, places, mechanisms."""
    places = tuple(
        (p["country"], p["activity_en"], p["mechanism"], p.get("scc_set"), p.get("scc_module"))
        for p in item["locations"]
    )
    return (
        item["name"],
        item["legal_entity"],
        item["country"],
        item["purpose_pl"],
        item["purpose_en"],
        tuple(item.get("data_categories_en") or ()),
        places,
    )


def listed_as_of(client, org, day: str) -> set[tuple]:
    response = client.get(
        f"/api/v1/orgs/{org['slug']}/subprocessors",
        query_string={"as_of": day, "per_page": 100},
    )
    assert response.status_code == 200, response.json
    return {facts(item) for item in response.json["items"]}


def source_facts(version: dict) -> set[tuple]:
    return {facts({"data_categories_en": [], **v}) for v in version["vendors"]}


def test_every_version_and_every_diff_is_reproduced(client, org, legal):
    versions = source_versions()
    result = imported(client, org, legal, versions)
    assert result["totals"] == {"add": 7, "remove": 2, "update": 5, "rename": 2}
    assert [v["valid_on"] for v in result["versions"]] == [v["valid_on"] for v in versions]
    assert result["vendors"] == 6
    for version in versions:
        assert listed_as_of(client, org, version["valid_on"]) == source_facts(version), version[
            "valid_on"
        ]
    # The day before the first version the list was empty; today it is the last version.
    assert listed_as_of(client, org, "2018-05-24") == set()
    assert listed_as_of(client, org, "2026-06-15") == source_facts(versions[-1])
    for before, after in itertools.pairwise(versions):
        diff = client.get(
            f"/api/v1/orgs/{org['slug']}/subprocessors/diff",
            query_string={"from": before["valid_on"], "to": after["valid_on"]},
        ).json
        old = {v["external_id"]: v for v in before["vendors"]}
        new = {v["external_id"]: v for v in after["vendors"]}
        assert sorted(i["name"] for i in diff["added"]) == sorted(
            new[k]["name"] for k in new.keys() - old.keys()
        )
        assert sorted(i["name"] for i in diff["removed"]) == sorted(
            old[k]["name"] for k in old.keys() - new.keys()
        )
        changed = {
            new[k]["name"]
            for k in old.keys() & new.keys()
            if facts({"data_categories_en": [], **old[k]})
            != facts({"data_categories_en": [], **new[k]})
        }
        assert {c["name"] for c in diff["changed"]} == changed, after["valid_on"]


def test_renames_show_the_old_name_before_their_day(client, org, legal):
    imported(client, org, legal, source_versions())
    diff = client.get(
        f"/api/v1/orgs/{org['slug']}/subprocessors/diff",
        query_string={"from": "2019-10-01", "to": "2020-03-01"},
    ).json
    [renamed] = diff["changed"]
    assert renamed["changes"]["name"] == {"before": "Mailgun", "after": "Sinch Mailgun"}
    assert renamed["changes"]["legal_entity"]["after"] == "Sinch America Inc."
    assert set(renamed["changes"]) == {"name", "legal_entity"}


def test_a_vendor_that_came_back_has_two_periods(client, org, legal):
    imported(client, org, legal, source_versions())
    items = client.get(
        f"/api/v1/orgs/{org['slug']}/subprocessors", query_string={"as_of": "2019-01-01"}
    ).json["items"]
    sentry_then = next(i for i in items if i["name"] == "Sentry")
    assert (sentry_then["listed_from"], sentry_then["listed_until"]) == ("2018-05-25", "2019-10-01")
    now = client.get(f"/api/v1/orgs/{org['slug']}/subprocessors/{sentry_then['id']}").json
    current = (now["listed_from"], now["listed_until"], now["status"])
    assert current == ("2020-09-01", None, "active")
    assert now["listing_periods"] == [
        {"listed_from": "2018-05-25", "listed_until": "2019-10-01"},
        {"listed_from": "2020-09-01", "listed_until": None},
    ]
    assert sentry_then["listing_periods"] == now["listing_periods"]
    gap = client.get(
        f"/api/v1/orgs/{org['slug']}/subprocessors/{sentry_then['id']}",
        query_string={"as_of": "2020-01-01"},
    ).json
    assert gap["status"] == "removed"


def test_history_gives_no_notice_and_is_never_announced(client, org, legal, world):
    world_customer = client.post(
        f"/api/v1/orgs/{org['slug']}/customers",
        json={"name": "Salon", "external_ref": "S-1", "started_on": "2018-01-01"},
        headers=legal,
    )
    assert world_customer.status_code == 201, world_customer.json
    imported(client, org, legal, source_versions())
    with world.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notice)) == 0
        assert db.session.scalar(select(func.count()).select_from(OutboxItem)) == 0
        flags = set(db.session.execute(select(Change.historical, Change.source)).all())
    assert flags == {(True, "published list")}
    changes = client.get(f"/api/v1/orgs/{org['slug']}/changes", query_string={"per_page": 50})
    assert {c["historical"] for c in changes.json["items"]} == {True}
    page = client.get(f"/orgs/{org['slug']}/subprocessors", query_string={"lang": "en"})
    text = page.get_data(as_text=True)
    assert "from earlier versions of the list" in text
    assert "announced 2026" not in text  # nothing shows the import day as an announcement
    feed = client.get(f"/orgs/{org['slug']}/changes.atom").get_data(as_text=True)
    assert "<entry>" not in feed
    recorded = audit_events(client, org, legal, action="change.recorded")
    assert len(recorded) == 16 - 2  # every derived change but the two renames
    assert audit_events(client, org, legal, action="import.completed")[0]["after"]["totals"] == {
        "add": 7,
        "remove": 2,
        "update": 5,
        "rename": 2,
    }


def test_dry_run_shows_the_changes_and_writes_nothing(client, org, legal):
    result = imported(client, org, legal, source_versions(), dry_run="true")
    assert result["dry_run"] is True
    kinds = [(c["effective_on"], c["kind"], c["vendor"]) for c in result["changes"]]
    assert ("2020-09-01", "add", "Sentry") in kinds
    assert next(c for c in result["changes"] if c["effective_on"] == "2020-09-01")["returning"]
    assert ("2020-03-01", "rename", "Sinch Mailgun") in kinds
    update = next(c for c in result["changes"] if c["effective_on"] == "2021-10-01")
    assert (update["kind"], update["fields"]) == ("update", ["locations"])
    listed = client.get(f"/api/v1/orgs/{org['slug']}/subprocessors").json
    assert listed["total"] == 0
    assert audit_events(client, org, legal, action="import.completed") == []


def test_a_version_after_today_and_a_registered_vendor_are_refused(client, org, legal):
    client.post(
        f"/api/v1/orgs/{org['slug']}/subprocessors", json=vendor(name="Zendesk"), headers=legal
    )
    versions = source_versions()[:2]
    versions.append({"valid_on": "2026-06-16", "vendors": versions[-1]["vendors"]})
    response = client.post(history_url(org), json={"versions": versions}, headers=legal)
    assert response.status_code == 422
    errors = response.json["errors"]["rows"]
    assert any("after today" in " ".join(e["errors"].get("valid_on", [])) for e in errors)
    assert any("exists already" in " ".join(e["errors"].get("name", [])) for e in errors)
    assert client.get(f"/api/v1/orgs/{org['slug']}/changes").json["total"] == 0


def test_history_as_csv_with_valid_on_column(client, org, legal):
    body = (
        "valid_on,name,legal_entity,country,role,purpose_pl,purpose_en,locations\r\n"
        "2019-01-01,Hetzner,Hetzner Online GmbH,DE,subprocessor,Hosting,Hosting,DE:none\r\n"
        "2019-01-01,Brevo,Sendinblue SAS,FR,subprocessor,Mailing,Mailing,FR:none\r\n"
        "2020-01-01,Hetzner,Hetzner Online GmbH,DE,subprocessor,Hosting,Hosting,"
        "DE:none; FI:none\r\n"
    )
    response = client.post(history_url(org), data=body, content_type="text/csv", headers=legal)
    assert response.status_code == 200, response.json
    assert response.json["totals"] == {"add": 2, "remove": 1, "update": 1, "rename": 0}
    assert {f[0] for f in listed_as_of(client, org, "2019-06-01")} == {"Hetzner", "Brevo"}
    assert {f[0] for f in listed_as_of(client, org, "2020-01-01")} == {"Hetzner"}


# --- returns, dated renames and the add refusal through the change API -------------------


def announce(client, org, legal, **body):
    return client.post(f"/api/v1/orgs/{org['slug']}/changes", json=body, headers=legal)


def registered(client, org, legal, *, listed_since: str | None = None) -> int:
    """A vendor registered, and on the list since that day when given (historical add)."""
    rid = client.post(
        f"/api/v1/orgs/{org['slug']}/subprocessors", json=vendor(), headers=legal
    ).json["id"]
    if listed_since:
        added = announce(
            client, org, legal, kind="add", recipient_id=rid, effective_on=listed_since,
            historical=True,
        )  # fmt: skip
        assert added.status_code == 201, added.json
    return rid


def test_a_removed_vendor_can_come_back(client, org, legal):
    rid = registered(client, org, legal, listed_since="2020-01-01")
    assert announce(
        client, org, legal, kind="remove", recipient_id=rid, effective_on="2021-01-01",
        historical=True,
    ).status_code == 201  # fmt: skip
    early = announce(client, org, legal, kind="add", recipient_id=rid, effective_on="2020-06-01",
                     historical=True)  # fmt: skip
    assert early.status_code == 409
    assert "on the list until 2021-01-01" in early.json["detail"]
    back = announce(client, org, legal, kind="add", recipient_id=rid, effective_on="2026-07-15")
    assert back.status_code == 201, back.json
    again = announce(client, org, legal, kind="add", recipient_id=rid, effective_on="2026-08-01")
    assert again.status_code == 409
    assert again.json["detail"] == (
        "The addition of Hetzner is already announced, effective 2026-07-15."
    )
    for day, listed in (("2020-06-01", 1), ("2022-01-01", 0), ("2026-07-15", 1)):
        assert (
            client.get(
                f"/api/v1/orgs/{org['slug']}/subprocessors", query_string={"as_of": day}
            ).json["total"]
            == listed
        ), day
    # Withdrawing the return gives back the period that ended.
    withdrawn = client.post(
        f"/api/v1/orgs/{org['slug']}/changes/{back.json['id']}/withdraw",
        json={"reason": "not needed"},
        headers=legal,
    )
    assert withdrawn.status_code == 200, withdrawn.json
    detail = client.get(f"/api/v1/orgs/{org['slug']}/subprocessors/{rid}").json
    assert (detail["listed_from"], detail["listed_until"]) == ("2020-01-01", "2021-01-01")


def test_an_add_of_a_listed_vendor_says_so(client, org, legal):
    rid = registered(client, org, legal, listed_since="2020-01-01")
    response = announce(client, org, legal, kind="add", recipient_id=rid, effective_on="2026-07-01")
    assert response.status_code == 409
    assert response.json["detail"] == "Hetzner is already on the list, since 2020-01-01."


def test_historical_change_is_refused_after_today_and_announce_before(client, org, legal):
    rid = registered(client, org, legal)
    late = announce(client, org, legal, kind="add", recipient_id=rid, effective_on="2026-06-16",
                    historical=True)  # fmt: skip
    assert late.status_code == 422
    assert "2026-06-15 or earlier" in late.json["errors"]["effective_on"][0]
    past = announce(client, org, legal, kind="add", recipient_id=rid, effective_on="2026-06-14")
    assert past.status_code == 422
    assert "historical" in past.json["detail"]


def test_a_dated_rename_keeps_the_old_name_before_its_day(client, org, legal):
    rid = registered(client, org, legal, listed_since="2019-01-01")
    url = f"/api/v1/orgs/{org['slug']}/subprocessors/{rid}"
    etag = client.get(url, headers=legal).headers["ETag"]
    renamed = client.patch(
        url,
        json={"name": "Hetzner Cloud", "legal_entity": "Hetzner Cloud GmbH",
              "renamed_on": "2024-01-01"},
        headers={**legal, "If-Match": etag},
    )  # fmt: skip
    assert renamed.status_code == 200, renamed.json
    assert renamed.json["name"] == "Hetzner Cloud"
    then = client.get(url, query_string={"as_of": "2023-12-31"}).json
    assert (then["name"], then["legal_entity"]) == ("Hetzner", "Hetzner Online GmbH")
    with_renamed_on_alone = client.patch(
        url, json={"renamed_on": "2024-02-01"}, headers={**legal, "If-Match": "*"}
    )
    assert with_renamed_on_alone.status_code == 422
    assert (
        audit_events(client, org, legal, action="recipient.edited")[0]["after"]["renamed_on"]
        == "2024-01-01"
    )
