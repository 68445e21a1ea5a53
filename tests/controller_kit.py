"""Factories for the organization's own processing (service/controller): processing
activities and the recipients of its own data, written straight through the ORM for an
organization the suite's `world` made, and committed.

The defaults describe bezkalkulatora's contract processing: 6 years + 1 from the end of the
year in which the contract ended. Locations have the shape of `recipients.location_dict`.
"""

from __future__ import annotations

from datetime import date

from flask import Flask

from service.controller.models import ControllerRecipient, ProcessingActivity
from service.extensions import db
from service.recipients.services import LOCATION_FIELDS

# A US importer certified under the DPF, checked on the List: valid from 10 July 2023.
DPF_FACTS = {
    "dpf_certified_entity": "Google LLC",
    "dpf_certified_from": date(2023, 9, 1),
    "dpf_certified_until": date(2027, 9, 1),
    "dpf_checked_on": date(2026, 5, 1),
    "dpf_scope": "non_hr",
}


def location(country: str, mechanism: str, **details: object) -> dict:
    """A stored location: every field of `location_dict`, dates as ISO strings (JSON)."""
    stored = dict.fromkeys(LOCATION_FIELDS)
    stored.update(country=country, mechanism=mechanism, activity_pl="", activity_en="")
    stored.update({k: v.isoformat() if isinstance(v, date) else v for k, v in details.items()})
    return stored


def activity(app: Flask, org: dict, key: str = "contracts", **fields: object) -> int:
    """A processing activity of `org`; returns its id."""
    values = {
        "name_pl": "Zawieranie i wykonywanie umów",
        "name_en": "Concluding and performing contracts",
        "purposes_pl": ["wykonanie umowy", "rozliczenia podatkowe"],
        "purposes_en": ["performance of the contract", "tax settlements"],
        "legal_bases": ["6(1)(b)", "6(1)(c)"],
        "data_subjects_pl": ["klienci"],
        "data_subjects_en": ["customers"],
        "data_categories_pl": ["imię i nazwisko", "adres e-mail"],
        "data_categories_en": ["name", "e-mail address"],
        "retention_years": 6,
        "retention_extra_years": 1,
        "retention_from": "end_of_year",
        "retention_basis_pl": "art. 118 Kodeksu cywilnego",
        "retention_basis_en": "Art. 118 of the Polish Civil Code",
        **fields,
    }
    with app.app_context():
        row = ProcessingActivity(organization_id=org["id"], key=key, **values)
        db.session.add(row)
        db.session.commit()
        return row.id


def statistics_activity(app: Flask, org: dict, **fields: object) -> int:
    """Website statistics: no basis in years until the test sets one."""
    values = {
        "name_pl": "Statystyki strony",
        "name_en": "Website statistics",
        "purposes_pl": ["analiza ruchu na stronie"],
        "purposes_en": ["analysis of website traffic"],
        "retention_years": None,
        "retention_extra_years": 0,
        "retention_from": None,
        "retention_basis_pl": "",
        "retention_basis_en": "",
        **fields,
    }
    return activity(app, org, "website-statistics", **values)


def recipient(app: Flask, org: dict, activities: tuple[int, ...] = (), **fields: object) -> int:
    """A recipient of `org`'s own data linked to `activities`; returns its id."""
    values = {
        "name": "Hetzner",
        "legal_entity": "Hetzner Online GmbH",
        "address": "Industriestr. 25, 91710 Gunzenhausen",
        "country": "DE",
        "role": "processor",
        "purpose_pl": "hosting",
        "purpose_en": "hosting",
        "locations": [location("DE", "none")],
        "dpa_signed_on": date(2024, 1, 10),
        **fields,
    }
    with app.app_context():
        row = ControllerRecipient(organization_id=org["id"], **values)
        row.activities = [db.session.get_one(ProcessingActivity, i) for i in activities]
        db.session.add(row)
        db.session.commit()
        return row.id


def us_processor(app: Flask, org: dict, activities: tuple[int, ...], **fields) -> int:
    """Mailgun, a processor established in the US, with no safeguard unless the test gives one."""
    values = {
        "name": "Mailgun",
        "legal_entity": "Mailgun Technologies, Inc.",
        "country": "US",
        "purpose_pl": "wysyłka e-maili",
        "purpose_en": "sending e-mails",
        "locations": [location("US", "none")],
    }
    return recipient(app, org, activities, **{**values, **fields})


def joint_controller_in_us(app: Flask, org: dict, activities: tuple[int, ...], **fields) -> int:
    """Google Analytics as bezkalkulatora records it: a joint controller established in
    Ireland whose data reaches Google LLC in the US under the DPF."""
    values = {
        "name": "Google Analytics",
        "legal_entity": "Google Ireland Limited",
        "address": "Gordon House, Barrow Street, Dublin 4",
        "country": "IE",
        "role": "joint_controller",
        "purpose_pl": "statystyki odwiedzin strony",
        "purpose_en": "website visit statistics",
        "locations": [location("US", "dpf")],
        "joint_arrangement_on": date(2024, 3, 1),
        "joint_arrangement_reference": "Google Ads Controller-Controller Data Protection Terms",
        "joint_arrangement_essence_pl": (
            "Google odpowiada za realizację praw osób w swoich usługach"
        ),
        "joint_arrangement_essence_en": "Google answers data subjects' requests for its services",
        **DPF_FACTS,
    }
    return recipient(app, org, activities, **{**values, **fields})
