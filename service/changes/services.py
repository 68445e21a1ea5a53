"""Announce and withdraw changes of the subprocessor list.

A change moves the listing window of the vendors it names (and, for `update`, opens a new
dated revision), so the list as of any date follows from the stored dates alone.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select

from service import clock
from service.audit import services as audit
from service.changes.models import Change
from service.common import MAX_ID, paginate
from service.compliance import rules as transfer_rules
from service.errors import Conflict, NotFound, ValidationFailed
from service.extensions import db
from service.notices import services as notices
from service.objections import services as objections
from service.organizations.models import Organization
from service.outbox import services as outbox
from service.recipients import services as recipients
from service.recipients.models import Recipient, RecipientRevision
from service.subscriptions import services as subscriptions


def _locked_recipient(org: Organization, recipient_id: int, field: str) -> Recipient:
    # The row lock makes two concurrent announcements for one vendor queue up, so the
    # second sees the first's listing window and is refused.
    recipient = db.session.scalars(
        select(Recipient)
        .where(Recipient.id == recipient_id, Recipient.organization_id == org.id)
        .with_for_update()
    ).one_or_none()
    if recipient is None:
        raise ValidationFailed(
            "The change names a vendor this organization has not registered.",
            errors={field: [f"No recipient {recipient_id} in {org.slug}."]},
        )
    return recipient


def _check_can_enter(recipient: Recipient, effective_on: date, today: date, field: str) -> None:
    """A vendor joins the list if it never was on it, or if it left by `effective_on`."""
    start, end = recipient.listed_from, recipient.listed_until
    if start is None or (end is not None and end <= effective_on):
        return
    if end is not None:
        problem = f"{recipient.name} is on the list until {end}; it can come back from that day."
        raise Conflict(problem, errors={"effective_on": [f"Must be {end} or later."]})
    problem = (
        f"{recipient.name} is already on the list, since {start}."
        if start <= today
        else f"The addition of {recipient.name} is already announced, effective {start}."
    )
    raise Conflict(problem, errors={field: [problem]})


def _check_listed(
    recipient: Recipient, effective_on: date, field: str, *, leaving: bool = False
) -> None:
    if recipient.listed_from is None:
        raise Conflict(f"{recipient.name} is not on the list.", errors={field: ["Not listed."]})
    if recipient.listed_until is not None:
        raise Conflict(
            f"{recipient.name} already leaves the list on {recipient.listed_until}.",
            errors={field: ["Removal already announced."]},
        )
    # Leaving on the day it joins would mean it was never on the list: withdraw the add.
    too_early = (
        recipient.listed_from >= effective_on if leaving else (recipient.listed_from > effective_on)
    )
    if too_early:
        after = "after" if leaving else "on or after"
        raise Conflict(
            f"{recipient.name} joins the list only on {recipient.listed_from}.",
            errors={"effective_on": [f"Must be {after} {recipient.listed_from}."]},
        )


def _open_update_revision(
    org: Organization, recipient: Recipient, effective_on: date, data: dict
) -> tuple[RecipientRevision, dict]:
    current = recipients.latest_revision(recipient)
    if current.valid_from is not None and current.valid_from >= effective_on:
        raise Conflict(
            f"An update of {recipient.name} effective on {current.valid_from} is already "
            "announced; withdraw it or announce a later date.",
            errors={"effective_on": [f"Must be after {current.valid_from}."]},
        )
    before = recipients.material_snapshot(current)
    try:
        revision = recipients.apply_material(org, RecipientRevision(), data, current)
    except ValidationFailed as error:
        # e.g. an unknown service slug: name it where the client sent it, as the schema does.
        raise ValidationFailed(error.detail, errors={"update": error.errors}) from error
    after = recipients.material_snapshot(revision)
    if before == after:
        raise ValidationFailed(
            "The update changes nothing.", errors={"update": ["No material field differs."]}
        )
    transfer_rules.check_registrable(revision, effective_on, under="update")
    current.valid_until = effective_on
    revision.valid_from = effective_on
    recipient.revisions.append(revision)
    old, new = audit.changed(before, after)
    return revision, {"before": audit.jsonable(old), "after": audit.jsonable(new)}


def _new_change(org: Organization, recipient: Recipient, data: dict, actor: str) -> Change:
    return Change(
        organization_id=org.id,
        kind=data["kind"],
        recipient_id=recipient.id,
        effective_on=data["effective_on"],
        reason=data.get("reason") or "",
        urgent=data.get("urgent", False),
        urgent_justification=(
            data.get("urgent_justification") or None if data.get("urgent") else None
        ),
        announced_by=actor,
    )


def _apply(org: Organization, change: Change, recipient: Recipient, data: dict, today: date):
    """Move the listing periods (and for `update` open the dated revision) the change names."""
    kind, effective_on = change.kind, change.effective_on
    if kind == "add":
        _check_can_enter(recipient, effective_on, today, "recipient_id")
        recipients.open_period(recipient, effective_on)
    elif kind == "replace":
        if data["replaces_id"] == recipient.id:
            raise ValidationFailed(
                "A vendor cannot replace itself.", errors={"replaces_id": ["Same as recipient_id."]}
            )
        old = _locked_recipient(org, data["replaces_id"], "replaces_id")
        _check_can_enter(recipient, effective_on, today, "recipient_id")
        _check_listed(old, effective_on, "replaces_id", leaving=True)
        recipients.open_period(recipient, effective_on)
        old.listed_until = effective_on
        change.replaces_id = old.id
    elif kind == "update":
        _check_listed(recipient, effective_on, "recipient_id")
        change.revision, change.update_diff = _open_update_revision(
            org, recipient, effective_on, data["update"]
        )
    else:  # remove
        _check_listed(recipient, effective_on, "recipient_id", leaving=True)
        recipient.listed_until = effective_on


def announce_change(org: Organization, data: dict, *, actor: str) -> Change:
    today = clock.local_today(org.timezone)
    if data.get("historical"):
        return record_historical_change(org, data, actor=actor, source=data.get("source"))
    effective_on: date = data["effective_on"]
    if effective_on < today:
        raise ValidationFailed(
            "A change cannot take effect in the past; one that already took effect is "
            "recorded with `historical: true`.",
            errors={"effective_on": [f"Must be {today} or later."]},
        )
    recipient = _locked_recipient(org, data["recipient_id"], "recipient_id")
    change = _new_change(org, recipient, data, actor)
    _apply(org, change, recipient, data, today)
    db.session.add(change)
    db.session.flush()
    notices.check_notice_period(org, change)
    # One row, whatever the number of customers, and whether or not any is concerned (only
    # the fan-out finds out, so nothing here reads every customer): the worker writes the
    # notices and their deliveries chunk by chunk, and records how many customers it told
    # (`notices`, counted chunk by chunk) in a `change.notices_written` event. Rows from
    # before either found their notices written (no `write_notices`) or uncounted (no
    # `notices`).
    payload = {"change_id": change.id, "write_notices": True, "notices": 0}
    outbox.enqueue("change.announced", payload, org.id)
    subscriptions.notify_subscribers(org, change, "announced")
    audit.record(
        org.id, actor, "change.announced", "change", change.id, after=present(change, today)
    )
    return change


def record_historical_change(
    org: Organization, data: dict, *, actor: str, source: str | None
) -> Change:
    """Record a change that already took effect before the registry knew of it.

    It moves the list's history exactly as an announced change would, so the list as of
    any past date and the diffs come out right, but it was never announced here: it sends
    no notice and no subscriber mail, and it is refused for a date after today (a change
    still to come is announced, with notice, and customers may object).
    """
    today = clock.local_today(org.timezone)
    effective_on: date = data["effective_on"]
    if effective_on > today:
        raise ValidationFailed(
            "A historical change took effect on or before today; announce a later one.",
            errors={"effective_on": [f"Must be {today} or earlier for a historical change."]},
        )
    if data.get("urgent"):
        raise ValidationFailed(
            "A historical change is not urgent: it gave no notice at all.",
            errors={"urgent": ["Not with historical."]},
        )
    recipient = _locked_recipient(org, data["recipient_id"], "recipient_id")
    change = _new_change(org, recipient, data, actor)
    change.historical, change.source = True, source
    # Ordered among the others by the day it took effect: no announcement was made here.
    change.announced_at = clock.start_of_day(effective_on, org.timezone)
    _apply(org, change, recipient, data, today)
    db.session.add(change)
    db.session.flush()
    audit.record(
        org.id, actor, "change.recorded", "change", change.id, after=present(change, today)
    )
    return change


def withdraw_change(org: Organization, change: Change, reason: str, *, actor: str) -> Change:
    today = clock.local_today(org.timezone)
    if change.status == "withdrawn":
        raise Conflict("The change is already withdrawn.")
    if change.effective_on <= today:
        raise Conflict(
            f"The change took effect on {change.effective_on}; announce a new change instead."
        )
    recipient = _locked_recipient(org, change.recipient_id, "recipient_id")
    if change.kind in ("add", "replace"):
        if recipient.listed_until is not None:
            raise Conflict(f"A later removal of {recipient.name} is announced; withdraw it first.")
        # An announced update opened a dated revision (and its own change stays announced):
        # unlisting under it would leave a proposed vendor with a pending public update.
        if any(
            r.valid_from is not None
            and r.valid_from != r.valid_until
            and r.valid_from >= change.effective_on  # not an update of an earlier period
            for r in recipient.revisions
        ):
            raise Conflict(f"An update of {recipient.name} is announced; withdraw it first.")
        recipients.close_return(recipient)
        if change.kind == "replace":
            _locked_recipient(org, change.replaces_id, "replaces_id").listed_until = None
    elif change.kind == "update":
        revision = change.revision
        if revision.valid_until is not None:
            raise Conflict("A later update of this vendor is announced; withdraw it first.")
        for r in recipient.revisions:
            set_aside = r.valid_from is not None and r.valid_from == r.valid_until
            if r is not revision and not set_aside and r.valid_until == revision.valid_from:
                r.valid_until = None
        # Kept for the record with an empty validity window, so no date ever selects it.
        revision.valid_until = revision.valid_from
    else:
        if recipient.listed_until != change.effective_on:
            raise Conflict(f"A later return of {recipient.name} is announced; withdraw it first.")
        recipient.listed_until = None
    change.status = "withdrawn"
    change.withdrawn_at = clock.now()
    change.withdrawal_reason = reason
    told = notices.withdraw_notices(change, change.withdrawn_at)
    if told:
        outbox.enqueue("change.withdrawn", {"change_id": change.id}, org.id)
    subscriptions.notify_subscribers(org, change, "withdrawn")
    voided = objections.void_answers(change)
    audit.record(
        org.id,
        actor,
        "change.withdrawn",
        "change",
        change.id,
        before={"status": "announced"},
        after={"status": "withdrawn", "reason": reason, "notices": told, "answers_void": voided},
    )
    return change


def get_change(org: Organization, change_id: int) -> Change:
    if not 0 < change_id <= MAX_ID:  # from the URL: beyond `integer` it names nothing
        raise NotFound("No such change.")
    change = db.session.scalars(
        select(Change).where(Change.id == change_id, Change.organization_id == org.id)
    ).one_or_none()
    if change is None:
        raise NotFound("No such change.")
    return change


def list_changes(org: Organization, args: dict, page: int, per_page: int) -> tuple[list, int]:
    stmt = select(Change).where(Change.organization_id == org.id)
    for name in ("status", "kind", "urgent"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(Change, name) == args[name])
    if args.get("recipient_id") is not None:
        # A vendor's changes include the replace that takes it off the list.
        vendor = args["recipient_id"]
        stmt = stmt.where(or_(Change.recipient_id == vendor, Change.replaces_id == vendor))
    if args.get("effective_from"):
        stmt = stmt.where(Change.effective_on >= args["effective_from"])
    if args.get("effective_until"):
        stmt = stmt.where(Change.effective_on <= args["effective_until"])
    if args.get("in_effect") is not None:
        today = clock.local_today(org.timezone)
        in_effect = (Change.status == "announced") & (Change.effective_on <= today)
        stmt = stmt.where(in_effect if args["in_effect"] else ~in_effect)
    stmt = stmt.order_by(Change.announced_at.desc(), Change.id.desc())
    return paginate(stmt, page, per_page)


def _ref(recipient: Recipient | None) -> dict | None:
    if recipient is None:
        return None
    return {"id": recipient.id, "name": recipient.name, "legal_entity": recipient.legal_entity}


def present(change: Change, today: date) -> dict:
    return {
        "id": change.id,
        "kind": change.kind,
        "recipient": _ref(change.recipient),
        "replaces": _ref(change.replaces),
        "effective_on": change.effective_on,
        "in_effect": change.status == "announced" and change.effective_on <= today,
        "reason": change.reason,
        "urgent": change.urgent,
        "urgent_justification": change.urgent_justification,
        "status": change.status,
        "announced_at": change.announced_at,
        "withdrawn_at": change.withdrawn_at,
        "withdrawal_reason": change.withdrawal_reason,
        "update": change.update_diff,
        "historical": change.historical,
        "source": change.source,
    }
