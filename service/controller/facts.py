"""How the compliance rules see a recipient of the organization's own data.

The rules of `service.compliance.rules` judge any recipient through `rules.Vendor`; this
module builds one from a `ControllerRecipient`, with the organization as the exporter acting
as controller (so a processor fits SCC Module 2, a controller Module 1), and states which
recipients and activities are in use on a day. Locations are stored as JSON, so their dates
come back as ISO strings and are turned back into dates here.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select

from service.compliance import rules
from service.controller.models import ControllerRecipient, ProcessingActivity
from service.extensions import db
from service.organizations.models import Organization
from service.recipients.services import LOCATION_FIELDS

# Location keys that hold dates (see `recipients.services.location_dict`).
LOCATION_DATES = ("scc_signed_on",)


def _day(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def location_of(stored: dict) -> dict:
    """A stored location as the rules expect it (dates as dates, absent keys as None)."""
    location = {key: stored.get(key) for key in LOCATION_FIELDS}
    for key in LOCATION_DATES:
        location[key] = _day(location[key])
    return location


def vendor_facts(recipient: ControllerRecipient) -> rules.Vendor:
    """The plain data the rules judge, with the organization exporting as controller."""
    return rules.Vendor(
        name=recipient.name,
        country=recipient.country,
        role=recipient.role,
        locations=tuple(location_of(loc) for loc in recipient.locations or ()),
        exporter="controller",
        sub_dpa_signed_on=recipient.dpa_signed_on,
        tia_completed_on=recipient.tia_completed_on,
        dpf_certified_until=recipient.dpf_certified_until,
        dpf_certified_from=recipient.dpf_certified_from,
        dpf_checked_on=recipient.dpf_checked_on,
        dpf_scope=recipient.dpf_scope,
        dpf_certified_entity=recipient.dpf_certified_entity,
        parent_company=recipient.parent_company,
        parent_company_country=recipient.parent_company_country,
    )


def statuses(recipient: ControllerRecipient, day: date) -> list[rules.TransferStatus]:
    """Each location of `recipient` with what may be said of its transfer on `day`."""
    vendor = vendor_facts(recipient)
    return [rules.transfer_status(vendor, location, day) for location in vendor.locations]


def in_use(start, end, day: date):
    """Rows whose window [start, end) holds `day` (NULL: unbounded)."""
    return (start.is_(None) | (start <= day)) & or_(end.is_(None), end > day)


def recipients_on(org: Organization, day: date) -> list[ControllerRecipient]:
    """The recipients of the organization's own data in use on `day`, by name."""
    return list(
        db.session.scalars(
            select(ControllerRecipient)
            .where(
                ControllerRecipient.organization_id == org.id,
                in_use(
                    ControllerRecipient.used_from,
                    ControllerRecipient.used_until,
                    day,
                ),
            )
            .order_by(ControllerRecipient.name, ControllerRecipient.id)
        )
    )


def activities_on(org: Organization, day: date) -> list[ProcessingActivity]:
    """The organization's processing activities as controller on `day`, by key."""
    return list(
        db.session.scalars(
            select(ProcessingActivity)
            .where(
                ProcessingActivity.organization_id == org.id,
                in_use(
                    ProcessingActivity.started_on,
                    ProcessingActivity.ended_on,
                    day,
                ),
            )
            .order_by(ProcessingActivity.key)
        )
    )
