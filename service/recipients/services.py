"""Register recipients, edit them, and derive the list as of any date."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, exists, func, not_, or_, select
from sqlalchemy.orm import selectinload

from service import clock, i18n
from service.audit import services as audit
from service.common import MAX_ID, paginate
from service.compliance import rules as transfer_rules
from service.errors import NotFound, ValidationFailed
from service.extensions import db
from service.organizations.models import Organization, Service
from service.organizations.services import resolve_services
from service.recipients.models import (
    MATERIAL_FIELDS,
    ProcessingLocation,
    Recipient,
    RecipientListingPeriod,
    RecipientRevision,
    revision_services,
)
from service.recipients.names import check_name_free
from service.recipients.schemas import DETAIL_FIELDS

REVISION_FIELDS = (
    "country",
    "role",
    "purpose_pl",
    "purpose_en",
    "data_categories_pl",
    "data_categories_en",
    "data_subject_categories_pl",
    "data_subject_categories_en",
)
PROFILE_FIELDS = ("name", "legal_entity", "address", "website", "external_id")
DUE_DILIGENCE_FIELDS = (
    "sub_dpa_signed_on",
    "tia_completed_on",
    "tia_reference",
    "dpf_certified_until",
    "dpf_certified_entity",
    "dpf_certified_from",
    "dpf_checked_on",
    "dpf_scope",
    "parent_company",
    "parent_company_country",
    "special_categories",
    "certifications",
    "next_review_on",
    "due_diligence_notes",
)
LOCATION_FIELDS = (
    "country",
    "international_organisation",
    "region",
    "activity_pl",
    "activity_en",
    "mechanism",
    *DETAIL_FIELDS,
)


# --- the temporal model -------------------------------------------------------------------


def listed_on(day: date):
    """Recipients on the list on `day`: inside their current listing period, or inside an
    earlier one of a vendor that left and came back."""
    return or_(
        and_(
            Recipient.listed_from.is_not(None),
            Recipient.listed_from <= day,
            or_(Recipient.listed_until.is_(None), Recipient.listed_until > day),
        ),
        exists().where(
            RecipientListingPeriod.recipient_id == Recipient.id,
            RecipientListingPeriod.listed_from <= day,
            RecipientListingPeriod.listed_until > day,
        ),
    )


def periods(recipient: Recipient) -> list[tuple[date, date | None]]:
    """Every listing period of the vendor, oldest first (none while it is proposed)."""
    earlier = [(p.listed_from, p.listed_until) for p in recipient.earlier_periods]
    if recipient.listed_from is None:
        return earlier
    return [*earlier, (recipient.listed_from, recipient.listed_until)]


def period_on(recipient: Recipient, day: date) -> tuple[date, date | None] | None:
    """The listing period holding on `day`, if any."""
    for start, end in periods(recipient):
        if start <= day and (end is None or end > day):
            return start, end
    return None


def open_period(recipient: Recipient, day: date) -> None:
    """Put the vendor on the list from `day`; a closed period it had becomes an earlier one
    (the caller checked that it closed by `day`)."""
    if recipient.listed_from is not None:
        recipient.earlier_periods.append(
            RecipientListingPeriod(
                listed_from=recipient.listed_from, listed_until=recipient.listed_until
            )
        )
    recipient.listed_from, recipient.listed_until = day, None


def close_return(recipient: Recipient) -> None:
    """Undo `open_period` (a withdrawn add): the last earlier period is current again."""
    if recipient.earlier_periods:
        last = recipient.earlier_periods.pop()
        recipient.listed_from, recipient.listed_until = last.listed_from, last.listed_until
    else:
        recipient.listed_from = None


def revision_valid_on(day: date):
    return and_(
        or_(RecipientRevision.valid_from.is_(None), RecipientRevision.valid_from <= day),
        or_(RecipientRevision.valid_until.is_(None), RecipientRevision.valid_until > day),
    )


def revision_of_day(day: date):
    """Join condition: a recipient with its live revision valid on `day`."""
    return and_(
        RecipientRevision.recipient_id == Recipient.id, live_revision(), revision_valid_on(day)
    )


def live_revision():
    """Revisions not set aside by a withdrawn update (those have an empty window)."""
    return or_(
        RecipientRevision.valid_from.is_(None),
        RecipientRevision.valid_until.is_(None),
        RecipientRevision.valid_from < RecipientRevision.valid_until,
    )


def revision_on(recipient: Recipient, day: date) -> RecipientRevision:
    """The material data of `recipient` that holds on `day`."""
    for revision in reversed(recipient.revisions):
        start, end = revision.valid_from, revision.valid_until
        if (start is None or start <= day) and (end is None or end > day):
            return revision
    # A recipient announced for a future date has only revisions from its registration,
    # which hold from the beginning of time; this is reached only for a set-aside one.
    return latest_revision(recipient)


def latest_revision(recipient: Recipient) -> RecipientRevision:
    live = [r for r in recipient.revisions if r.valid_until is None]
    return live[-1] if live else recipient.revisions[-1]


def status_on(recipient: Recipient, day: date) -> str:
    if recipient.listed_from is None:
        return "proposed"
    if period_on(recipient, day) is not None:
        return "active"
    first = periods(recipient)[0][0]
    return "announced" if first > day else "removed"


def is_public(recipient: Recipient) -> bool:
    """Once an add or replace is announced, customers have seen it: material data is frozen."""
    return recipient.listed_from is not None


# --- presenting ---------------------------------------------------------------------------


def location_dict(location: ProcessingLocation) -> dict:
    return {name: getattr(location, name) for name in LOCATION_FIELDS}


def shown_location(location: dict) -> dict:
    """A stored location as the API presents it: with `activity`, the single-language key
    clients read before the field was bilingual (English, else Polish)."""
    return {
        **location,
        "activity": i18n.neutral(pl=location["activity_pl"], en=location["activity_en"]),
    }


def shown_subject_categories(row: object) -> list[str]:
    """`data_subject_categories` as the API presented it before it was bilingual."""
    return list(
        i18n.neutral(pl=row.data_subject_categories_pl, en=row.data_subject_categories_en) or ()
    )


def effective_scope(
    recipient: Recipient, day: date, _seen: frozenset = frozenset()
) -> set[str] | None:
    """Own scope narrowed by the parent's: None means every service, an empty set none."""
    own = {s.slug for s in revision_on(recipient, day).services} or None
    parent = recipient.parent
    if parent is None or parent.id in _seen:
        return own
    inherited = effective_scope(parent, day, _seen | {recipient.id})
    if own is None:
        return inherited
    if inherited is None:
        return own
    return own & inherited


def _due_diligence(recipient: Recipient) -> dict:
    body = {name: getattr(recipient, name) for name in DUE_DILIGENCE_FIELDS}
    # Certifications live in a JSON column, so their dates are stored as ISO strings (see
    # `_stored`); the response schema dumps dates, so turn them back.
    body["certifications"] = [
        {**c, "expires_on": date.fromisoformat(c["expires_on"]) if c.get("expires_on") else None}
        for c in recipient.certifications or []
    ]
    return body


def shown_names(recipient: Recipient, revision: RecipientRevision) -> dict:
    """The name and legal entity as they were while `revision` held (dated renames)."""
    return {
        "name": revision.name or recipient.name,
        "legal_entity": revision.legal_entity or recipient.legal_entity,
    }


def present(recipient: Recipient, day: date, *, legal: bool) -> dict:
    revision = revision_on(recipient, day)
    every = periods(recipient)
    listed_from, listed_until = (
        _period_shown(every, day) if every else (recipient.listed_from, recipient.listed_until)
    )
    body = {
        "id": recipient.id,
        **{name: getattr(recipient, name) for name in PROFILE_FIELDS},
        **shown_names(recipient, revision),
        **{name: getattr(revision, name) for name in REVISION_FIELDS},
        "data_subject_categories": shown_subject_categories(revision),
        "services": [s.slug for s in revision.services],
        "effective_services": sorted(
            scope
            if (scope := effective_scope(recipient, day)) is not None
            else (s.slug for s in recipient.organization.services)
        ),
        "parent_id": recipient.parent_id,
        "status": status_on(recipient, day),
        "listed_from": listed_from,
        "listed_until": listed_until,
        "listing_periods": _periods_body(every),
        "locations": [shown_location(location_dict(loc)) for loc in revision.locations],
        "due_diligence": _due_diligence(recipient) if legal else None,
    }
    return body


def snapshot(recipient: Recipient, revision: RecipientRevision | None = None) -> dict:
    """Everything an audit event needs to show what a recipient looked like."""
    revision = revision or latest_revision(recipient)
    return {
        **{name: getattr(recipient, name) for name in PROFILE_FIELDS + DUE_DILIGENCE_FIELDS},
        "parent_id": recipient.parent_id,
        **material_snapshot(revision),
    }


def material_snapshot(revision: RecipientRevision) -> dict:
    return {
        **{name: getattr(revision, name) for name in REVISION_FIELDS},
        # Sorted: a revision built from a request keeps the request's order until reloaded
        # (then it is by slug), and a mere reordering is no material change.
        "services": sorted(s.slug for s in revision.services),
        "locations": [location_dict(loc) for loc in revision.locations],
    }


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListFilters:
    country: str | None = None
    established_in: str | None = None
    mechanism: str | None = None
    role: str | None = None
    scope: str | None = None


def _with_children() -> list:
    return [
        selectinload(Recipient.revisions).selectinload(RecipientRevision.locations),
        selectinload(Recipient.revisions).selectinload(RecipientRevision.services),
        selectinload(Recipient.parent),
        selectinload(Recipient.earlier_periods),
    ]


def list_query(org: Organization, day: date, filters: ListFilters, *, listed: str = "on") -> Select:
    """Recipients of `org` on its list on `day` (or proposed / all for legal staff)."""
    stmt = (
        select(Recipient)
        .join(RecipientRevision, revision_of_day(day))
        .where(Recipient.organization_id == org.id)
    )
    if listed == "on":
        stmt = stmt.where(listed_on(day))
    elif listed == "proposed":
        stmt = stmt.where(Recipient.listed_from.is_(None))
    if filters.role:
        stmt = stmt.where(RecipientRevision.role == filters.role)
    if filters.established_in:
        stmt = stmt.where(RecipientRevision.country == filters.established_in)
    if filters.country or filters.mechanism:
        conditions = [ProcessingLocation.revision_id == RecipientRevision.id]
        if filters.country:
            conditions.append(ProcessingLocation.country == filters.country)
        if filters.mechanism:
            conditions.append(ProcessingLocation.mechanism == filters.mechanism)
        stmt = stmt.where(exists().where(*conditions))
    return stmt.order_by(Recipient.name, Recipient.id).options(*_with_children())


def list_recipients(
    org: Organization,
    day: date,
    filters: ListFilters,
    page: int,
    per_page: int,
    *,
    listed: str = "on",
) -> tuple[list[Recipient], int]:
    stmt = list_query(org, day, filters, listed=listed)
    if filters.scope:
        # Scope is inherited along parent chains, which SQL can't filter cheaply; resolve
        # the matching ids in Python over the (light) list, then page in SQL.
        ids = [
            r.id
            for r in db.session.scalars(stmt).unique()
            if (scope := effective_scope(r, day)) is None or filters.scope in scope
        ]
        stmt = stmt.where(Recipient.id.in_(ids))
    elif listed == "on" and not (
        filters.role or filters.established_in or filters.country or filters.mechanism
    ):
        # The page comes from the (organization_id, name, id) index, stopping after it; the
        # count needs no revision: a listed vendor's revisions tile time (the first holds
        # from the beginning, each update closes its predecessor, a withdrawn one hands
        # its window back), so exactly one is valid on any day, and the listing window
        # alone decides. Counting it is an index-only scan, not a join of every vendor.
        total = db.session.scalar(
            select(func.count())
            .select_from(Recipient)
            .where(Recipient.organization_id == org.id, listed_on(day))
        )
        paged = stmt.limit(per_page).offset((page - 1) * per_page)
        return list(db.session.scalars(paged).unique()), total or 0
    return paginate(stmt, page, per_page)


def get_recipient(org: Organization, recipient_id: int) -> Recipient:
    if not 0 < recipient_id <= MAX_ID:  # from the URL: beyond `integer` it names nothing
        raise NotFound("No such recipient.")
    recipient = db.session.scalars(
        select(Recipient)
        .where(Recipient.id == recipient_id, Recipient.organization_id == org.id)
        .options(*_with_children())
    ).one_or_none()
    if recipient is None:
        raise NotFound("No such recipient.")
    return recipient


# --- writing ------------------------------------------------------------------------------


def _check_parent(org: Organization, recipient: Recipient | None, parent_id: int | None) -> None:
    if parent_id is None:
        return
    parent = db.session.get(Recipient, parent_id)
    if parent is None or parent.organization_id != org.id:
        raise ValidationFailed("Unknown parent.", errors={"parent_id": ["Unknown recipient."]})
    seen: set[int] = set()
    node: Recipient | None = parent
    while node is not None:
        if recipient is not None and node.id == recipient.id:
            raise ValidationFailed(
                "A recipient cannot be its own ancestor.",
                errors={"parent_id": ["This parent would make a cycle."]},
            )
        if node.id in seen:  # defensive: a cycle already stored must not hang us
            break
        seen.add(node.id)
        node = node.parent


# The import links parents after all rows are written (an export's rows are in name order).
check_parent_of = _check_parent


def _locations(items: Iterable[dict]) -> list[ProcessingLocation]:
    # The activities default to "" only at INSERT; set them now so a new revision compares
    # equal to a stored one (otherwise None != "" makes a no-op `update` look material).
    blank = {"activity_pl": "", "activity_en": ""}
    return [
        ProcessingLocation(**{**blank, **{k: v for k, v in item.items() if k in LOCATION_FIELDS}})
        for item in items
    ]


def _stored(name: str, value: object) -> object:
    # `certifications` is a JSON column: the JSON serialiser refuses the `date` objects the
    # schema loads (a 500), so store ISO strings.
    return audit.jsonable(value) if name == "certifications" else value


def apply_material(
    org: Organization, revision: RecipientRevision, data: dict, base: RecipientRevision | None
) -> RecipientRevision:
    """Fill `revision` from `data`, taking what it omits from `base`."""
    for name in REVISION_FIELDS:
        if name in data:
            setattr(revision, name, data[name])
        elif base is not None and base is not revision:
            setattr(revision, name, getattr(base, name))
    if "services" in data:
        revision.services = resolve_services(org, data["services"])
    elif base is not None and base is not revision:
        revision.services = list(base.services)
    if "locations" in data:
        revision.locations = _locations(data["locations"])
    elif base is not None and base is not revision:
        revision.locations = _locations(location_dict(loc) for loc in base.locations)
    return revision


def register_recipient(
    org: Organization, data: dict, *, actor: str, judged_on: date | None = None
) -> Recipient:
    """Register a vendor as `proposed`; it reaches the list only through a change.

    Its mechanisms are judged on `judged_on` (today by default): a vendor of an imported
    past version is judged on the day it joined, when e.g. the 2010/87 clauses still held.
    """
    check_name_free(org.id, data["name"])
    _check_parent(org, None, data.get("parent_id"))
    recipient = Recipient(
        organization_id=org.id,
        parent_id=data.get("parent_id"),
        **{k: _stored(k, data[k]) for k in PROFILE_FIELDS + DUE_DILIGENCE_FIELDS if k in data},
    )
    recipient.revisions = [apply_material(org, RecipientRevision(), data, None)]
    transfer_rules.check_registrable(
        recipient.revisions[0], judged_on or clock.local_today(org.timezone)
    )
    db.session.add(recipient)
    db.session.flush()
    audit.record(
        org.id, actor, "recipient.registered", "recipient", recipient.id, after=snapshot(recipient)
    )
    return recipient


def edit_recipient(org: Organization, recipient: Recipient, data: dict, *, actor: str) -> Recipient:
    """Edit details directly; material fields of a public vendor need an `update` change."""
    material = [name for name in MATERIAL_FIELDS if name in data]
    if material and is_public(recipient):
        raise ValidationFailed(
            "Material fields of a public vendor change only through an announced update.",
            errors={
                name: ["Material field of a public vendor: announce an 'update' change."]
                for name in material
            },
        )
    if "name" in data:
        check_name_free(org.id, data["name"], own_id=recipient.id)
    before = snapshot(recipient)
    if data.get("renamed_on") is not None:
        _split_for_rename(org, recipient, data["renamed_on"])
    if "parent_id" in data:
        _check_parent(org, recipient, data["parent_id"])
        recipient.parent_id = data["parent_id"]
    for name in PROFILE_FIELDS + DUE_DILIGENCE_FIELDS:
        if name in data:
            setattr(recipient, name, _stored(name, data[name]))
    if any(name in data for name in (*REVISION_FIELDS, "services", "locations")):
        # A proposed vendor has no public history: edit its live revision in place. Not
        # `revisions[-1]`: that may be a withdrawn update's set-aside revision, which no
        # date selects, so the edit would vanish.
        revision = latest_revision(recipient)
        apply_material(org, revision, data, base=revision)
        transfer_rules.check_registrable(revision, clock.local_today(org.timezone))
    db.session.flush()
    old, new = audit.changed(before, snapshot(recipient))
    if new:
        if data.get("renamed_on") is not None:
            new = {**new, "renamed_on": data["renamed_on"]}
        audit.record(
            org.id, actor, "recipient.edited", "recipient", recipient.id, before=old, after=new
        )
    return recipient


def _split_for_rename(org: Organization, recipient: Recipient, day: date) -> None:
    """Make the coming name edit hold from `day` only: every revision so far keeps the
    name it showed, and a copy of the latest (same material data) holds from `day`, unless
    the latest already starts that day (an update on the same day)."""
    current = latest_revision(recipient)
    if current.valid_from is not None and current.valid_from > day:
        raise ValidationFailed(
            f"The data of {recipient.name} has a revision from {current.valid_from}; a dated "
            "rename must not come before it.",
            errors={"renamed_on": [f"Must be {current.valid_from} or later."]},
        )
    for revision in recipient.revisions:
        if revision is not current or current.valid_from != day:
            revision.name = revision.name or recipient.name
            revision.legal_entity = revision.legal_entity or recipient.legal_entity
    if current.valid_from != day:
        renamed = apply_material(org, RecipientRevision(), {}, current)
        current.valid_until = renamed.valid_from = day
        recipient.revisions.append(renamed)


DIFF_FIELDS = (
    "name",
    "legal_entity",
    *REVISION_FIELDS,
    "services",
    "effective_services",
    "parent_id",
    "locations",
)


def diff_lists(before: list[dict], after: list[dict]) -> dict:
    """Compare two presented lists: vendors added, removed, and fields changed in between."""
    old = {item["id"]: item for item in before}
    new = {item["id"]: item for item in after}
    changed = []
    for rid in sorted(old.keys() & new.keys(), key=lambda i: (new[i]["name"], i)):
        fields = {
            name: {"before": old[rid][name], "after": new[rid][name]}
            for name in DIFF_FIELDS
            if old[rid][name] != new[rid][name]
        }
        if fields:
            changed.append({"id": rid, "name": new[rid]["name"], "changes": fields})
    return {
        "added": [new[i] for i in new if i not in old],
        "removed": [old[i] for i in old if i not in new],
        "changed": changed,
    }


def all_listed(org: Organization, day: date) -> list[Recipient]:
    return list(db.session.scalars(list_query(org, day, ListFilters())).unique())


# --- the difference between two dates, without materialising either list -------------------


def _only_on(org: Organization, day: date, other: date) -> Select:
    """Vendors on the list on `day` but not on `other`, in list order. The listing windows
    alone decide (see `list_recipients`: a listed vendor has a revision on every day), so
    this is one scan of the organization's vendors, with no join."""
    return (
        select(Recipient)
        .where(Recipient.organization_id == org.id, listed_on(day), not_(listed_on(other)))
        .order_by(Recipient.name, Recipient.id)
        .options(*_with_children())
    )


def revised_between(org: Organization, since: date, until: date) -> set[int]:
    """Vendors whose material data (or an ancestor's, which narrows their scope) may differ
    between the two dates: a live revision of theirs starts after `since`, by `until`."""
    ids = set(
        db.session.scalars(
            select(RecipientRevision.recipient_id)
            .join(Recipient, Recipient.id == RecipientRevision.recipient_id)
            .where(
                Recipient.organization_id == org.id,
                live_revision(),
                RecipientRevision.valid_from > since,
                RecipientRevision.valid_from <= until,
            )
        )
    )
    frontier = set(ids)
    while frontier:  # children inherit their parent's scope: follow the chains down
        frontier = (
            set(
                db.session.scalars(
                    select(Recipient.id).where(
                        Recipient.organization_id == org.id, Recipient.parent_id.in_(frontier)
                    )
                )
            )
            - ids
        )
        ids |= frontier
    return ids


def diff_between(
    org: Organization, since: date, until: date, *, page: int = 1, per_page: int | None = None
) -> dict:
    """What `diff_lists` says of the two public lists, computed from the vendors that differ
    only: added and removed ones by two indexed anti-joins, changed ones among the few with
    a revision in between. With `per_page`, each of the three lists is cut to that page."""
    start, stop = ((page - 1) * per_page, page * per_page) if per_page else (0, None)
    totals = {}
    found = {}
    for name, day, other in (("added", until, since), ("removed", since, until)):
        stmt = _only_on(org, day, other)
        totals[name] = db.session.scalar(
            select(func.count()).select_from(stmt.order_by(None).subquery())
        )
        if per_page:
            stmt = stmt.limit(per_page).offset(start)
        found[name] = [present(r, day, legal=False) for r in db.session.scalars(stmt).unique()]
    candidates = revised_between(org, since, until)
    changed = []
    if candidates:
        both = (
            select(Recipient)
            .where(
                Recipient.id.in_(candidates),
                Recipient.organization_id == org.id,
                listed_on(since),
                listed_on(until),
            )
            .options(*_with_children())
        )
        vendors = list(db.session.scalars(both).unique())
        before = [present(r, since, legal=False) for r in vendors]
        after = [present(r, until, legal=False) for r in vendors]
        changed = diff_lists(before, after)["changed"]
    totals["changed"] = len(changed)
    return {**found, "changed": changed[start:stop], "totals": totals}


def _earlier_periods(org: Organization) -> dict[int, list[tuple[date, date]]]:
    """The earlier listing periods of the organization's vendors that came back."""
    found: dict[int, list[tuple[date, date]]] = {}
    for row in db.session.execute(
        select(
            RecipientListingPeriod.recipient_id,
            RecipientListingPeriod.listed_from,
            RecipientListingPeriod.listed_until,
        )
        .join(Recipient, Recipient.id == RecipientListingPeriod.recipient_id)
        .where(Recipient.organization_id == org.id)
        .order_by(RecipientListingPeriod.recipient_id, RecipientListingPeriod.listed_from)
    ):
        found.setdefault(row.recipient_id, []).append((row.listed_from, row.listed_until))
    return found


def _period_shown(all_periods: list[tuple], day: date) -> tuple:
    """The period holding on `day`, else the current one (the last)."""
    for start, end in all_periods:
        if start <= day and (end is None or end > day):
            return start, end
    return all_periods[-1]


def _periods_body(all_periods: list[tuple]) -> list[dict]:
    return [{"listed_from": start, "listed_until": end} for start, end in all_periods]


# --- the whole list in a few set-based queries (public JSON, CSV and page) ------------------


def present_listed(org: Organization, day: date) -> list[dict]:
    """`present(r, day, legal=False)` for every vendor of `all_listed(org, day)`, from four
    queries over rows instead of loading every vendor, revision and location as objects
    (which is what costs seconds at 10,000 vendors)."""
    profile = [getattr(Recipient, name) for name in PROFILE_FIELDS]
    material = [getattr(RecipientRevision, name) for name in REVISION_FIELDS]
    # Every vendor of the organization with the revision valid on `day`: the listed ones,
    # and the ancestors whose scope narrows theirs (listed or not).
    rows = db.session.execute(
        select(
            Recipient.id, Recipient.parent_id, Recipient.listed_from, Recipient.listed_until,
            listed_on(day).label("listed"), RecipientRevision.id.label("revision_id"),
            RecipientRevision.name.label("revision_name"),
            RecipientRevision.legal_entity.label("revision_entity"),
            *profile, *material,
        )
        .join(RecipientRevision, revision_of_day(day))
        .where(Recipient.organization_id == org.id)
        .order_by(Recipient.name, Recipient.id, RecipientRevision.id)
    ).all()  # fmt: skip
    vendors = {row.id: row for row in rows}  # the last revision wins, as in `revision_on`
    parents = dict(
        db.session.execute(
            select(Recipient.id, Recipient.parent_id).where(Recipient.organization_id == org.id)
        ).all()
    )
    if any(vendors.get(parent) is None for parent in parents.values() if parent is not None):
        # An ancestor with no revision on that day (a set-aside one): `revision_on` falls
        # back to its latest revision, which these rows do not carry. Rare; take the long way.
        return [present(r, day, legal=False) for r in all_listed(org, day)]
    revision_ids = (
        select(RecipientRevision.id)
        .join(Recipient)
        .where(Recipient.organization_id == org.id, live_revision(), revision_valid_on(day))
    )
    services: dict[int, list[str]] = {}
    for revision_id, slug in db.session.execute(
        select(revision_services.c.revision_id, Service.slug)
        .join(Service, Service.id == revision_services.c.service_id)
        .where(revision_services.c.revision_id.in_(revision_ids))
        .order_by(revision_services.c.revision_id, Service.slug)
    ):
        services.setdefault(revision_id, []).append(slug)
    places = [getattr(ProcessingLocation, name) for name in LOCATION_FIELDS]
    locations: dict[int, list[dict]] = {}
    for location in db.session.execute(
        select(ProcessingLocation.revision_id, *places)
        .where(ProcessingLocation.revision_id.in_(revision_ids))
        .order_by(ProcessingLocation.revision_id, ProcessingLocation.id)
    ):  # fmt: skip
        locations.setdefault(location.revision_id, []).append(
            shown_location({name: getattr(location, name) for name in LOCATION_FIELDS})
        )
    everything = sorted(s.slug for s in org.services)
    earlier = _earlier_periods(org)
    own = {vendor.id: services.get(vendor.revision_id, ()) for vendor in vendors.values()}
    return [
        row_body(
            vendor,
            day,
            services=services.get(vendor.revision_id, ()),
            locations=locations.get(vendor.revision_id, []),
            earlier=earlier.get(vendor.id, ()),
            effective=row_scope(vendor.id, parents, own),
            everything=everything,
        )
        for vendor in vendors.values()
        if vendor.listed
    ]


def row_scope(
    vendor_id: int, parents: dict, own: dict, seen: frozenset = frozenset()
) -> set[str] | None:
    """`effective_scope` over rows: `parents` maps each vendor of the chain to its parent,
    `own` to the services of its revision of the day."""
    mine = set(own.get(vendor_id, ())) or None
    parent = parents[vendor_id]
    if parent is None or parent in seen:
        return mine
    inherited = row_scope(parent, parents, own, seen | {vendor_id})
    if mine is None:
        return inherited
    if inherited is None:
        return mine
    return mine & inherited


def row_body(
    vendor: object,
    day: date,
    *,
    services: Iterable[str],
    locations: list[dict],
    earlier: Iterable[tuple],
    effective: set[str] | None,
    everything: list[str],
) -> dict:
    """`present(r, day, legal=False)` of a vendor on the list on `day`, from its row."""
    every = [*earlier, (vendor.listed_from, vendor.listed_until)]
    listed_from, listed_until = _period_shown(every, day)
    return {
        "id": vendor.id,
        **{name: getattr(vendor, name) for name in PROFILE_FIELDS},
        "name": vendor.revision_name or vendor.name,
        "legal_entity": vendor.revision_entity or vendor.legal_entity,
        **{name: getattr(vendor, name) for name in REVISION_FIELDS},
        "data_subject_categories": shown_subject_categories(vendor),
        "services": list(services),
        "effective_services": sorted(effective) if effective is not None else everything,
        "parent_id": vendor.parent_id,
        "status": "active",
        "listed_from": listed_from,
        "listed_until": listed_until,
        "listing_periods": _periods_body(every),
        "locations": locations,
        "due_diligence": None,
    }
