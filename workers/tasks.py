"""Task definitions. Each takes ids or nothing, and is safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

from service.audit import services as audit

log = logging.getLogger(__name__)


@shared_task(name="workers.tasks.verify_audit_chains", acks_late=True)
def verify_audit_chains() -> list[int]:
    """Recompute every audit chain; log loudly and return the ids of broken ones."""
    broken = []
    for report in audit.verify_all():
        if report.ok:
            log.info("audit chain %s ok (%s events)", report.organization_id, report.events)
        else:
            broken.append(report.organization_id)
            log.error(
                "audit chain %s broken at seq %s: %s",
                report.organization_id,
                report.first_bad_seq,
                report.problem,
            )
    return broken


@shared_task(name="workers.tasks.send_audit_digests", acks_late=True)
def send_audit_digests() -> int:
    """Sign, record and mail the head of every organization's chain that moved."""
    from sqlalchemy import select

    from service.audit import digests
    from service.extensions import db
    from service.organizations.models import Organization

    sent = 0
    for org_id in db.session.scalars(select(Organization.id).order_by(Organization.id)).all():
        # One organization per transaction: a digest waits for no other chain's lock.
        sent += digests.issue(db.session.get_one(Organization, org_id)) is not None
        db.session.commit()
    return sent


@shared_task(name="workers.tasks.record_change_milestones", acks_late=True)
def record_change_milestones() -> dict[str, int]:
    """Record reminders due before effective dates and changes that took effect.

    E-mail reminders go out through the outbox once the mail system exists; until then the
    milestone is recorded on the notices and in the audit trail.
    """
    from service.changes.milestones import record_milestones
    from service.extensions import db

    counts = record_milestones()
    db.session.commit()
    return counts


# --- the outbox -------------------------------------------------------------------------------
# Thin tasks over service.mail.delivery. A task that dies mid-way leaves leased rows; the
# sweep re-queues them once the lease expires, so retries never depend on the broker.


@shared_task(name="workers.tasks.process_outbox", acks_late=True)
def process_outbox(item_id: int) -> bool:
    """Expand one outbox row into deliveries, chunk by chunk, queueing each chunk's sends."""
    from service.mail.delivery import process_item

    return process_item(item_id)


@shared_task(name="workers.tasks.send_deliveries", acks_late=True)
def send_deliveries(delivery_ids: list[int]) -> dict[str, int]:
    """Send a batch of deliveries over one SMTP connection; retries come from the sweep."""
    from service.mail.delivery import send_batch

    return send_batch(delivery_ids)


@shared_task(name="workers.tasks.sweep_outbox", acks_late=True)
def sweep_outbox() -> dict[str, int]:
    """Re-queue outbox rows and deliveries that are due and whose lease expired."""
    from service.outbox.services import sweep

    return sweep()


@shared_task(name="workers.tasks.remind_expiries", acks_late=True)
def remind_expiries() -> int:
    """Record a reminder to legal staff for each expiry coming within the warning window.

    Certifications, DPF certifications and vendor reviews due within
    COMPLIANCE_EXPIRY_WARNING_DAYS each get one `compliance.expiry_reminder` audit event per
    item and expiry date, so running it twice (or after a crash) records nothing new, and an
    `alert.legal` outbox row that e-mails it to legal staff.
    """
    from flask import current_app

    from service.compliance.services import record_expiry_reminders
    from service.extensions import db

    recorded = record_expiry_reminders(current_app.config["COMPLIANCE_EXPIRY_WARNING_DAYS"])
    db.session.commit()
    return recorded


@shared_task(name="workers.tasks.purge_expired_records", acks_late=True)
def purge_expired_records() -> dict[str, int | str]:
    """Purge, organization by organization, ended customer relationships past their
    deletion date and not held; each organization commits on its own, and one whose audit
    chain does not verify is refused (and logged) without stopping the others."""
    from service.errors import Conflict
    from service.extensions import db
    from service.retention.services import organizations_with_rule, purge_organization

    results: dict[str, int | str] = {}
    for org in organizations_with_rule():
        try:
            results[org.slug] = purge_organization(org).customers
            db.session.commit()
        except Conflict as error:
            db.session.rollback()
            log.error("retention purge of %s refused: %s", org.slug, error.detail)
            results[org.slug] = "refused"
    return results


@shared_task(name="workers.tasks.remind_agreement_acceptance", acks_late=True)
def remind_agreement_acceptance() -> int:
    """Remind customers that have not accepted the newest agreement version, each at most
    once every AGREEMENT_REMINDER_DAYS: a second run (or a redelivered task) finds nobody
    due, so it sends nothing twice."""
    from datetime import timedelta

    from flask import current_app

    from service.agreements.services import send_reminders
    from service.extensions import db

    reminded = send_reminders(
        timedelta(days=current_app.config["AGREEMENT_REMINDER_DAYS"]),
        limit=current_app.config["AGREEMENT_REMINDER_MAX"],
    )
    db.session.commit()
    return reminded


# --- exports of the record ------------------------------------------------------------------


@shared_task(name="workers.tasks.build_record_export", acks_late=True)
def build_record_export(export_id: int) -> str:
    """Build one export, committing its progress after every chunk of customers. A job that
    is done, or being built by a live worker, is left alone (a redelivered task)."""
    from service.extensions import db
    from service.records import exports

    export = exports.claim(export_id)
    db.session.commit()
    if export is None:
        return "skipped"
    try:
        for _ in exports.build(export):
            db.session.commit()
        db.session.commit()
    except Exception as error:
        # A record that cannot be built now will not be built by retrying: say so and stop.
        db.session.rollback()
        log.exception("record export %s failed", export_id)
        exports.discard_partial(export_id)
        exports.fail(export_id, f"The export could not be built ({type(error).__name__}).")
        db.session.commit()
        return "failed"
    return "done"


@shared_task(name="workers.tasks.sweep_record_exports", acks_late=True)
def sweep_record_exports() -> dict[str, int]:
    """Delete exports past their retention; hand stalled jobs to a worker again."""
    from service.extensions import db
    from service.records import exports

    purged = exports.purge_expired()
    db.session.commit()
    stalled = exports.stalled()
    for export_id in stalled:
        build_record_export.apply_async(args=(export_id,))
    return {"purged": purged, "requeued": len(stalled)}
