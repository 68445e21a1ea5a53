"""What the public page and feeds show, and the JSON, CSV and Atom renderings of it.

Every function takes the organization's local `day` instead of reading a clock, so the
list as of any date (tomorrow's included) can be rendered and tested without waiting.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from service import i18n, reference
from service.changes.models import Change
from service.compliance import rules, wording
from service.compliance import services as compliance
from service.extensions import db
from service.organizations.models import Organization
from service.public.texts import TEXTS
from service.recipients import services as recipients
from service.recipients.schemas import RecipientSchema

CHANGELOG_LIMIT = 100
ATOM_NS = "http://www.w3.org/2005/Atom"


# --- what is shown ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """One processing location as an output shows it: `mechanism` is the safeguard as the
    compliance status of the day lets it be stated (service.compliance.wording)."""

    where: str
    activity: str
    mechanism: str
    detail: str
    state: str = rules.NO_TRANSFER
    dpf: bool = False

    @property
    def public_state(self) -> str:
        """What a reader outside may learn: valid, no transfer, or under review."""
        return self.state if self.state in (rules.VALID, rules.NO_TRANSFER) else "under_review"


def listed(org: Organization, day: date) -> list[dict]:
    """The list in force on `day`, as the public API presents it (no due diligence)."""
    return recipients.present_listed(org, day)


def _changes(org: Organization):
    return (
        select(Change)
        .where(Change.organization_id == org.id)
        .options(selectinload(Change.recipient), selectinload(Change.replaces))
    )


def upcoming(org: Organization, day: date) -> list[Change]:
    """Announced changes that take effect after `day`, soonest first."""
    stmt = _changes(org).where(Change.status == "announced", Change.effective_on > day)
    return list(db.session.scalars(stmt.order_by(Change.effective_on, Change.id)))


def last_changed(org: Organization, day: date, items: list[dict]) -> date | None:
    """The day the list in force on `day` last changed: the latest change in effect by then
    (a removal included), or a vendor listed without one."""
    changed = db.session.scalar(
        select(func.max(Change.effective_on)).where(
            Change.organization_id == org.id,
            Change.status == "announced",
            Change.effective_on <= day,
        )
    )
    days = [found for found in (changed, *(item["listed_from"] for item in items)) if found]
    return max(days, default=None)


def received(item: dict, service_names: dict[str, str], lang: str) -> dict:
    """Which data a presented vendor receives, about whom, and for which of the
    organization's services (`None`: all of them), in `lang`."""
    scope = item["effective_services"]
    every = set(scope) == set(service_names)
    return {
        "data_categories": i18n.list_in(
            lang, pl=item["data_categories_pl"], en=item["data_categories_en"]
        ),
        "data_subjects": i18n.list_in(
            lang, pl=item["data_subject_categories_pl"], en=item["data_subject_categories_en"]
        ),
        "services": None if every else [service_names.get(slug, slug) for slug in scope],
    }


def changelog(
    org: Organization, limit: int | None = None, *, announced_only: bool = False
) -> list[Change]:
    """Announced and withdrawn changes, newest announcement first (historical ones by the
    day they took effect); `announced_only` leaves out those recorded from the history."""
    stmt = _changes(org).order_by(Change.announced_at.desc(), Change.id.desc())
    if announced_only:
        stmt = stmt.where(Change.historical.is_(False))
    stmt = stmt.limit(limit or CHANGELOG_LIMIT)
    return list(db.session.scalars(stmt))


def country_label(code: str | None, lang: str = "en") -> str:
    return i18n.country_label(code, lang)


def place(status: rules.TransferStatus, day: date, lang: str, *, public: bool = True) -> Place:
    location = status.location
    return Place(
        where=i18n.place_label(location, lang),
        activity=i18n.text_in(lang, pl=location.get("activity_pl"), en=location.get("activity_en")),
        mechanism=wording.safeguard(status, day, lang, public=public),
        detail="",
        state=status.state,
        dpf=status.relies_on_dpf,
    )


def places_of(
    org: Organization, items: list[dict], day: date, lang: str, *, public: bool = True
) -> dict[int, list[Place]]:
    """The locations of presented vendors (`listed`), each with its safeguard as stated on
    `day`, by vendor id."""
    facts = compliance.facts_of_presented(org, items, day)
    with reference.pinned():  # each reference file read once per rendering, not per place
        return {vid: _placed(vendor, day, lang, public) for vid, vendor in facts.items()}


def recipient_places(
    recipient: object, day: date, lang: str, *, public: bool = True, seen_on: date | None = None
) -> list[Place]:
    """`places_of` for one loaded Recipient (as of its revision of `seen_on`, judged on `day`)."""
    return _placed(compliance.vendor_facts(recipient, day, seen_on=seen_on), day, lang, public)


def _placed(vendor: rules.Vendor, day: date, lang: str, public: bool) -> list[Place]:
    return [place(status, day, lang, public=public) for status in compliance.statuses(vendor, day)]


def risk_note(places: dict[int, list[Place]] | list[Place], lang: str) -> str:
    """The DPF risk note when any of `places` relies on the DPF, else nothing."""
    flat = places if isinstance(places, list) else [p for ps in places.values() for p in ps]
    return wording.risk_note(lang) if any(p.dpf for p in flat) else ""


# --- JSON -------------------------------------------------------------------------------------

_ITEM_SCHEMA = RecipientSchema(many=True, exclude=("due_diligence",))


def with_safeguards(items: list[dict], places: dict[int, list[Place]]) -> list[dict]:
    """Give each presented location the safeguard a published list may state for it: its
    `mechanism` is what legal staff recorded, this is what holds on the day."""
    for item in items:
        for location, shown in zip(item["locations"], places[item["id"]], strict=True):
            location["safeguard_status"] = shown.public_state
            location["safeguard"] = shown.mechanism
    return items


def json_body(org: Organization, day: date) -> bytes:
    """The list as JSON: the items of the public API, with the organization and the date."""
    items = listed(org, day)
    with_safeguards(items, places_of(org, items, day, "en"))
    body = {
        "organization": {"slug": org.slug, "legal_name": org.legal_name},
        "as_of": day.isoformat(),
        "items": _ITEM_SCHEMA.dump(items),
        "total": len(items),
    }
    return json.dumps(body, ensure_ascii=False, indent=1).encode()


# --- CSV --------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "id",
    "name",
    "legal_entity",
    "country",
    "role",
    "purpose_pl",
    "purpose_en",
    "data_categories_pl",
    "data_categories_en",
    "data_subject_categories",  # the one-language view: English, else Polish
    "services",
    "locations",
    "listed_from",
    "listed_until",
    "parent_id",
    "website",
    # Added when the field became bilingual: at the end, so columns read by position stay.
    "data_subject_categories_pl",
    "data_subject_categories_en",
    # Each location as the vendor import reads it back (a JSON array, with every detail):
    # `locations` above is for people and states only the safeguard valid on the day.
    "locations_data",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection,
# e.g. `=HYPERLINK(...)` in a vendor name). A leading apostrophe makes it text and shows
# as nothing in the cell; `-` and `+` are caught too, at the cost of prefixing a rare
# legitimate value.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: object) -> str:
    if type(value) is str:  # most cells: 166,000 of them in a list of 10,000 vendors
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if value is None:
        text = ""
    elif isinstance(value, list | tuple):
        text = "; ".join(str(v) for v in value)
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def locations_data(locations: list[dict], shown: list[Place]) -> str:
    """Presented locations as a JSON array of what was recorded (no empty details), each
    with the `safeguard_status` the compliance rules find on the day: a recorded mechanism
    is never published without saying whether it holds (the import ignores the status)."""
    recorded = [
        {
            **{
                key: value.isoformat() if isinstance(value, date) else value
                for key, value in location.items()
                if value not in (None, "")
                and key not in ("activity", "safeguard", "safeguard_status")
            },
            "safeguard_status": place.public_state,
        }
        for location, place in zip(locations, shown, strict=True)
    ]
    return json.dumps(recorded, ensure_ascii=False, separators=(",", ":"))


def _location_cell(location: dict, shown: Place) -> str:
    where = (
        location.get("country")
        or location.get("international_organisation")
        or location.get("region")
        or ""
    )
    # The list's CSV is English, as its safeguards are (`places_of(..., "en")`).
    activity = f" [{shown.activity}]" if shown.activity else ""
    return f"{where}: {shown.mechanism}{activity}"


def csv_body(org: Organization, day: date) -> bytes:
    """The list as CSV (RFC 4180, UTF-8, CRLF), safe to open in a spreadsheet."""
    items = listed(org, day)
    return list_csv(items, places_of(org, items, day, "en"))


def list_csv(items: list[dict], places: dict[int, list[Place]]) -> bytes:
    """Presented recipients as CSV; the customer portal writes its customer's list with it.
    A location's cell states its safeguard as `places` does (see `places_of`)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in items:
        row = {**item, "services": item["effective_services"]}
        row["locations"] = [
            _location_cell(loc, shown)
            for loc, shown in zip(item["locations"], places[item["id"]], strict=True)
        ]
        row["locations_data"] = locations_data(item["locations"], places[item["id"]])
        writer.writerow([safe_cell(row.get(name)) for name in CSV_COLUMNS])
    return out.getvalue().encode()


# --- Atom 1.0 (RFC 4287) ----------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all; a vendor name containing one must not break the feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _stamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def tag_uri(base_url: str, day: date, specific: str) -> str:
    """A permanent id (RFC 4151) that does not change when the page moves.

    Its date only makes the id unique in time and must never change for an entry, so it
    stays the UTC date it was first minted with; no person reads it as a date."""
    authority = (urlsplit(base_url).hostname or "localhost").lower()
    return f"tag:{authority},{day.isoformat()}:{specific}"


def change_title(change: Change, lang: str) -> str:
    t = TEXTS[lang]
    vendor = change.recipient.name
    if change.replaces is not None:
        vendor = f"{vendor} {t['replaces']} {change.replaces.name}"
    title = t["entry_title"].format(
        kind=t["kinds"][change.kind], vendor=vendor, day=change.effective_on.isoformat()
    )
    return t["entry_withdrawn"].format(title=title) if change.status == "withdrawn" else title


def page_url(base_url: str, org: Organization, lang: str) -> str:
    return f"{base_url.rstrip('/')}/orgs/{org.slug}/subprocessors?lang={lang}"


def atom_body(
    org: Organization, lang: str, base_url: str, describe: Callable[[Change], tuple[str, str]]
) -> bytes:
    """Announced and withdrawn changes as an Atom 1.0 feed, newest first; `describe` writes
    an entry's title and text (service.notices.presenting, which itself reads this module)."""
    t = TEXTS[lang]
    # A feed reader takes every new entry for news: changes recorded from the list's past
    # versions were never announced, so they stay on the page's changelog only.
    changes = changelog(org, announced_only=True)
    page = page_url(base_url, org, lang)

    def sub(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, name, attrs)
        if text is not None:
            element.text = _xml_text(text)
        return element

    # Plain names and a literal xmlns: ElementTree's namespace support would prefix every
    # element (ns0:entry), which is valid but unkind to readers of the source.
    feed = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": lang})
    sub(feed, "id", tag_uri(base_url, org.created_at.date(), f"{org.slug}/changes"))
    sub(feed, "title", t["feed_title"].format(org=org.brand))
    sub(feed, "subtitle", t["feed_subtitle"])
    moments = [c.withdrawn_at or c.announced_at for c in changes] or [org.created_at]
    sub(feed, "updated", _stamp(max(moments)))
    author = sub(feed, "author")
    sub(author, "name", org.legal_name)
    sub(author, "email", org.contact_email)
    self_url = f"{base_url.rstrip('/')}/orgs/{org.slug}/changes.atom?lang={lang}"
    sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    sub(feed, "link", rel="alternate", type="text/html", hreflang=lang, href=page)
    for change in changes:
        entry = sub(feed, "entry")
        specific = f"{org.slug}/changes/{change.id}"
        sub(entry, "id", tag_uri(base_url, change.announced_at.date(), specific))
        title, summary = describe(change)
        sub(entry, "title", title)
        sub(entry, "published", _stamp(change.announced_at))
        sub(entry, "updated", _stamp(change.withdrawn_at or change.announced_at))
        sub(entry, "link", rel="alternate", type="text/html", href=f"{page}#change-{change.id}")
        sub(entry, "summary", summary, type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
