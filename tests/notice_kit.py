"""Helpers shared by the notice, objection, milestone and diff tests: a legal desk of one
organization that registers customers and vendors and announces changes through the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from service.notices.links import SALT
from tests.conftest import bearer, vendor

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert response.json["status"] == status
    return response.json


def parse_dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def local_midnight(day: str | date, timezone: str) -> datetime:
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime.combine(day, datetime.min.time(), ZoneInfo(timezone)).astimezone(UTC)


def window_end(delivered_at: datetime | str, days: int, timezone: str) -> datetime:
    """The end of `days` days counted from the day after delivery: local midnight after the
    last day (Polish Civil Code Art. 111 § 2; Regulation 1182/71 Art. 3)."""
    moment = parse_dt(delivered_at) if isinstance(delivered_at, str) else delivered_at
    delivered_on = moment.astimezone(ZoneInfo(timezone)).date()
    return local_midnight(delivered_on + timedelta(days=days + 1), timezone)


class Desk:
    """One organization's legal desk, driven through the HTTP API."""

    def __init__(self, client, world, slug: str = "bookero", **org_fields: object) -> None:
        self.client, self.world = client, world
        self.org = world.org(slug, **org_fields)
        self.slug = slug
        self.legal = bearer(world.key("legal", self.org))
        self.customers: dict[str, dict] = {}

    # --- paths and dates ---

    def url(self, path: str) -> str:
        return f"/api/v1/orgs/{self.slug}{path}"

    def day(self, offset: int) -> str:
        return self.world.day(self.org, offset)

    def today(self) -> date:
        return self.world.today(self.org)

    # --- data ---

    def customer(
        self,
        ref: str,
        *,
        authorisation: str | None = "general",
        notice_days: int | None = 30,
        objection_days: int | None = None,
        remedy: str | None = None,
        services=("bookings",),
        locale: str | None = "pl",
        key: bool = True,
        emergency: bool | None = True,
        **extra: object,
    ) -> dict:
        """Register a customer. Its agreement has an emergency-replacement clause (0 days'
        minimum notice) unless `emergency` says otherwise, so the urgent additions tests use
        as setup (`listed`) reach it; tests about urgency choose it explicitly."""
        agreement = {
            name: value
            for name, value in (
                ("authorisation", authorisation),
                ("notice_days", notice_days),
                ("objection_days", objection_days),
                ("objection_remedy", remedy),
                ("emergency_clause", emergency),
            )
            if value is not None
        }
        body = {
            "external_ref": ref,
            "name": f"Salon {ref}",
            "services": list(services),
            "contacts": (
                [{"email": f"{ref.lower()}@salon.example", "locale": locale}] if locale else []
            ),
            "agreement": agreement,
            **extra,
        }
        response = self.client.post(self.url("/customers"), json=body, headers=self.legal)
        assert response.status_code == 201, response.json
        customer = response.json
        if key:
            customer["key"] = bearer(self.world.key("customer", self.org, customer["id"]))
        self.customers[ref] = customer
        return customer

    def vendor(self, **overrides: object) -> dict:
        response = self.client.post(
            self.url("/subprocessors"), json=vendor(**overrides), headers=self.legal
        )
        assert response.status_code == 201, response.json
        return response.json

    def announce(self, **body: object):
        return self.client.post(self.url("/changes"), json=body, headers=self.legal)

    def announced(self, **body: object) -> dict:
        response = self.announce(**body)
        assert response.status_code == 201, response.json
        return response.json

    def add(self, recipient: dict, offset: int, **body: object) -> dict:
        return self.announced(
            kind="add", recipient_id=recipient["id"], effective_on=self.day(offset), **body
        )

    def listed(self, offset: int = 0, **overrides: object) -> dict:
        """Register a vendor and add it `offset` days from today, urgently: setup for tests
        about something else, whatever notice the customers are owed."""
        recipient = self.vendor(**overrides)
        self.add(recipient, offset, urgent=True, urgent_justification="Test setup")
        return recipient

    def withdraw(self, change_id: int, reason: str = "Plans changed"):
        return self.client.post(
            self.url(f"/changes/{change_id}/withdraw"), json={"reason": reason}, headers=self.legal
        )

    # --- what customers see ---

    def customer_list(self, ref: str, as_of: str | None = None, headers=None) -> dict:
        customer = self.customers[ref]
        query = {"as_of": as_of} if as_of else {}
        response = self.client.get(
            self.url(f"/customers/{customer['id']}/subprocessors"),
            query_string=query,
            headers=headers or customer["key"],
        )
        assert response.status_code == 200, response.json
        return response.json

    def names(self, ref: str, as_of: str | None = None) -> set[str]:
        return {item["name"] for item in self.customer_list(ref, as_of)["items"]}

    def notices_of(self, change_id: int) -> dict[str, dict]:
        response = self.client.get(
            self.url(f"/changes/{change_id}/notices"),
            query_string={"per_page": 500},
            headers=self.legal,
        )
        assert response.status_code == 200, response.json
        return {n["customer"]["external_ref"]: n for n in response.json["items"]}

    def customer_notices(self, ref: str) -> list[dict]:
        customer = self.customers[ref]
        response = self.client.get(
            self.url(f"/customers/{customer['id']}/notices"), headers=customer["key"]
        )
        assert response.status_code == 200, response.json
        return response.json["items"]

    # --- answers ---

    def object(self, ref: str, change_id: int, reason: str = ""):
        return self.client.post(
            self.url(f"/changes/{change_id}/objections"),
            json={"reason": reason},
            headers=self.customers[ref]["key"],
        )

    def consent(self, ref: str, change_id: int, decision: str = "consent", reason: str = ""):
        return self.client.post(
            self.url(f"/changes/{change_id}/consents"),
            json={"decision": decision, "reason": reason},
            headers=self.customers[ref]["key"],
        )

    def resolve(self, objection_id: int, note: str = "Handled", headers=None):
        return self.client.post(
            self.url(f"/objections/{objection_id}/resolution"),
            json={"note": note},
            headers=headers or self.legal,
        )

    def objections(self, **query: object) -> dict:
        response = self.client.get(self.url("/objections"), query_string=query, headers=self.legal)
        assert response.status_code == 200, response.json
        return response.json

    # --- audit ---

    def audit(self, **filters: object) -> list[dict]:
        response = self.client.get(
            self.url("/audit"), query_string={"per_page": 500, **filters}, headers=self.legal
        )
        assert response.status_code == 200, response.json
        return response.json["items"]

    def chain_ok(self) -> bool:
        response = self.client.get(self.url("/audit/verification"), headers=self.legal)
        assert response.status_code == 200, response.json
        return response.json["ok"]

    # --- signed links ---

    def link_path(self, notice: dict) -> str:
        """The path of a notice's answer link (without scheme and host)."""
        assert notice["answer_url"], notice
        return "/" + notice["answer_url"].split("://", 1)[1].split("/", 1)[1]


def craft_token(app: Flask, payload: dict, *, age_days: float = 0) -> str:
    """A token signed with the app's key, as if issued `age_days` ago."""

    class BackdatedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(super().get_timestamp() - age_days * 86400)

    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=SALT, signer=BackdatedSigner)
    return serializer.dumps(payload)


def days_after(moment: datetime, days: float) -> datetime:
    return moment + timedelta(days=days)
