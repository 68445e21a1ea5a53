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
