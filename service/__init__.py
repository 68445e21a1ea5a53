"""DPA Registry: the register of a processor's subprocessors and the notices they owe."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from service import clock, config, observability
from service.errors import problem
from service.extensions import api, db, migrate
from service.web import HeadAsGet

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
JSON_TYPES = {"application/json", "application/merge-patch+json"}
# Bulk imports also take CSV and JSON Lines; everything else speaks JSON only.
IMPORT_TYPES = JSON_TYPES | {"text/csv", "application/x-ndjson", "multipart/form-data"}
# On every answer, unless a view set its own (the public fast path sends them too).
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    ),
)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then DPA_* environment variables, then `test_config`."""
    # DPA_INSTANCE_PATH lets tests and containers keep SQLite files and demo keys elsewhere.
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=os.environ.get("DPA_INSTANCE_PATH") or None,
    )
    defaults = config.default_defaults()
    app.config.update(defaults)
    app.config.update(config.from_environment(defaults))
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = config.sqlite_uri(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = config.normalise_database_uri(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    app.config["API_SPEC_OPTIONS"] = config.openapi_spec_options()
    # Unsafe production settings stop the process before anything connects or listens.
    config.check_production(app.config)
    observability.init_app(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    from service import ratelimit

    api.init_app(app, spec_kwargs={"extra_plugins": [_errors_plugin(app, ratelimit.LIMITED)]})
    api.spec.components.security_scheme("bearer", config.BEARER_SCHEME)
    _register_models()
    _register_blueprints(app)
    _register_hooks(app)
    ratelimit.init_app(app)
    # Problem+json for programs, a page in the reader's language for browsers.
    from service import error_pages

    error_pages.init_app(app)

    from service.cli import register_cli
    from workers import celery_init_app

    celery_init_app(app)
    import workers.tasks  # noqa: F401 - registers the tasks with the app

    register_cli(app)
    from service import i18n

    i18n.load()
    # In front of Flask, so that no view, hook or check ever sees a HEAD (the fast path
    # before it answers HEAD without any view).
    app.wsgi_app = HeadAsGet(app.wsgi_app)
    if app.config["CUSTOMER_LIST_FAST_PATH"]:
        from service.notices.fastpath import CustomerListFastPath

        app.wsgi_app = CustomerListFastPath(app, app.wsgi_app)
    if app.config["PUBLIC_FAST_PATH"]:
        from service.public.fastpath import PublicFastPath

        app.wsgi_app = PublicFastPath(app, app.wsgi_app)
    return app


def _errors_plugin(app: Flask, limited: dict) -> object:
    """The OpenAPI document's 413, 415 and 429 answers, from the rules enforced here."""
    from service.apidoc import BodyRule, ErrorsPlugin

    config = app.config
    bodies = {
        "api": BodyRule(frozenset(JSON_TYPES), config["MAX_CONTENT_LENGTH"], "MAX_CONTENT_LENGTH"),
        "import": BodyRule(
            frozenset(IMPORT_TYPES),
            config["IMPORT_MAX_CONTENT_LENGTH"],
            "IMPORT_MAX_CONTENT_LENGTH",
        ),
    }
    return ErrorsPlugin(bodies, limited)


def _register_models() -> None:
    # Import every model module so metadata (and Alembic autogenerate) sees all tables.
    from service.agreements import models as _agreements  # noqa: F401
    from service.audit import models as _audit  # noqa: F401
    from service.changes import models as _changes  # noqa: F401
    from service.controller import models as _controller  # noqa: F401
    from service.customers import models as _customers  # noqa: F401
    from service.keys import models as _keys  # noqa: F401
    from service.objections import models as _objections  # noqa: F401
    from service.organizations import models as _organizations  # noqa: F401
    from service.outbox import models as _outbox  # noqa: F401
    from service.portal import models as _portal  # noqa: F401
    from service.public import cache as _public  # noqa: F401 - its table and the write hooks
    from service.recipients import models as _recipients  # noqa: F401
    from service.records import models as _records  # noqa: F401
    from service.subscriptions import models as _subscriptions  # noqa: F401
    from service.webhooks import models as _webhooks  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from service.agreements.views import blp as agreements_blp
    from service.agreements.views import pages as agreement_pages
    from service.audit.views import blp as audit_blp
    from service.changes.views import blp as changes_blp
    from service.compliance.views import blp as compliance_blp
    from service.controller.views import blp as controller_blp
    from service.customers.views import blp as customers_blp
    from service.health.views import bp as health_bp
    from service.health.views import docs_bp
    from service.imports.views import blp as imports_blp
    from service.keys.views import blp as keys_blp
    from service.notices.views import blp as notices_blp
    from service.objections.views import blp as objections_blp
    from service.objections.views import pages as answer_pages
    from service.organizations.views import blp as organizations_blp
    from service.recipients.views import blp as recipients_blp
    from service.records.views import blp as records_blp
    from service.retention.views import blp as retention_blp
    from service.subscriptions.views import blp as subscriptions_blp
    from service.subscriptions.views import pages as subscription_pages
    from service.webhooks.views import blp as webhooks_blp

    for blp in (
        organizations_blp,
        recipients_blp,
        imports_blp,
        changes_blp,
        customers_blp,
        audit_blp,
        keys_blp,
        notices_blp,
        objections_blp,
        compliance_blp,
        subscriptions_blp,
        webhooks_blp,
        records_blp,
        retention_blp,
        agreements_blp,
        controller_blp,
    ):
        api.register_blueprint(blp)
    app.register_blueprint(health_bp)
    app.register_blueprint(docs_bp)
    app.register_blueprint(answer_pages)
    app.register_blueprint(agreement_pages)
    from service.public.views import bp as public_pages

    app.register_blueprint(public_pages)
    app.register_blueprint(subscription_pages)
    from service.portal.views import bp as portal_pages

    app.register_blueprint(portal_pages)
    from service.home.views import bp as home_pages

    app.register_blueprint(home_pages)


def _register_hooks(app: Flask) -> None:
    # Moments a person reads are in the organization's time zone, named, never the UTC date.
    app.add_template_filter(clock.local_date_of, "local_date")
    app.add_template_filter(clock.local_moment, "local_moment")

    @app.before_request
    def require_json_bodies():
        if request.method not in {"POST", "PUT", "PATCH"} or not request.path.startswith("/api/"):
            return None
        if not request.content_length and not request.headers.get("Transfer-Encoding"):
            return None
        allowed = IMPORT_TYPES if request.path.endswith("/import") else JSON_TYPES
        if request.mimetype not in allowed:
            return problem(
                415,
                "Unsupported media type",
                f"Send the body as {' or '.join(sorted(allowed))}.",
                slug="unsupported-media-type",
            )
        return None

    @app.after_request
    def drain_outbox_in_process(response):
        # Without a broker (make run with no Redis), deliver what this request queued now.
        from service.outbox.services import drain_requested

        if app.config["CELERY_ALWAYS_EAGER"] and drain_requested():
            from service.mail.delivery import drain

            try:
                drain()
            except Exception:
                app.logger.exception("in-process delivery failed; it is retried later")
        return response

    @app.after_request
    def security_headers(response):
        headers = response.headers
        for name, value in SECURITY_HEADERS:
            headers.setdefault(name, value)
        return response


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """WAL lets readers run beside the writer; the busy timeout waits instead of failing."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
