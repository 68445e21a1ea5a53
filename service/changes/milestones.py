"""Milestones of announced changes, recorded by a beat job: the reminder some days before
a change takes effect, and the day it takes effect. Reads never depend on them: the list
as of a date follows from the stored dates alone."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, exists, or_, select, update

from service import clock
from service.audit import services as audit
from service.changes.models import Change, Notice
from service.customers.models import Customer
from service.extensions import db
from service.objections.models import Objection
from service.organizations.models import Organization
from service.outbox import services as outbox

ACTOR = "system:beat"


def _due(org: Organization, *conditions: object) -> list[Change]:
    # SKIP LOCKED: two overlapping runs never record the same milestone twice.
    return list(
        db.session.scalars(
            select(Change)
            .where(Change.organization_id == org.id, Change.status == "announced", *conditions)
            .order_by(Change.id)
            .with_for_update(skip_locked=True)
        )
    )


def _awaiting_answer(change: Change, now: datetime):
    """Notices that still ask something: consent not given, or objection window open."""
    answered = exists().where(Objection.notice_id == Notice.id)
    # Offboarded before the change takes effect: it no longer concerns the customer.
    gone = exists().where(
        Customer.id == Notice.customer_id, Customer.ended_on < change.effective_on
    )
    return and_(
        Notice.change_id == change.id,
        Notice.withdrawn_at.is_(None),
        ~answered,
        ~gone,
        or_(
            Notice.response == "consent",
            and_(Notice.response == "objection", Notice.objection_deadline > now),
        ),
    )


def record_milestones(now: datetime | None = None) -> dict[str, int]:
    """Record due reminders and changes that took effect; safe to run any number of times."""
    now = now or clock.now()
    days_before = current_app.config["REMINDER_DAYS_BEFORE"]
    counts = {"reminders": 0, "in_effect": 0}
    for org in db.session.scalars(select(Organization).order_by(Organization.id)):
        today = clock.local_today(org.timezone, now)
        for change in _due(
            org,
            Change.reminder_recorded_at.is_(None),
            Change.effective_on > today,
            Change.effective_on <= today + timedelta(days=days_before),
        ):
            reminded = db.session.execute(
                update(Notice).where(_awaiting_answer(change, now)).values(reminded_at=now)
            ).rowcount
            change.reminder_recorded_at = now
            if reminded:
                outbox.enqueue("change.reminder", {"change_id": change.id}, org.id)
            audit.record(
                org.id,
                ACTOR,
                "change.reminder_due",
                "change",
                change.id,
                after={"effective_on": change.effective_on, "notices_reminded": reminded},
            )
            counts["reminders"] += 1
        for change in _due(
            org, Change.in_effect_recorded_at.is_(None), Change.effective_on <= today
        ):
            change.in_effect_recorded_at = now
            audit.record(
                org.id,
                ACTOR,
                "change.in_effect",
                "change",
                change.id,
                after={"effective_on": change.effective_on, "kind": change.kind},
            )
            counts["in_effect"] += 1
    return counts
