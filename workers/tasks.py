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
