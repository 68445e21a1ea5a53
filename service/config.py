"""Configuration: defaults, then `DPA_*` environment variables, then a test override dict."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

ENV_PREFIX = "DPA_"


class Defaults:
    """Embedded defaults: what `make run` uses on a laptop with nothing configured."""

    ENV = "development"
    SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - production refuses to start with it
    SQLALCHEMY_DATABASE_URI = None  # derived from instance_path when unset
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLITE_BUSY_TIMEOUT_MS = 5000
    REDIS_URL = "redis://127.0.0.1:6379/0"
    CELERY_ALWAYS_EAGER = False
    # Bodies above this size are refused with 413; imports have their own larger limit.
    MAX_CONTENT_LENGTH = 1024 * 1024
    IMPORT_MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    IMPORT_CHUNK_SIZE = 1000
    IMPORT_MAX_REPORTED_ERRORS = 200
    AUDIT_VERIFY_INTERVAL_SECONDS = 3600.0
    # A signed digest of each audit chain that moved goes to legal staff this often.
    AUDIT_DIGEST_INTERVAL_SECONDS = 86400.0
    # Where customers reach the service: the base of links in notices.
    PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    NOTICE_LINK_MAX_AGE_DAYS = 120
    # Beat records a reminder this many days before a change takes effect.
    REMINDER_DAYS_BEFORE = 7
    # A new agreement version: its acceptance links work this long (reminders carry fresh
    # ones); customers that have not accepted are reminded every AGREEMENT_REMINDER_DAYS,
    # checked by beat every AGREEMENT_REMINDER_INTERVAL_SECONDS.
    AGREEMENT_LINK_MAX_AGE_DAYS = 60
    AGREEMENT_REMINDER_DAYS = 7
    # After this many reminders a customer is not reminded again; legal staff get one alert.
    AGREEMENT_REMINDER_MAX = 3
    AGREEMENT_REMINDER_INTERVAL_SECONDS = 3600.0
    MILESTONES_INTERVAL_SECONDS = 900.0
    # Mail: "file" writes .eml files under instance/mail (make run), "smtp" sends.
    MAIL_BACKEND = "file"
    MAIL_FILE_DIR = ""
    MAIL_FROM = "notices@dpa-registry.localhost"
    MAIL_MESSAGE_ID_DOMAIN = "dpa-registry.localhost"
    SMTP_HOST = "127.0.0.1"
    SMTP_PORT = 25
    SMTP_SECURITY = "none"  # none, starttls or tls
    SMTP_USERNAME = ""
    SMTP_PASSWORD = ""
    SMTP_TIMEOUT_SECONDS = 30.0
    # Outbox: leases, chunks and retries (see service/outbox/services.py).
    OUTBOX_LEASE_SECONDS = 120
    OUTBOX_RELAY_GRACE_SECONDS = 10
    OUTBOX_SWEEP_INTERVAL_SECONDS = 30.0
    OUTBOX_CHUNK_SIZE = 500
    MAIL_SEND_BATCH = 100
    # Deliveries are committed this many at a time: the most a crash can send twice.
    MAIL_COMMIT_BATCH = 10
    MAIL_RETRY_BASE_SECONDS = 30
    MAIL_RETRY_MAX_SECONDS = 3600
    MAIL_MAX_ATTEMPTS = 10
    # Public subscriptions: how long a confirmation link works, and how seldom one address
    # may be sent another confirmation (anyone can fill the form in with anyone's address).
    SUBSCRIPTION_CONFIRM_MAX_AGE_HOURS = 72
    SUBSCRIPTION_CONFIRM_RESEND_SECONDS = 900
    # Rate limits per client address and route, per window (see service/ratelimit.py):
    # subscribing (API and form) and the signed-link pages; 429 with Retry-After beyond.
    RATE_LIMIT_ENABLED = True
    RATE_LIMIT_WINDOW_SECONDS = 60
    RATE_LIMIT_SUBSCRIBE = 10
    RATE_LIMIT_LINKS = 30
    # The customer portal's sign-in form, per client address (it mails a link).
    RATE_LIMIT_SIGN_IN = 10
    # Customer portal (service/portal): a sign-in link works once, for this many minutes;
    # one contact gets at most one link per PORTAL_SIGN_IN_RESEND_SECONDS whoever asks;
    # a session ends after PORTAL_SESSION_IDLE_MINUTES unused, PORTAL_SESSION_MAX_HOURS at most.
    PORTAL_SIGN_IN_MAX_AGE_MINUTES = 15
    PORTAL_SIGN_IN_RESEND_SECONDS = 60
    PORTAL_SESSION_IDLE_MINUTES = 30
    PORTAL_SESSION_MAX_HOURS = 12
    # Webhooks: only public HTTPS endpoints unless this is true (development and tests).
    WEBHOOKS_ALLOW_PRIVATE = False
    WEBHOOK_TIMEOUT_SECONDS = 5.0
    # Consecutive failed attempts after which a webhook is disabled and legal staff alerted.
    WEBHOOK_MAX_FAILURES = 10
    WEBHOOKS_PER_CUSTOMER = 5
    # A directory whose JSON files replace the packaged reference data of the same name
    # (service/reference/data); read again whenever a file changes.
    REFERENCE_DATA_DIR = ""
    # The compliance report and the reminders look this many days ahead for expiries.
    COMPLIANCE_EXPIRY_WARNING_DAYS = 60
    COMPLIANCE_REMINDER_INTERVAL_SECONDS = 86400.0
    # How often beat purges the records of ended customer relationships that are due.
    RETENTION_PURGE_INTERVAL_SECONDS = 86400.0
    # The record (Art. 30(2)) of an organization with more customers than this is built
    # only as an export job (POST .../record/exports), never inside a request; at most
    # RECORD_EXPORTS_PER_ORG jobs of one organization are queued or running at once. A
    # worker writes RECORD_EXPORT_CHUNK customers per transaction; a finished file is kept
    # RECORD_EXPORT_RETENTION_HOURS, its download links work RECORD_EXPORT_LINK_MAX_AGE_SECONDS
    # (never past the file's deletion); beat purges and re-queues every ..._SWEEP_SECONDS.
    RECORD_SYNC_MAX_CUSTOMERS = 500
    RECORD_EXPORTS_PER_ORG = 2
    RECORD_EXPORT_CHUNK = 200
    RECORD_EXPORT_LEASE_SECONDS = 300
    RECORD_EXPORT_RETENTION_HOURS = 72
    RECORD_EXPORT_LINK_MAX_AGE_SECONDS = 86400
    RECORD_EXPORT_SWEEP_SECONDS = 600.0
    # The Celery queue of export builds: the default one, or a queue of its own served by
    # a worker at lower CPU priority (`nice celery ... worker -Q exports`), so a build of
    # many minutes neither delays mail nor takes CPU from the web workers.
    RECORD_EXPORT_QUEUE = "celery"
    # Seconds an export job sleeps after each chunk (its transaction committed): a small
    # machine trades export time for the latency of the pages served meanwhile. Keep it
    # well under RECORD_EXPORT_LEASE_SECONDS, which each chunk renews.
    RECORD_EXPORT_PAUSE = 0.0
    # The public list's cache: how long a process may answer from the organization's list
    # token it last read before reading it again (service/public/cache.py). A write made
    # through another process shows after at most this long; 0 reads it on every request.
    PUBLIC_STATE_MAX_AGE_SECONDS = 1.0
    # Cache hits and 304s of the public list answered by a WSGI layer in front of Flask
    # from that same state (service/public/fastpath.py); off: Flask answers every request.
    PUBLIC_FAST_PATH = True
    # A customer's own list read with its own key, answered by a WSGI layer in front of
    # Flask from the same per-process cache, after one statement that reads the key and
    # the list tokens (service/notices/fastpath.py); off: Flask answers every request.
    CUSTOMER_LIST_FAST_PATH = True
    # Pages of the API's list and diff that anyone may read are kept per process under the
    # list token, and shared with the other processes through Redis for this long (keys
    # carry the token: never stale); 0 keeps them per process only.
    API_PAGE_SHARE_SECONDS = 600
    # At most this many bytes of pages are shared per such period: Redis is also the broker
    # (noeviction), so pages take at most about twice this of its memory.
    API_PAGE_SHARE_MAX_BYTES = 64 * 1024 * 1024
    # How long a process reuses an API key it authenticated before reading it again
    # (service/keys/services.py): a key revoked through another process is refused after at
    # most this long (at once in the process that revoked it); 0 reads it on every request.
    KEY_CACHE_MAX_AGE_SECONDS = 1.0
    # Production (ENV=production) refuses to start with unsafe settings: see check_production.
    # Logs: "json" or "text"; empty means JSON in production and text elsewhere.
    LOG_FORMAT = ""
    LOG_LEVEL = "INFO"
    # Old signing keys, still accepted when checking signed links (newest last), as a JSON
    # list: rotate SECRET_KEY, keep the old one here until its links have expired.
    SECRET_KEY_FALLBACKS: list = []
    # Reverse proxies in front of the app: how many X-Forwarded-* hops to trust (0: none).
    PROXY_FIX_X_FOR = 0
    PROXY_FIX_X_PROTO = 0
    PROXY_FIX_X_HOST = 0
    PROXY_FIX_X_PORT = 0
    PROXY_FIX_X_PREFIX = 0
    # /metrics asks for this bearer token when set; empty leaves it open.
    METRICS_TOKEN = ""
    # A Celery worker serves its pool's counters on this port when not 0.
    WORKER_METRICS_PORT = 0
    WORKER_METRICS_ADDR = "0.0.0.0"  # noqa: S104 - a container's port, published or not
    API_TITLE = "DPA Registry"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    JSON_SORT_KEYS = False


def _coerce(raw: str, current: object) -> object:
    """Turn an environment string into the type of the default it overrides."""
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    if isinstance(current, dict | list):
        return json.loads(raw)
    return raw


def from_environment(defaults: dict, environ: os._Environ | dict | None = None) -> dict:
    """Read `DPA_<NAME>` for every known setting, plus the conventional DATABASE_URL."""
    environ = os.environ if environ is None else environ
    found: dict = {}
    for name, current in defaults.items():
        raw = environ.get(ENV_PREFIX + name)
        if raw is not None:
            found[name] = _coerce(raw, current)
    # DATABASE_URL and REDIS_URL are what every platform and `make run` document.
    if "SQLALCHEMY_DATABASE_URI" not in found and environ.get("DATABASE_URL"):
        found["SQLALCHEMY_DATABASE_URI"] = environ["DATABASE_URL"]
    if ENV_PREFIX + "REDIS_URL" not in environ and environ.get("REDIS_URL"):
        found["REDIS_URL"] = environ["REDIS_URL"]
    return found


def default_defaults() -> dict:
    return {k: v for k, v in vars(Defaults).items() if k.isupper()}


def sqlite_uri(instance_path: str) -> str:
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return "sqlite:///" + str(Path(instance_path) / "dpa-registry.sqlite3")


def normalise_database_uri(uri: str) -> str:
    # Heroku-style URLs say postgres://, which SQLAlchemy 2 no longer accepts.
    # Plain postgresql:// means psycopg2 to SQLAlchemy 2.0; we ship psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri.removeprefix(prefix)
    return uri


API_DESCRIPTION = """\
The register of a SaaS processor's subprocessors (GDPR Art. 28): who processes its
customers' personal data, where, under which transfer mechanism, and the changes announced
to customers with their right to object.

**Keys.** Send `Authorization: Bearer <key>`. A legal-staff key manages its organization; a
customer key reads that customer's own list, notices and agreement, and objects or consents;
an admin key creates organizations. Public operations (reading the list, its changes and
agreements; subscribing) need no key, and each operation says who may call it. A key of
another organization meets 404. `flask --app service keys create` makes a key.

**Errors** are `application/problem+json` (RFC 9457): 401 no or an unknown key, 403 a key of
the wrong kind, 404 nothing there (or not yours), 409 a conflict with the current state,
412 a stale `If-Match`, 413 a body too large, 415 a body that is not JSON, 422 invalid
fields (`errors` names them), 429 too many requests (`Retry-After`).

**Conventions.** Field names are snake_case, dates ISO 8601, countries ISO 3166-1 alpha-2.
Lists are paged with `page` and `per_page`.
"""


BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key (legal staff, customer or admin), shown once when created.",
}


def openapi_spec_options() -> dict:
    """What flask-smorest adds to the document as it is (it reads API_SPEC_OPTIONS)."""
    return {"info": {"description": API_DESCRIPTION}}


# --- production ---------------------------------------------------------------------------

ENVIRONMENTS = ("development", "production")
MIN_SECRET_KEY_LENGTH = 32
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class UnsafeConfiguration(RuntimeError):
    """The configuration must not run: the message lists every problem at once."""


def signing_keys(config: Mapping) -> list[str]:
    """Keys for itsdangerous signers, oldest first: signing uses the last, checks try all."""
    return [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]


def production_problems(config: Mapping) -> list[str]:
    """What makes `config` unfit for production; empty outside production."""
    env = config.get("ENV")
    if env not in ENVIRONMENTS:
        return [f"DPA_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}"]
    if env != "production":
        return []
    problems = []
    keys = [config.get("SECRET_KEY") or "", *(config.get("SECRET_KEY_FALLBACKS") or [])]
    if any(k == Defaults.SECRET_KEY or len(k) < MIN_SECRET_KEY_LENGTH for k in keys):
        problems.append(
            f"DPA_SECRET_KEY (and any DPA_SECRET_KEY_FALLBACKS) must be a random value of at "
            f"least {MIN_SECRET_KEY_LENGTH} characters, not the development default "
            "(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if not str(config.get("SQLALCHEMY_DATABASE_URI") or "").startswith("postgresql"):
        problems.append("DATABASE_URL must name a PostgreSQL database (SQLite is for make run)")
    # Plain http only for an explicit trial on this machine; the default means "forgotten".
    public = str(config.get("PUBLIC_BASE_URL") or "")
    base = urlsplit(public)
    if (
        public == Defaults.PUBLIC_BASE_URL
        or not base.hostname
        or (base.scheme != "https" and base.hostname not in LOOPBACK_HOSTS)
    ):
        problems.append(
            "DPA_PUBLIC_BASE_URL must be the https:// address customers reach (links in "
            "notices are signed credentials)"
        )
    if config.get("CELERY_ALWAYS_EAGER"):
        problems.append("DPA_CELERY_ALWAYS_EAGER must be off: production runs Celery workers")
    if config.get("MAIL_BACKEND") not in {"smtp", "file"}:
        problems.append("DPA_MAIL_BACKEND must be smtp (or file, to keep messages on disk)")
    return problems


def check_production(config: Mapping) -> None:
    """Refuse to start with settings that are unsafe in production."""
    problems = production_problems(config)
    if problems:
        raise UnsafeConfiguration("refusing to start (DPA_ENV=production): " + "; ".join(problems))
