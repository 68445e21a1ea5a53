"""The organization's own register: its processing activities and the recipients of its data.

Here the organization is the controller (Art. 24, 30(1)); its customers have no say in this
data, so nothing written here announces a change, writes a notice or queues a message:
Art. 28(2) and (4) bind a processor's engagement of others for the *customers'* data only,
which stays in `service.recipients` and `service.changes`. A vendor serving both contexts is
two rows, linked by `ControllerRecipient.subprocessor_id`.

Every write takes the organization's audit chain lock first (`audit.locked_head`): writes of
one organization run one at a time, so the uniqueness checks below cannot race. A write checks
everything before it changes anything and raises with every problem at once (422), or a
conflict with another row (409); the caller commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from service import clock
from service.audit import services as audit
from service.common import MAX_ID
from service.compliance import rules
from service.controller.facts import location_of
from service.controller.models import (
    ART6_BASES,
    ART9_CONDITIONS,
    ControllerRecipient,
    ProcessingActivity,
)
from service.errors import Conflict, NotFound, ValidationFailed
from service.extensions import db
from service.organizations.models import Organization
from service.recipients.models import Recipient
from service.recipients.names import name_key
from service.recipients.services import LOCATION_FIELDS, shown_location

# Columns the API does not write.
META_COLUMNS = ("id", "organization_id", "created_at", "updated_at")
ACTIVITY_FIELDS = tuple(
    c.name for c in ProcessingActivity.__table__.columns if c.name not in META_COLUMNS
)
RECIPIENT_FIELDS = tuple(
    c.name for c in ControllerRecipient.__table__.columns if c.name not in META_COLUMNS
)
LEGITIMATE_INTERESTS = "6(1)(f)"

Problems = dict[str, list]


def _blank(model: type) -> dict:
    """A new row's values before INSERT fills the defaults (the only callable ones: lists)."""
    values = {}
    for column in model.__table__.columns:
        if column.name not in META_COLUMNS:
            default = column.default
            values[column.name] = (
                None if default is None else [] if default.is_callable else default.arg
            )
    return values


def _add(problems: Problems, field: str, message: object) -> None:
    problems.setdefault(field, []).append(message)


def _raise_if(problems: Problems, detail: str) -> None:
    if problems:
        raise ValidationFailed(detail, errors=problems)


def _window_problems(values: dict, start: str, end: str) -> Problems:
    if values.get(start) and values.get(end) and values[end] <= values[start]:
        return {end: [f"Must be after {start}."]}
    return {}


# --- audited writes, one way for both kinds ---------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """What the audited create/edit/delete of one kind of row needs: its audit entity,
    model, snapshot (the audited values) and checked write (`write(org, row, values, data)`
    checks `values`, the row as it would be, then applies `data`)."""

    entity: str
    model: type
    snapshot: Callable[[object], dict]
    write: Callable[[Organization, object, dict, dict], object]


def _create(kind: _Kind, org: Organization, data: dict, actor: str):
    # The organization's audit head is locked first: it also serialises the uniqueness
    # checks (names, keys, the one activity covering customer records) of concurrent writes.
    audit.locked_head(org.id)
    row = kind.model(organization_id=org.id)
    kind.write(org, row, {**_blank(kind.model), **data}, data)
    db.session.add(row)
    db.session.flush()
    audit.record(
        org.id, actor, f"{kind.entity}.created", kind.entity, row.id, after=kind.snapshot(row)
    )
    return row


def _edit(kind: _Kind, org: Organization, row: object, data: dict, actor: str) -> bool:
    audit.locked_head(org.id)
    before = kind.snapshot(row)
    kind.write(org, row, {**before, **data}, data)
    db.session.flush()
    old, new = audit.changed(before, kind.snapshot(row))
    if new:
        audit.record(
            org.id, actor, f"{kind.entity}.updated", kind.entity, row.id, before=old, after=new
        )
    return bool(new)


def _delete(kind: _Kind, org: Organization, row: object, before: dict, actor: str) -> None:
    audit.locked_head(org.id)
    row_id = row.id
    db.session.delete(row)
    db.session.flush()
    audit.record(org.id, actor, f"{kind.entity}.deleted", kind.entity, row_id, before=before)


# --- processing activities ------------------------------------------------------------------


def list_activities(org: Organization) -> list[ProcessingActivity]:
    return list(
        db.session.scalars(
            select(ProcessingActivity)
            .where(ProcessingActivity.organization_id == org.id)
            .order_by(ProcessingActivity.key)
        )
    )


def get_activity(org: Organization, activity_id: int) -> ProcessingActivity:
    found = (
        db.session.scalar(
            select(ProcessingActivity).where(
                ProcessingActivity.id == activity_id,
                ProcessingActivity.organization_id == org.id,
            )
        )
        if 0 < activity_id <= MAX_ID
        else None
    )
    if found is None:
        raise NotFound("No such processing activity.")
    return found


def activity_by_key(org: Organization, key: str) -> ProcessingActivity | None:
    return db.session.scalar(
        select(ProcessingActivity).where(
            ProcessingActivity.organization_id == org.id, ProcessingActivity.key == key
        )
    )


def blank_activity() -> dict:
    """A new activity's values (what a create merges its body into)."""
    return _blank(ProcessingActivity)


def activity_problems(values: dict) -> Problems:
    """What the GDPR asks of one activity's record, on its complete values."""
    problems: Problems = {}
    bases = set(values.get("legal_bases") or ())
    if not bases & set(ART6_BASES):
        # Art. 6(1): processing is lawful only where at least one of its bases applies; an
        # Art. 9(2) condition lifts the ban on special categories, it is no basis by itself.
        _add(problems, "legal_bases", "Give at least one Art. 6(1) basis, e.g. '6(1)(b)'.")
    if values.get("special_categories") and not bases & set(ART9_CONDITIONS):
        _add(
            problems,
            "legal_bases",
            "Special categories of data need at least one Art. 9(2) condition "
            "(e.g. '9(2)(a)', explicit consent).",
        )
    if LEGITIMATE_INTERESTS in bases and not (
        (values.get("legitimate_interests_pl") or "").strip()
        or (values.get("legitimate_interests_en") or "").strip()
    ):
        # Art. 13(1)(d): the data subject is told the legitimate interests pursued.
        _add(
            problems,
            "legitimate_interests_pl",
            "A 6(1)(f) basis needs the legitimate interests pursued (Art. 13(1)(d)), in at "
            "least one language.",
        )
    if not (values.get("purposes_pl") or values.get("purposes_en")):
        # Art. 30(1)(b): the record states the purposes of the processing.
        _add(problems, "purposes_pl", "Give the purposes (Art. 30(1)(b)) in at least one language.")
    problems.update(_retention_problems(values))
    problems.update(_window_problems(values, "started_on", "ended_on"))
    return problems


def _retention_problems(values: dict) -> Problems:
    """Art. 30(1)(f): a period in years runs from a stated moment."""
    if values.get("retention_years") is not None:
        if not values.get("retention_from"):
            return {"retention_from": ["Required when retention_years is given."]}
    elif values.get("retention_extra_years"):
        return {"retention_extra_years": ["Only with retention_years."]}
    return {}


def _activity_conflicts(org: Organization, values: dict, own_id: int | None) -> None:
    same_key = activity_by_key(org, values["key"])
    if same_key is not None and same_key.id != own_id:
        message = f"Activity {same_key.id} has the key '{values['key']}'."
        raise Conflict(message, errors={"key": [message]})
    if values.get("covers_customer_records"):
        other = db.session.scalar(
            select(ProcessingActivity).where(
                ProcessingActivity.organization_id == org.id,
                ProcessingActivity.covers_customer_records.is_(True),
                ProcessingActivity.id != (own_id or 0),
            )
        )
        if other is not None:
            # One rule drives the purge of ended customer relationships: two would disagree.
            message = (
                f"Activity '{other.key}' already covers the customer records; only one "
                "activity may (its retention rule drives their purge)."
            )
            raise Conflict(message, errors={"covers_customer_records": [message]})


def _linked_recipients(org: Organization, ids: Iterable[int]) -> list[ControllerRecipient]:
    wanted = list(dict.fromkeys(ids))
    found = {
        r.id: r
        for r in db.session.scalars(
            select(ControllerRecipient).where(
                ControllerRecipient.organization_id == org.id,
                ControllerRecipient.id.in_(wanted),
            )
        )
    }
    unknown = [i for i in wanted if i not in found]
    if unknown:
        raise ValidationFailed(
            "Unknown controller recipients.",
            errors={"recipient_ids": [f"No controller recipient {i}." for i in unknown]},
        )
    return [found[i] for i in wanted]


def activity_snapshot(activity: ProcessingActivity) -> dict:
    return {
        **{name: getattr(activity, name) for name in ACTIVITY_FIELDS},
        "recipient_ids": sorted(r.id for r in activity.recipients),
    }


def _write_activity(
    org: Organization, activity: ProcessingActivity, values: dict, data: dict
) -> ProcessingActivity:
    """Check `values` (the activity as it would be), then apply `data` to it."""
    _raise_if(activity_problems(values), "The processing activity is incomplete or inconsistent.")
    linked = _linked_recipients(org, data["recipient_ids"]) if "recipient_ids" in data else None
    _activity_conflicts(org, values, activity.id)
    for name in ACTIVITY_FIELDS:
        if name in data:
            setattr(activity, name, data[name])
    if linked is not None:
        activity.recipients = linked
    return activity


def create_activity(org: Organization, data: dict, *, actor: str) -> ProcessingActivity:
    return _create(ACTIVITY, org, data, actor)


def edit_activity(
    org: Organization, activity: ProcessingActivity, data: dict, *, actor: str
) -> bool:
    """Apply `data`; True when something changed (then audited)."""
    return _edit(ACTIVITY, org, activity, data, actor)


def delete_activity(org: Organization, activity: ProcessingActivity, *, actor: str) -> None:
    _delete(ACTIVITY, org, activity, activity_snapshot(activity), actor)


def present_activity(activity: ProcessingActivity) -> dict:
    return {
        "id": activity.id,
        **{name: getattr(activity, name) for name in ACTIVITY_FIELDS},
        "recipient_ids": [r.id for r in activity.recipients],
        "recipients": [{"id": r.id, "name": r.name, "role": r.role} for r in activity.recipients],
    }


# --- recipients of the organization's own data ------------------------------------------------


def list_recipients(org: Organization) -> list[ControllerRecipient]:
    return list(
        db.session.scalars(
            select(ControllerRecipient)
            .where(ControllerRecipient.organization_id == org.id)
            .order_by(ControllerRecipient.name, ControllerRecipient.id)
        )
    )


def get_recipient(org: Organization, recipient_id: int) -> ControllerRecipient:
    found = (
        db.session.scalar(
            select(ControllerRecipient).where(
                ControllerRecipient.id == recipient_id,
                ControllerRecipient.organization_id == org.id,
            )
        )
        if 0 < recipient_id <= MAX_ID
        else None
    )
    if found is None:
        raise NotFound("No such controller recipient.")
    return found


def names_in_use(org_id: int) -> dict[str, ControllerRecipient]:
    """name_key -> the organization's controller recipient of that name (see
    `recipients.names`: NFKC, case-folded, confusables)."""
    rows = db.session.scalars(
        select(ControllerRecipient).where(ControllerRecipient.organization_id == org_id)
    )
    return {name_key(r.name): r for r in rows}


def recipient_by_external_id(org: Organization, external_id: str) -> ControllerRecipient | None:
    return db.session.scalar(
        select(ControllerRecipient).where(
            ControllerRecipient.organization_id == org.id,
            ControllerRecipient.external_id == external_id,
        )
    )


def stored_location(location: dict) -> dict:
    """A location as the JSON column keeps it: the keys of `recipients.location_dict`, dates
    as ISO strings (the JSON serialiser refuses dates)."""
    blank = dict.fromkeys(LOCATION_FIELDS) | {"activity_pl": "", "activity_en": ""}
    given = {k: v for k, v in location.items() if k in LOCATION_FIELDS and v is not None}
    return audit.jsonable(blank | given)


def recipient_problems(org: Organization, values: dict, day: date) -> Problems:
    """What registration refuses, as for a subprocessor, with the organization exporting as
    controller (a processor fits SCC Module 2; Module 4 never carries data to a recipient)."""
    material = {
        "country": values["country"],
        "role": values["role"],
        "locations": [location_of(stored_location(loc)) for loc in values["locations"]],
    }
    problems: Problems = dict(rules.refusals(material, day))
    sub_id = values.get("subprocessor_id")
    if sub_id is not None:
        sub = db.session.get(Recipient, sub_id)
        if sub is None or sub.organization_id != org.id:
            _add(problems, "subprocessor_id", "No vendor of this organization has this id.")
    problems.update(_window_problems(values, "used_from", "used_until"))
    return problems


def _recipient_conflicts(org: Organization, values: dict, own_id: int | None) -> None:
    same = names_in_use(org.id).get(name_key(values["name"]))
    if same is not None and same.id != own_id:
        message = f"Controller recipient {same.id} is named '{same.name}', which reads the same."
        raise Conflict(message, errors={"name": [message]})
    external_id = values.get("external_id")
    if external_id:
        other = recipient_by_external_id(org, external_id)
        if other is not None and other.id != own_id:
            message = f"Controller recipient {other.id} has the external_id '{external_id}'."
            raise Conflict(message, errors={"external_id": [message]})


def recipient_snapshot(recipient: ControllerRecipient) -> dict:
    return {name: getattr(recipient, name) for name in RECIPIENT_FIELDS}


def _write_recipient(
    org: Organization, recipient: ControllerRecipient, values: dict, data: dict
) -> None:
    today = clock.local_today(org.timezone)
    _raise_if(recipient_problems(org, values, today), "The controller recipient is refused.")
    _recipient_conflicts(org, values, recipient.id)
    for name in RECIPIENT_FIELDS:
        if name in data:
            value = data[name]
            if name == "locations":
                value = [stored_location(loc) for loc in value]
            setattr(recipient, name, value)


def create_recipient(org: Organization, data: dict, *, actor: str) -> ControllerRecipient:
    return _create(RECIPIENT, org, data, actor)


def edit_recipient(
    org: Organization, recipient: ControllerRecipient, data: dict, *, actor: str
) -> bool:
    """Apply `data`; True when something changed (then audited)."""
    return _edit(RECIPIENT, org, recipient, data, actor)


def delete_recipient(org: Organization, recipient: ControllerRecipient, *, actor: str) -> None:
    """Delete it; the activities it served lose the link (recorded in `before`)."""
    before = {**recipient_snapshot(recipient), "activities": [a.key for a in recipient.activities]}
    _delete(RECIPIENT, org, recipient, before, actor)


def present_recipient(recipient: ControllerRecipient) -> dict:
    sub = (
        db.session.get(Recipient, recipient.subprocessor_id) if recipient.subprocessor_id else None
    )
    return {
        "id": recipient.id,
        **recipient_snapshot(recipient),
        "locations": [shown_location(location_of(loc)) for loc in recipient.locations or ()],
        "subprocessor": {"id": sub.id, "name": sub.name} if sub is not None else None,
        "activities": [
            {"id": a.id, "key": a.key, "name_pl": a.name_pl, "name_en": a.name_en}
            for a in recipient.activities
        ],
    }


def controller_contexts(org: Organization, subprocessor_ids: Iterable[int]) -> dict[int, list]:
    """For each vendor of the customers'-data list, its counterparts on the organization's
    own side: {subprocessor id: [{id, name, role}]}."""
    found: dict[int, list] = {}
    for row in db.session.scalars(
        select(ControllerRecipient)
        .where(
            ControllerRecipient.organization_id == org.id,
            ControllerRecipient.subprocessor_id.in_(list(subprocessor_ids)),
        )
        .order_by(ControllerRecipient.name, ControllerRecipient.id)
    ):
        found.setdefault(row.subprocessor_id, []).append(
            {"id": row.id, "name": row.name, "role": row.role}
        )
    return found


# The two kinds, defined last: their write functions are above.
ACTIVITY = _Kind("processing_activity", ProcessingActivity, activity_snapshot, _write_activity)
RECIPIENT = _Kind("controller_recipient", ControllerRecipient, recipient_snapshot, _write_recipient)
