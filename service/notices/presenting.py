"""One change as people read it, in Polish or English, with no code left for them to decode.

The notice e-mail (text and HTML), the answer page of a signed link, the portal's change
page, the public page's upcoming changes and the Atom feed all describe a change through
`present`, so each of them names the same facts: the vendor and its legal entity, what
changes (for an update: each field from → to), the purpose, data and data subjects, the
places with country names and the safeguard in the words of service.compliance.wording, the
effective date and the answer-by deadline in the organization's time zone (named), the
reason, and what objecting or staying silent leads to under the reader's agreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from service import clock, i18n
from service.changes.models import Change, Notice
from service.customers.services import effective_terms
from service.notices import services as notices
from service.notices.texts import CHANGE
from service.organizations.models import Organization
from service.public import services as public
from service.public.services import Place
from service.recipients import services as recipients


@dataclass(frozen=True)
class Update:
    """One field of an update, from → to, in words."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class PresentedChange:
    lang: str
    kind: str  # "dodanie", "addition"
    title: str
    vendor: str
    legal_entity: str  # with its address and country of establishment, named
    role: str
    purpose: str
    data_categories: list[str]
    data_subjects: list[str]
    places: list[Place]
    risk_note: str
    effective: str
    effective_on: date
    replaces: str = ""
    updates: list[Update] = field(default_factory=list)
    reason: str = ""
    urgent: str = ""
    deadline: str = ""
    deadline_at: datetime | None = None
    consequences: list[str] = field(default_factory=list)
    public: bool = False  # for anyone (page, feed), not one customer under its agreement
    asks: str = "none"  # what the reader's notice asks: none, objection, consent
    withdrawn: str = ""  # "Withdrawn on 5 December 2026: <why>": nothing else is asked then


def present(
    org: Organization,
    change: Change,
    lang: str,
    *,
    notice: Notice | None = None,
    terms: dict | None = None,
    cache: dict | None = None,
) -> PresentedChange:
    """`change` for one reader: a customer with its `notice` and agreement `terms`, or the
    public (no notice). `cache` keeps what the messages of one batch share."""
    t = CHANGE[lang]
    vendor = change.recipient
    # A removed vendor is described as it was on its last day on the list.
    seen_on = change.effective_on - timedelta(days=1 if change.kind == "remove" else 0)
    shown, places = _vendor(vendor, seen_on, lang, {} if cache is None else cache)
    effective = i18n.day(change.effective_on, lang)
    withdrawn = _withdrawn(org, change, lang)
    due = answer_by(org, change, notice, terms or {}) if notice and not withdrawn else None
    return PresentedChange(
        lang=lang,
        kind=t["kinds"][change.kind],
        title=title(change, lang),
        vendor=vendor.name,
        legal_entity=_entity(shown, lang),
        role=t["roles"].get(shown["role"], shown["role"]),
        purpose=i18n.text_in(lang, pl=shown["purpose_pl"], en=shown["purpose_en"]),
        data_categories=i18n.list_in(
            lang, pl=shown["data_categories_pl"], en=shown["data_categories_en"]
        ),
        data_subjects=i18n.list_in(
            lang, pl=shown["data_subject_categories_pl"], en=shown["data_subject_categories_en"]
        ),
        places=places,
        risk_note=public.risk_note(places, lang),
        effective=effective,
        effective_on=change.effective_on,
        replaces=f"{change.replaces.name} ({change.replaces.legal_entity})"
        if change.replaces
        else "",
        updates=updates(org, change.update_diff, lang),
        reason=change.reason or "",
        urgent=change.urgent_justification or "" if change.urgent else "",
        deadline=deadline(due, org.timezone, lang) if due else "",
        deadline_at=due,
        consequences=consequences(org, change, lang, notice=notice, terms=terms),
        public=notice is None,
        asks=notice.response if notice is not None else "none",
        withdrawn=withdrawn,
    )


def _withdrawn(org: Organization, change: Change, lang: str) -> str:
    if change.status != "withdrawn":
        return ""
    on = clock.local_date_of(change.withdrawn_at or clock.now(), org.timezone)
    text = CHANGE[lang]["labels"]["withdrawn"].format(day=i18n.day(on, lang))
    return f"{text}: {change.withdrawal_reason}" if change.withdrawal_reason else text


def _vendor(vendor, seen_on: date, lang: str, cache: dict) -> tuple[dict, list[Place]]:
    key = ("presented", vendor.id, seen_on, lang)
    if key not in cache:
        shown = recipients.present(vendor, seen_on, legal=False)
        # The safeguards as the compliance status of the day lets them be stated publicly.
        cache[key] = shown, public.recipient_places(vendor, seen_on, lang)
    return cache[key]


def _entity(shown: dict, lang: str) -> str:
    country = i18n.country(shown["country"], lang)
    parts = [shown["legal_entity"], shown.get("address") or "", country]
    return ", ".join(part for part in parts if part)


def title(change: Change, lang: str) -> str:
    """'Dodanie: Hetzner (od 5 grudnia 2026 r.)', 'Replacement: B replaces A (from …)'."""
    t = CHANGE[lang]
    vendor = change.recipient.name
    if change.replaces is not None:
        vendor = f"{vendor} {t['replaces']} {change.replaces.name}"
    kind = t["kinds"][change.kind]
    return t["title"].format(
        kind=kind[:1].upper() + kind[1:], vendor=vendor, day=i18n.day(change.effective_on, lang)
    )


def answer_by(org: Organization, change: Change, notice: Notice, terms: dict) -> datetime | None:
    """Until when the customer may answer: the objection deadline (for a message being sent
    now, the one its delivery now sets), or the start of the effective date for a consent
    (given later, it applies from its own day)."""
    if notice.withdrawn_at is not None or notice.response == "none":
        return None
    if notice.response == "consent":
        return clock.start_of_day(change.effective_on, org.timezone)
    if notice.objection_deadline is not None:
        return notice.objection_deadline
    days = notice.objection_days
    days = terms.get("objection_days", 0) if days is None else days
    return notices.deadline(org, clock.now(), days, change.effective_on, post_hoc=notice.post_hoc)


def variant(org: Organization, change: Change, notice: Notice, terms: dict) -> tuple:
    """What of one customer's notice its presented text depends on: messages that agree on
    it read the same (service/mail/prepared.py renders them once)."""
    return (
        notice.response,
        notice.withdrawn_at is None,
        notice.post_hoc,
        answer_by(org, change, notice, terms),
        _applies_from(org, change, notice, terms) if notice.response == "objection" else None,
        terms.get("objection_remedy"),
        bool(terms.get("rejects_unjustified_objections")),
    )


def deadline(moment: datetime, timezone: str, lang: str) -> str:
    """The answer-by moment on the organization's clock, its zone named; a deadline at local
    midnight (as windows counted in days end) reads as the end of the day before."""
    at = i18n.local(moment, timezone)
    if at.time() == time(0, 0):
        last = at - timedelta(minutes=1)
        return CHANGE[lang]["end_of_day"].format(
            day=i18n.day(last.date(), lang), zone=i18n.zone(at, lang)
        )
    return i18n.moment(moment, timezone, lang)


# --- an update, field by field --------------------------------------------------------------

# Stored field → the reader's field: a bilingual pair is one field in the reader's language.
_BILINGUAL = ("purpose", "data_categories", "data_subject_categories")


def updates(org: Organization, diff: dict | None, lang: str) -> list[Update]:
    """What an update changes, from → to, each side in words (no codes)."""
    if not diff:
        return []
    before, after = diff.get("before") or {}, diff.get("after") or {}
    found = []
    for name in ("country", "role", *_BILINGUAL, "services", "locations"):
        # A bilingual field counts in the reader's language: a new translation into the
        # other one changes nothing the reader reads.
        key = f"{name}_{lang}" if name in _BILINGUAL else name
        if key not in after and key not in before:
            continue
        old, new = (_words(org, name, side, lang) for side in (before, after))
        if old != new:
            found.append(Update(CHANGE[lang]["fields"][name], old, new))
    return found


def _words(org: Organization, name: str, side: dict, lang: str) -> str:
    t = CHANGE[lang]
    if name in _BILINGUAL:
        value = {k: side.get(f"{name}_{k}") for k in ("pl", "en")}
        text = (i18n.list_in if name != "purpose" else i18n.text_in)(lang, **value)
        text = "; ".join(text) if isinstance(text, list) else text
    elif name == "country":
        text = i18n.country_label(side.get("country"), lang)
    elif name == "role":
        text = t["roles"].get(side.get("role"), "") if side.get("role") else ""
    elif name == "services":
        text = _services(org, side.get("services"), lang)
    else:
        text = "; ".join(_place_words(loc, lang) for loc in side.get("locations") or ())
    return text or t["nothing"]


def _services(org: Organization, slugs: list[str] | None, lang: str) -> str:
    if slugs is None:
        return ""
    if not slugs:  # an empty scope is every service of the organization
        return CHANGE[lang]["all_services"]
    names = {s.slug: getattr(s, f"name_{lang}") for s in org.services}
    return ", ".join(names.get(slug, slug) for slug in slugs)


def _place_words(location: dict, lang: str) -> str:
    where = i18n.country_label(location.get("country"), lang) or location.get(
        "international_organisation", ""
    )
    activity = i18n.text_in(lang, pl=location.get("activity_pl"), en=location.get("activity_en"))
    return f"{where} ({activity})" if activity else where


# --- what answering or staying silent leads to ----------------------------------------------


def consequences(
    org: Organization,
    change: Change,
    lang: str,
    *,
    notice: Notice | None = None,
    terms: dict | None = None,
) -> list[str]:
    """What the reader's answer, or silence, leads to under its agreement (docs/notices.md)."""
    t = CHANGE[lang]
    day = i18n.day(change.effective_on, lang)
    vendor = change.recipient.name
    if notice is None:
        return [
            _sentence(
                t["public_remove" if change.kind == "remove" else "public_asked"].format(day=day)
            )
        ]
    if notice.response == "consent":
        return [_sentence(t["consent"].format(day=day)), t["refusal"].format(vendor=vendor)]
    if notice.response == "none":
        return [_sentence(_information(change, t, day))]
    terms = terms or {}
    lines = [
        t["silence"].format(day=i18n.day(_applies_from(org, change, notice, terms), lang)),
        t["object_update" if change.kind == "update" else "object_add"].format(vendor=vendor),
        t["remedies"][terms.get("objection_remedy") or "exclude"].format(vendor=vendor),
    ]
    if terms.get("rejects_unjustified_objections"):
        lines.append(t["rejectable"])
    return [_sentence(line) for line in lines]


def _sentence(text: str) -> str:
    """One full stop at the end, also after a Polish date ('… 2027 r.')."""
    return text[:-1] if text.endswith("..") else text


def _information(change: Change, t: dict, day: str) -> str:
    vendor = change.recipient.name
    if change.kind == "remove":
        return t["info_remove"].format(vendor=vendor, day=day)
    if change.kind == "replace":
        return t["info_leaves"].format(vendor=vendor, old=change.replaces.name, day=day)
    return t["info"].format(day=day)


def _applies_from(org: Organization, change: Change, notice: Notice, terms: dict) -> date:
    """The day a silent customer's data comes under the change: the notice period runs from
    delivery (today, for a message being sent now), never before the effective date."""
    if notice.post_hoc:
        return change.effective_on
    delivered = notice.delivered_at
    start = clock.local_date_of(delivered, org.timezone) if delivered else None
    start = start or clock.local_today(org.timezone)
    days = notice.notice_days if notice.notice_days is not None else terms.get("notice_days", 0)
    return max(change.effective_on, start + timedelta(days=days or 0))


# --- as plain text (the e-mail's text part, the Atom feed) ----------------------------------


def labels(lang: str) -> dict[str, str]:
    return CHANGE[lang]["labels"]


def as_text(p: PresentedChange) -> str:
    """The facts of `p` as lines of plain text, labelled in its language."""
    t, words = CHANGE[p.lang], labels(p.lang)
    lines = [
        f"{words['vendor']}: {p.vendor} ({p.kind})",
        f"{words['legal_entity']}: {p.legal_entity}",
    ]
    lines.append(f"{words['role']}: {p.role}")
    if p.replaces:
        lines.append(f"{words['replaces']}: {p.replaces}")
    if p.updates:
        lines.append(f"{words['updates']}:")
        lines += [f"  - {t['update_line'].format(**vars(u))}" for u in p.updates]
    lines.append(f"{words['purpose']}: {p.purpose}")
    for name in ("data_categories", "data_subjects"):
        if getattr(p, name):
            lines.append(f"{words[name]}: {'; '.join(getattr(p, name))}")
    lines.append(f"{words['places']}:")
    lines += [f"  - {_place_line(place)}" for place in p.places]
    if p.risk_note:
        lines.append(p.risk_note)
    lines.append(f"{words['effective']}: {p.effective}")
    if p.deadline:
        lines.append(f"{words['deadline_' + p.asks]}: {p.deadline}")
    if p.urgent:
        lines.append(f"{words['urgent']}: {p.urgent}")
    if p.reason:
        lines.append(f"{words['reason']}: {p.reason}")
    if p.withdrawn:
        lines.append(p.withdrawn)
    else:
        heading = words["public_consequences" if p.public else "consequences"]
        lines += [f"{heading}:", *(f"  {line}" for line in p.consequences)]
    return "\n".join(lines)


def _place_line(place: Place) -> str:
    activity = f" ({place.activity})" if place.activity else ""
    return f"{place.where}{activity}: {place.mechanism}"


def feed_entry(org: Organization, change: Change, lang: str, cache: dict) -> tuple[str, str]:
    """The title and text of a change's Atom entry: its facts, and for the public what it
    means to customers."""
    presented = present(org, change, lang, cache=cache)
    title = presented.title
    if presented.withdrawn:
        title = CHANGE[lang]["withdrawn_title"].format(title=title)
    return title, as_text(presented)


def for_notice(org: Organization, notice: Notice, lang: str) -> dict:
    """The template context of a page about one customer's notice: the change as that
    customer's agreement makes it (`p`) and the labels (`change_words`)."""
    terms = effective_terms(org, notice.customer.agreement)
    return {
        "p": present(org, notice.change, lang, notice=notice, terms=terms),
        "change_words": labels(lang),
    }
