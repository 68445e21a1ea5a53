"""Agreement versions: drafts, publication, acceptance with evidence, and the requests
to accept a new version that are sent and reminded until customers accept.

A version is one label (e.g. `2027-01`) in one or more languages, one row per language.
Rows are edited only as drafts; publication freezes them, so the hash a customer accepted
always names a text that still reads the same. Acceptances are append-only rows; the
customer's agreement points at the one in force.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.orm import selectinload

from service import clock
from service.agreements.models import AgreementAcceptance, AgreementRequest, AgreementVersion
from service.audit import services as audit
from service.audit.models import AuditEvent
from service.common import paginate
from service.customers.models import Customer, CustomerAgreement
from service.customers.services import TERM_FIELDS
from service.errors import Conflict, NotFound, ValidationFailed
from service.extensions import db
from service.organizations.models import Organization
from service.outbox import services as outbox

LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
# A version's defaults are the customers' terms, plus the day they take effect.
SHARED_FIELDS = ("effective_on", *TERM_FIELDS)
PUBLISHED_TOPIC = "agreement.published"
REMINDER_TOPIC = "agreement.reminder"
TOPICS = (PUBLISHED_TOPIC, REMINDER_TOPIC)
ACTOR = "system:beat"


def text_sha256(text: str) -> str:
    """The hash of a text as stored: its exact UTF-8 bytes, nothing normalised."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Version:
    """One version label with its rows, one per language, ordered by language."""

    label: str
    rows: list[AgreementVersion]

    @property
    def first(self) -> AgreementVersion:
        return self.rows[0]

    @property
    def published(self) -> bool:
        return self.first.published_at is not None

    def in_language(self, *preferred: str | None) -> AgreementVersion:
        by_language = {row.language: row for row in self.rows}
        for language in (*preferred, "en", "pl"):
            if language in by_language:
                return by_language[language]
        return self.first


# --- reading ------------------------------------------------------------------------------


def _group(rows: Iterable[AgreementVersion]) -> list[Version]:
    versions: dict[str, Version] = {}
    for row in rows:
        versions.setdefault(row.version, Version(row.version, [])).rows.append(row)
    for version in versions.values():
        version.rows.sort(key=lambda r: r.language)
    return list(versions.values())


def _newest_first(versions: list[Version]) -> list[Version]:
    # Drafts (no publication time) first, then the most recently published.
    return sorted(
        versions,
        key=lambda v: (
            v.first.published_at is None,
            v.first.published_at or v.first.id,
            v.first.id,
        ),
        reverse=True,
    )


def list_versions(org: Organization, *, status: str = "published") -> list[Version]:
    """The organization's versions, newest first; `status` is published, draft or all."""
    stmt = select(AgreementVersion).where(AgreementVersion.organization_id == org.id)
    if status == "published":
        stmt = stmt.where(AgreementVersion.published_at.is_not(None))
    elif status == "draft":
        stmt = stmt.where(AgreementVersion.published_at.is_(None))
    return _newest_first(_group(db.session.scalars(stmt)))


def get_version(
    org: Organization, label: str, *, drafts: bool = False, lock: bool = False
) -> Version:
    """A version by its label, or 404; a draft is found only when `drafts` is allowed."""
    if not LABEL.fullmatch(label):
        raise NotFound("No such agreement version.")
    stmt = select(AgreementVersion).where(
        AgreementVersion.organization_id == org.id, AgreementVersion.version == label
    )
    if lock:
        stmt = stmt.with_for_update()
    found = _group(db.session.scalars(stmt))
    if not found or (not drafts and not found[0].published):
        raise NotFound("No such agreement version.")
    return found[0]


def latest(org: Organization) -> Version | None:
    """The version customers are asked to accept: the one published last."""
    label = db.session.scalar(
        select(AgreementVersion.version)
        .where(
            AgreementVersion.organization_id == org.id,
            AgreementVersion.published_at.is_not(None),
        )
        .order_by(AgreementVersion.published_at.desc(), AgreementVersion.id.desc())
        .limit(1)
    )
    return None if label is None else get_version(org, label)


def acceptance_of(customer: Customer, label: str) -> AgreementAcceptance | None:
    return db.session.scalar(
        select(AgreementAcceptance).where(
            AgreementAcceptance.customer_id == customer.id, AgreementAcceptance.version == label
        )
    )


def in_force(org: Organization, day) -> Version | None:
    """The version in effect on `day`: the last published one whose date has come, else
    (before any has taken effect) the first one published."""
    published = list_versions(org)
    for version in published:
        if version.first.effective_on <= day:
            return version
    return published[-1] if published else None


def present_version(version: Version, *, with_text: bool = False) -> dict:
    first = version.first
    return {
        "id": first.id,
        "version": version.label,
        "status": "published" if version.published else "draft",
        "published_at": first.published_at,
        **{name: getattr(first, name) for name in SHARED_FIELDS},
        "languages": [row.language for row in version.rows],
        "texts": [
            {
                "id": row.id,
                "language": row.language,
                "summary": row.summary,
                "document_ref": row.document_ref,
                "text_sha256": row.text_sha256,
                **({"text": row.text} if with_text else {}),
            }
            for row in version.rows
        ],
    }


# --- drafts and publication -----------------------------------------------------------------


def _rows_from(org: Organization, label: str, data: dict) -> list[AgreementVersion]:
    rows = []
    for item in data["texts"]:
        text = item.get("text")
        given = item.get("text_sha256")
        if text is not None:
            digest = text_sha256(text)
            if given is not None and given != digest:
                raise ValidationFailed(
                    "text_sha256 does not match the text.",
                    errors={"texts": {item["language"]: ["text_sha256 is not the text's hash."]}},
                )
        else:
            digest = given
        rows.append(
            AgreementVersion(
                organization_id=org.id,
                version=label,
                language=item["language"],
                text=text,
                document_ref=item.get("document_ref"),
                text_sha256=digest,
                summary=item.get("summary") or "",
                **{name: data[name] for name in SHARED_FIELDS},
            )
        )
    return rows


def _defaults(org: Organization) -> dict:
    return {
        "authorisation": "general",
        "notice_days": org.default_notice_days,
        "objection_days": org.default_objection_days,
        "objection_remedy": "exclude",
        "rejects_unjustified_objections": False,
        "emergency_clause": False,
        "emergency_notice_days": 0,
        "post_hoc_objection_days": 14,
    }


def create_version(org: Organization, data: dict, *, actor: str) -> Version:
    """Write a draft (or, with `publish`, publish it at once)."""
    label = data["version"]
    taken = db.session.scalar(
        select(AgreementVersion.id).where(
            AgreementVersion.organization_id == org.id, AgreementVersion.version == label
        )
    )
    if taken:
        raise Conflict(
            f"Version '{label}' exists; corrections are a new version.",
            errors={"version": ["Taken in this organization."]},
        )
    rows = _rows_from(org, label, {**_defaults(org), **data})
    db.session.add_all(rows)
    db.session.flush()
    version = Version(label, sorted(rows, key=lambda r: r.language))
    audit.record(
        org.id, actor, "agreement.drafted", "agreement_version", label,
        after=snapshot(version),
    )  # fmt: skip
    if data.get("publish"):
        publish_version(org, version, actor=actor)
    return version


def snapshot(version: Version) -> dict:
    return {
        **{name: getattr(version.first, name) for name in SHARED_FIELDS},
        "texts": {
            row.language: {
                "text_sha256": row.text_sha256,
                "document_ref": row.document_ref,
                "summary": row.summary,
            }
            for row in version.rows
        },
    }


def _refuse_published(version: Version) -> None:
    if version.published:
        raise Conflict(
            f"Version '{version.label}' is published and cannot change; publish a new "
            "version to correct it.",
            published_at=version.first.published_at.isoformat(),
        )


def edit_draft(org: Organization, version: Version, data: dict, *, actor: str) -> Version:
    """Change a draft; texts, when given, replace the draft's texts as a set."""
    _refuse_published(version)
    before = snapshot(version)
    shared = {name: data.get(name, getattr(version.first, name)) for name in SHARED_FIELDS}
    if "texts" in data:
        for row in version.rows:
            db.session.delete(row)
        db.session.flush()
        rows = _rows_from(org, version.label, {**shared, "texts": data["texts"]})
        db.session.add_all(rows)
        version = Version(version.label, sorted(rows, key=lambda r: r.language))
    else:
        for row in version.rows:
            for name, value in shared.items():
                setattr(row, name, value)
    db.session.flush()
    old, new = audit.changed(before, snapshot(version))
    if new:
        audit.record(
            org.id, actor, "agreement.edited", "agreement_version", version.label,
            before=old, after=new,
        )  # fmt: skip
    return version


def delete_draft(org: Organization, version: Version, *, actor: str) -> None:
    _refuse_published(version)
    before = snapshot(version)
    db.session.execute(
        delete(AgreementVersion).where(AgreementVersion.id.in_([r.id for r in version.rows]))
    )
    audit.record(
        org.id, actor, "agreement.draft_deleted", "agreement_version", version.label,
        before=before,
    )  # fmt: skip


def _active(org: Organization, day) -> object:
    """Customers whose relationship has not ended before `day`."""
    return (Customer.organization_id == org.id) & or_(
        Customer.ended_on.is_(None), Customer.ended_on >= day
    )


def _ask(org: Organization, label: str, who: object, now: datetime) -> int:
    """Open a request for every customer matching `who` and queue one e-mail for all of
    them; returns how many were asked (no outbox row when nobody is)."""
    if not db.session.scalar(select(func.count(Customer.id)).where(who)):
        return 0
    item = outbox.enqueue(PUBLISHED_TOPIC, {"version": label}, org.id)
    # INSERT ... SELECT: the request rows never pass through Python, whatever their number.
    db.session.execute(
        insert(AgreementRequest).from_select(
            [
                "organization_id",
                "customer_id",
                "version",
                "requested_at",
                "notice_outbox_id",
                "reminders",
            ],
            select(
                literal(org.id),
                Customer.id,
                literal(label),
                literal(now, AgreementRequest.requested_at.type),
                literal(item.id),
                literal(0),
            ).where(who),
        )
    )
    # Counted, not taken from the rowcount: drivers report -1 for INSERT ... SELECT.
    return db.session.scalar(
        select(func.count()).where(AgreementRequest.notice_outbox_id == item.id)
    )


def _never_asked(org: Organization, label: str, today) -> object:
    """Customers in a relationship today that were never asked to accept `label` and have
    not accepted it: registered (or imported) after its publication."""
    return (
        _active(org, today)
        & ~select(AgreementRequest.id)
        .where(AgreementRequest.customer_id == Customer.id, AgreementRequest.version == label)
        .exists()
        & ~select(AgreementAcceptance.id)
        .where(AgreementAcceptance.customer_id == Customer.id, AgreementAcceptance.version == label)
        .exists()
    )


def publish_version(
    org: Organization,
    version: Version,
    *,
    actor: str,
    notify: bool = True,
    now: datetime | None = None,
) -> int:
    """Freeze the draft and ask every customer still there when it takes effect to accept
    it: one request per customer and one outbox row for all of them. Returns how many."""
    _refuse_published(version)
    now = now or clock.now()
    today = clock.local_today(org.timezone, now)
    if notify and version.first.effective_on < today:
        # Recording history (notify=False, the demo) may; asking customers may not.
        raise ValidationFailed(
            "An agreement version cannot take effect in the past.",
            errors={"effective_on": [f"Must be {today} or later."]},
        )
    for row in version.rows:
        row.published_at = now
    # An older version nobody accepted yet is superseded: customers accept the newest.
    db.session.execute(
        update(AgreementRequest)
        .where(AgreementRequest.organization_id == org.id, AgreementRequest.closed_at.is_(None))
        .values(closed_at=now, closed_because="superseded")
    )
    asked = 0
    if notify:
        day = max(today, version.first.effective_on)
        asked = _ask(org, version.label, _active(org, day), now)
    db.session.flush()
    audit.record(
        org.id, actor, "agreement.published", "agreement_version", version.label,
        after={
            "published_at": now,
            "effective_on": version.first.effective_on,
            "languages": [row.language for row in version.rows],
            "text_sha256": {row.language: row.text_sha256 for row in version.rows},
            "customers_asked": asked,
        },
    )  # fmt: skip
    return asked


# --- acceptance -----------------------------------------------------------------------------


def accept_version(
    org: Organization,
    customer: Customer,
    version: str | AgreementVersion,
    *,
    name: str,
    email: str,
    ip: str | None,
    user_agent: str | None,
    channel: str,
    language: str | None = None,
    shown_sha256: str | None = None,
    actor: str | None = None,
    now: datetime | None = None,
    link_address: str | None = None,
    link_message_id: str | None = None,
) -> AgreementAcceptance:
    """Record that `customer` accepted `version` (a label, or the row of the language it
    was shown in), with who, when, the hash of that exact text and the request's evidence.

    Only the newest published version can be accepted, once, by a customer whose
    relationship has not ended. `shown_sha256`, when given, must be the hash of the text
    that is accepted: a page rendered from another text does not count.
    """
    now = now or clock.now()
    if customer.organization_id != org.id:
        raise NotFound("No such customer.")
    # One acceptance at a time per customer: the second waits here, then finds the first.
    db.session.execute(select(Customer.id).where(Customer.id == customer.id).with_for_update())
    if customer.ended_on is not None and customer.ended_on < clock.local_today(org.timezone, now):
        raise Conflict("The customer's relationship has ended.")
    if isinstance(version, AgreementVersion):
        if version.organization_id != org.id or version.published_at is None:
            raise NotFound("No such agreement version.")
        label, row = version.version, version
    else:
        found = get_version(org, version)
        label = found.label
        contact_locale = customer.contacts[0].locale if customer.contacts else None
        row = found.in_language(language, contact_locale)
        if language is not None and row.language != language:
            raise ValidationFailed(
                f"Version '{label}' has no text in '{language}'.",
                errors={"language": [f"One of: {', '.join(r.language for r in found.rows)}."]},
            )
    newest = latest(org)
    if newest is not None and newest.label != label:
        raise Conflict(
            f"Version '{label}' was superseded by '{newest.label}'; accept that one.",
            current_version=newest.label,
        )
    already = acceptance_of(customer, label)
    if already is not None:
        raise Conflict(
            f"Version '{label}' was already accepted on {already.accepted_at.isoformat()}.",
            acceptance_id=already.id,
        )
    if shown_sha256 is not None and shown_sha256 != row.text_sha256:
        raise Conflict("The text shown is not the text of this version; reload and read it again.")
    acceptance = AgreementAcceptance(
        organization_id=org.id,
        customer_id=customer.id,
        agreement_version_id=row.id,
        version=label,
        language=row.language,
        accepted_at=now,
        accepted_by_name=name,
        accepted_by_email=email,
        text_sha256=row.text_sha256,
        ip_address=(ip or None) and ip[:45],
        user_agent=(user_agent or None) and user_agent[:500],
        channel=channel,
        actor=actor or f"customer-{channel}:{customer.external_ref}",
        link_address=link_address,
        link_message_id=link_message_id,
    )
    db.session.add(acceptance)
    db.session.flush()
    agreement = customer.agreement or CustomerAgreement(customer_id=customer.id)
    before = {
        "agreement_version_id": agreement.agreement_version_id,
        "accepted_at": agreement.accepted_at,
    }
    agreement.agreement_version_id = row.id
    agreement.accepted_at = now
    agreement.acceptance_id = acceptance.id
    agreement.evidence = evidence_of(acceptance)
    customer.agreement = agreement
    db.session.execute(
        update(AgreementRequest)
        .where(
            AgreementRequest.customer_id == customer.id,
            AgreementRequest.version == label,
            AgreementRequest.closed_at.is_(None),
        )
        .values(closed_at=now, closed_because="accepted")
    )
    db.session.flush()
    audit.record(
        org.id, acceptance.actor, "agreement.accepted", "customer", customer.id,
        before=before,
        after={
            "agreement_version_id": row.id,
            "accepted_at": now,
            "acceptance_id": acceptance.id,
            **evidence_of(acceptance),
        },
    )  # fmt: skip
    return acceptance


def evidence_of(acceptance: AgreementAcceptance) -> dict:
    return {
        "version": acceptance.version,
        "language": acceptance.language,
        "text_sha256": acceptance.text_sha256,
        "accepted_by_name": acceptance.accepted_by_name,
        "accepted_by_email": acceptance.accepted_by_email,
        "ip_address": acceptance.ip_address,
        "user_agent": acceptance.user_agent,
        "channel": acceptance.channel,
        "link_address": acceptance.link_address,
        "link_message_id": acceptance.link_message_id,
    }


def acceptance_history(customer: Customer) -> list[AgreementAcceptance]:
    """The customer's acceptances, newest first."""
    return list(
        db.session.scalars(
            select(AgreementAcceptance)
            .where(AgreementAcceptance.customer_id == customer.id)
            .order_by(AgreementAcceptance.accepted_at.desc(), AgreementAcceptance.id.desc())
            .options(selectinload(AgreementAcceptance.agreement_version))
        )
    )


def present_acceptance(acceptance: AgreementAcceptance) -> dict:
    row = acceptance.agreement_version
    return {
        "id": acceptance.id,
        "customer_id": acceptance.customer_id,
        "agreement_version_id": acceptance.agreement_version_id,
        "accepted_at": acceptance.accepted_at,
        **evidence_of(acceptance),
        "document_ref": row.document_ref,
        "effective_on": row.effective_on,
    }


def evidence(org: Organization, customer: Customer) -> dict:
    """What a customer accepted, when and how, newest first, for an auditor or a court."""
    history = acceptance_history(customer)
    agreement = customer.agreement
    return {
        "organization": {"slug": org.slug, "legal_name": org.legal_name, "timezone": org.timezone},
        "customer": {
            "id": customer.id,
            "external_ref": customer.external_ref,
            "name": customer.name,
            "started_on": customer.started_on,
            "ended_on": customer.ended_on,
        },
        "current_acceptance_id": agreement.acceptance_id if agreement else None,
        "acceptances": [present_acceptance(a) for a in history],
        "generated_at": clock.now(),
    }


# --- who is on which version ----------------------------------------------------------------


def acceptance_status(
    org: Organization, version: Version, args: dict, page: int, per_page: int
) -> tuple[list[dict], int, dict]:
    """Every customer in a relationship, the version it accepted last, and whether (and
    when) it accepted this one or was asked and reminded to."""
    today = clock.local_today(org.timezone)
    accepted = (
        select(AgreementAcceptance.accepted_at)
        .where(
            AgreementAcceptance.customer_id == Customer.id,
            AgreementAcceptance.version == version.label,
        )
        .scalar_subquery()
    )
    current = (
        select(AgreementVersion.version)
        .join(CustomerAgreement, CustomerAgreement.agreement_version_id == AgreementVersion.id)
        .where(CustomerAgreement.customer_id == Customer.id)
        .scalar_subquery()
    )
    stmt = (
        select(
            Customer,
            accepted.label("accepted_at"),
            current.label("current_version"),
            AgreementRequest,
        )
        .outerjoin(
            AgreementRequest,
            (AgreementRequest.customer_id == Customer.id)
            & (AgreementRequest.version == version.label),
        )
        .where(_active(org, today))
    )
    if args.get("accepted") is not None:
        has = exists().where(
            AgreementAcceptance.customer_id == Customer.id,
            AgreementAcceptance.version == version.label,
        )
        stmt = stmt.where(has if args["accepted"] else ~has)
    summary_stmt = select(func.count(), func.count(accepted)).where(_active(org, today))
    total_customers, total_accepted = db.session.execute(summary_stmt).one()
    stmt = stmt.order_by(Customer.name, Customer.id)
    rows, total = paginate(stmt, page, per_page, scalars=False)
    items = [
        {
            "customer": {"id": c.id, "external_ref": c.external_ref, "name": c.name},
            "current_version": current_version,
            "accepted": accepted_at is not None,
            "accepted_at": accepted_at,
            "requested_at": request.requested_at if request else None,
            "reminders": request.reminders if request else 0,
            "reminded_at": request.reminded_at if request else None,
            "request_closed": request.closed_because if request else None,
        }
        for c, accepted_at, current_version, request in rows
    ]
    summary = {
        "customers": total_customers,
        "accepted": total_accepted,
        "pending": total_customers - total_accepted,
    }
    return items, total, summary


# --- reminders and the end of a relationship ------------------------------------------------


def send_reminders(every: timedelta, now: datetime | None = None, *, limit: int = 3) -> int:
    """Remind each customer that has not accepted the newest version, at most once per
    `every` and `limit` times; running twice in a row reminds nobody twice. Customers that
    arrived after publication are asked first; legal staff are alerted once (see
    `_alert_legal`). Returns how many were reminded."""
    now = now or clock.now()
    reminded = 0
    for org in db.session.scalars(select(Organization).order_by(Organization.id)):
        newest = latest(org)
        if newest is None:
            continue
        today = clock.local_today(org.timezone, now)
        # Customers that arrived after publication get the request first; reminders follow.
        late = _ask(org, newest.label, _never_asked(org, newest.label, today), now)
        if late:
            audit.record(
                org.id, ACTOR, "agreement.requested", "agreement_version", newest.label,
                after={"customers_asked": late, "at": now},
            )  # fmt: skip
        due = list(
            db.session.scalars(
                select(AgreementRequest.id)
                .join(Customer, Customer.id == AgreementRequest.customer_id)
                .where(
                    AgreementRequest.organization_id == org.id,
                    AgreementRequest.version == newest.label,
                    AgreementRequest.closed_at.is_(None),
                    AgreementRequest.requested_at < now,  # not those asked a moment ago
                    AgreementRequest.reminders < limit,
                    func.coalesce(AgreementRequest.reminded_at, AgreementRequest.requested_at)
                    <= now - every,
                    _active(org, today),
                )
                .order_by(AgreementRequest.id)
                # Two overlapping runs never take the same request.
                .with_for_update(of=AgreementRequest, skip_locked=True)
            )
        )
        _alert_legal(org, newest, today, limit)
        if not due:
            continue
        item = outbox.enqueue(REMINDER_TOPIC, {"version": newest.label}, org.id)
        db.session.execute(
            update(AgreementRequest)
            .where(AgreementRequest.id.in_(due))
            .values(
                reminded_at=now,
                reminders=AgreementRequest.reminders + 1,
                reminder_outbox_id=item.id,
            )
        )
        audit.record(
            org.id, ACTOR, "agreement.reminded", "agreement_version", newest.label,
            after={"customers_reminded": len(due), "at": now},
        )  # fmt: skip
        reminded += len(due)
    return reminded


ALERT_ACTION = "agreement.unaccepted_alert"
ALERT_NAMES_SHOWN = 50


def _alert_legal(org: Organization, version: Version, today, limit: int) -> None:
    """Once per version and reason, e-mail legal staff (`alert.legal`) the customers still
    open: when the first of them has had every reminder (`reminders_exhausted`), and when
    the effective date has come without their acceptance (`effective_without_acceptance`)."""
    reasons = []
    open_requests = (
        select(Customer.external_ref, Customer.name, AgreementRequest.reminders)
        .join(Customer, Customer.id == AgreementRequest.customer_id)
        .where(
            AgreementRequest.organization_id == org.id,
            AgreementRequest.version == version.label,
            AgreementRequest.closed_at.is_(None),
            _active(org, today),
        )
        .order_by(Customer.external_ref)
    )
    pending = db.session.execute(open_requests).all()
    if not pending:
        return
    if any(row.reminders >= limit for row in pending):
        reasons.append("reminders_exhausted")
    if version.first.effective_on <= today:
        reasons.append("effective_without_acceptance")
    if not reasons:
        return
    # Serialise runs per organization, so two workers cannot both send one alert.
    db.session.execute(select(Organization.id).where(Organization.id == org.id).with_for_update())
    done = {
        (after or {}).get("reason")
        for after in db.session.scalars(
            select(AuditEvent.after).where(
                AuditEvent.organization_id == org.id,
                AuditEvent.action == ALERT_ACTION,
                AuditEvent.entity_id == version.label,
            )
        )
    }
    for reason in reasons:
        if reason in done:
            continue
        names = [f"{row.external_ref} ({row.name})" for row in pending[:ALERT_NAMES_SHOWN]]
        more = len(pending) - len(names)
        alert = {
            "kind": "agreement_not_accepted",
            "version": version.label,
            "effective_on": version.first.effective_on.isoformat(),
            "reason": reason,
            "pending": len(pending),
            "customers": ", ".join(names) + (f", +{more}" if more else ""),
        }
        outbox.enqueue("alert.legal", alert, org.id)
        audit.record(
            org.id, ACTOR, ALERT_ACTION, "agreement_version", version.label,
            after={"reason": reason, "pending": len(pending)},
        )  # fmt: skip
