"""Celery workers: thin, idempotent tasks that run inside a Flask app context."""

from __future__ import annotations

from pathlib import Path

from celery import Celery, Task
from flask import Flask

from service.observability import tasks as observability_tasks


def celery_init_app(app: Flask) -> Celery:
    """Bind a Celery app to `app`; every task runs in its application context."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=app.config["REDIS_URL"],
        # Results are not read by anyone: outcomes live in the database.
        task_ignore_result=True,
        task_always_eager=app.config["CELERY_ALWAYS_EAGER"],
        task_eager_propagates=True,
        # A task is acknowledged after it ran, so a killed worker's task runs again; tasks
        # are idempotent for that reason.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        task_routes={
            "workers.tasks.build_record_export": {"queue": app.config["RECORD_EXPORT_QUEUE"]}
        },
        beat_schedule_filename=str(Path(app.instance_path) / "celerybeat-schedule"),
        beat_schedule={
            "verify-audit-chains": {
                "task": "workers.tasks.verify_audit_chains",
                "schedule": app.config["AUDIT_VERIFY_INTERVAL_SECONDS"],
            },
            "send-audit-digests": {
                "task": "workers.tasks.send_audit_digests",
                "schedule": app.config["AUDIT_DIGEST_INTERVAL_SECONDS"],
            },
            "remind-expiries": {
                "task": "workers.tasks.remind_expiries",
                "schedule": app.config["COMPLIANCE_REMINDER_INTERVAL_SECONDS"],
            },
            "sweep-outbox": {
                "task": "workers.tasks.sweep_outbox",
                "schedule": app.config["OUTBOX_SWEEP_INTERVAL_SECONDS"],
            },
            "record-change-milestones": {
                "task": "workers.tasks.record_change_milestones",
                "schedule": app.config["MILESTONES_INTERVAL_SECONDS"],
            },
            "remind-agreement-acceptance": {
                "task": "workers.tasks.remind_agreement_acceptance",
                "schedule": app.config["AGREEMENT_REMINDER_INTERVAL_SECONDS"],
            },
            "sweep-record-exports": {
                "task": "workers.tasks.sweep_record_exports",
                "schedule": app.config["RECORD_EXPORT_SWEEP_SECONDS"],
            },
            "purge-expired-records": {
                "task": "workers.tasks.purge_expired_records",
                "schedule": app.config["RETENTION_PURGE_INTERVAL_SECONDS"],
            },
        },
    )
    celery.set_default()
    # JSON logs, the request id carried from the API into tasks, task metrics.
    observability_tasks.connect(celery, app)
    app.extensions["celery"] = celery
    return celery
