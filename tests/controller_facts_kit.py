"""Rows of the organization's own processing as controller (`service.controller.models`),
written straight through the ORM, for tests of what the rules make of them."""

from __future__ import annotations

from datetime import date

from flask import Flask

from service.controller.models import ControllerRecipient, ProcessingActivity
from service.customers.models import Customer
from service.extensions import db

# A processor of the organization's own data in the EEA with its Art. 28(3) contract.
RECIPIENT = {
    "name": "Mailer",
    "legal_entity": "Mailer sp. z o.o.",
    "country": "PL",
    "role": "processor",
    "purpose_pl": "Wysyłka newslettera",
    "purpose_en": "Sending the newsletter",
    "locations": [{"country": "PL", "mechanism": "none"}],
    "dpa_signed_on": date(2020, 1, 1),
}
# An activity with a time limit for erasure.
ACTIVITY = {
    "key": "newsletter",
    "name_pl": "Newsletter",
    "name_en": "Newsletter",
    "legal_bases": ["6(1)(a)"],
    "retention_from": "consent_withdrawal",
}


def _add(app: Flask, model: type, fields: dict) -> int:
    with app.app_context():
        row = model(**fields)
        db.session.add(row)
        db.session.commit()
        return row.id


def recipient(app: Flask, org: dict, **fields: object) -> int:
    """A ControllerRecipient of `org` (RECIPIENT with `fields` over it); its id."""
    return _add(app, ControllerRecipient, {**RECIPIENT, "organization_id": org["id"], **fields})


def activity(app: Flask, org: dict, *recipient_ids: int, **fields: object) -> int:
    """A ProcessingActivity of `org` sharing data with `recipient_ids`; its id."""
    with app.app_context():
        row = ProcessingActivity(**{**ACTIVITY, "organization_id": org["id"], **fields})
        row.recipients = [db.session.get(ControllerRecipient, i) for i in recipient_ids]
        db.session.add(row)
        db.session.commit()
        return row.id


def edit(app: Flask, model: type, row_id: int, **fields: object) -> None:
    """Set `fields` on one row, as the CRUD API would."""
    with app.app_context():
        row = db.session.get(model, row_id)
        for name, value in fields.items():
            setattr(row, name, value)
        db.session.commit()


def customer(
    app: Flask, org: dict, ref: str, started_on: date, ended_on: date | None = None
) -> int:
    """A customer of `org` whose relationship ran from `started_on` to `ended_on`."""
    fields = {"external_ref": ref, "name": f"Salon {ref}", "started_on": started_on}
    return _add(app, Customer, {**fields, "organization_id": org["id"], "ended_on": ended_on})
