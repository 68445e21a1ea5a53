"""The record's controllers decided for many customers at once (`controller_entries`, one
context per group: what an export does chunk by chunk) equal each customer's own entry
(`controller_entry`, a context of one), whatever decides its list: authorisation, an
exclusion, an open objection, consent awaited or refused, an update not in force for it yet,
a child under a withheld parent, service scopes, a relationship ending."""

from __future__ import annotations

from datetime import date

import pytest

from service.extensions import db
from service.organizations.models import Organization
from service.records import services as records
from tests.notice_kit import Desk


@pytest.fixture
def desk(client, world) -> Desk:
    """Customers covering every branch of `customer_view`, and the day they differ on."""
    d = Desk(client, world)
    d.customer("GEN")
    d.customer("PAY", services=("payments",))
    d.customer("OBJ")
    d.customer("EXCL", remedy="exclude")
    d.customer("SPEC", authorisation="specific")
    d.customer("REFUSE", authorisation="specific")
    d.customer("ENDS", started_on=d.day(-30), ended_on=d.day(40))
    d.customer("GONE", started_on=d.day(-30), ended_on=d.day(10))
    hosting = d.vendor(name="Hosting")
    added = d.add(hosting, 0, urgent=True, urgent_justification="Setup")
    for ref in ("SPEC", "REFUSE"):
        assert d.consent(ref, added["id"]).status_code == 201
    d.listed(0, name="Acquirer", services=["payments"])
    parent = d.vendor(name="Mailer")
    mailer = d.add(parent, 31)
    d.add(d.vendor(name="Mailer Cloud", parent_id=parent["id"]), 31)
    assert d.object("OBJ", mailer["id"]).status_code == 201
    excluded = d.object("EXCL", mailer["id"]).json
    assert d.resolve(excluded["id"]).status_code == 200
    assert d.consent("REFUSE", mailer["id"], "refuse").status_code == 201
    # A widening update SPEC has not consented to: it keeps the revision before it.
    d.announced(
        kind="update",
        recipient_id=hosting["id"],
        effective_on=d.day(31),
        update={"locations": [{"country": "US", "mechanism": "dpf", "activity": "backup"}]},
    )
    return d


def entries(app, desk: Desk, day: str, *, chunk: int) -> tuple[list[dict], list[dict]]:
    """The record's controllers on `day` in groups of `chunk`, and one by one."""
    as_of = date.fromisoformat(day)
    with app.app_context():
        org = db.session.get_one(Organization, desk.org["id"])
        customers = records.customers_on(org, as_of)
        memo: dict = {}
        bulk = [
            entry
            for start in range(0, len(customers), chunk)
            for entry in records.controller_entries(
                org, customers[start : start + chunk], as_of, "en", memo
            )
        ]
        single = [records.controller_entry(org, c, as_of, "en") for c in customers]
        return bulk, single


@pytest.mark.parametrize("chunk", [1, 3, 100])
def test_the_bulk_path_decides_every_customer_as_the_single_one(app, desk, chunk):
    bulk, single = entries(app, desk, desk.day(31), chunk=chunk)
    assert bulk == single
    by_ref = {c["external_ref"]: c for c in bulk}
    # The fixture reaches every branch (else the equality above proves little).
    assert "GONE" not in by_ref
    assert by_ref["ENDS"]["ended_on"].isoformat() == desk.day(40)

    def names(ref: str) -> set[str]:
        return {r["name"] for r in by_ref[ref]["recipients"]}

    def held(ref: str) -> dict[str, tuple]:
        return {w["name"]: (w["state"], w["change_id"]) for w in by_ref[ref]["withheld"]}

    def hosting_places(ref: str) -> set[str]:
        [hosting] = [r for r in by_ref[ref]["recipients"] if r["name"] == "Hosting"]
        return {loc["country"] for loc in hosting["locations"]}

    assert names("GEN") == {"Hosting", "Mailer", "Mailer Cloud"}  # scope: no Acquirer
    assert names("PAY") == {"Hosting", "Acquirer", "Mailer", "Mailer Cloud"}
    assert held("OBJ")["Mailer"][0] == "objected_pending"
    # A child of a withheld parent is withheld with its parent's reason.
    assert held("OBJ")["Mailer Cloud"] == held("OBJ")["Mailer"]
    assert held("EXCL")["Mailer"] == ("excluded", None)  # the exclusion, not the notice
    assert held("SPEC")["Mailer"][0] == "awaiting_consent"
    assert held("REFUSE")["Mailer"][0] == "consent_refused"
    assert hosting_places("SPEC") != hosting_places("GEN")  # seen on the eve of the update
