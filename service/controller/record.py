"""The organization's record of processing activities as controller (GDPR Art. 30(1)).

Beside the processor's record (Art. 30(2), `service.records.services.record`), derived from
the register on a date and stored nowhere: the controller's name and contact details (a),
and per processing activity in use on that date its purposes and legal bases (b), the
categories of data subjects and of personal data (c), the recipients (d), the transfers to
third countries (e), the time limit for erasure (f) and the security measures (g).

A transfer's safeguard is stated only as `rules.transfer_status` finds it on the date
(`public.services.place` with `public=True`): a valid one named precisely, anything else
"under review", never the mechanism that was merely recorded.
"""

from __future__ import annotations

import re
from datetime import date

from service import i18n
from service.compliance import rules
from service.controller import facts, retention
from service.controller.models import ControllerRecipient, ProcessingActivity
from service.controller.texts import TEXTS
from service.organizations.models import Organization
from service.public.services import place
from service.records.services import processor, third_countries

# "6(1)(b)": article 6, paragraph 1, point (b), as models.LEGAL_BASES spells them.
CODE = re.compile(r"^(\d+)\((\d+)\)\(([a-z])\)$")
ART9 = "9"


def legal_basis(code: str, lang: str) -> dict:
    """A legal basis cited and explained: 'art. 6 ust. 1 lit. b RODO (wykonanie umowy ...)'."""
    t = TEXTS[lang]
    article, paragraph, letter = CODE.match(code).groups()
    cited = t["article"].format(article=article, paragraph=paragraph, letter=letter)
    return {
        "code": code,
        "article": cited,
        "label": f"{cited} ({t['legal_bases'][code]})",
    }


def _in_use(recipient: ControllerRecipient, day: date) -> bool:
    started = recipient.used_from is None or recipient.used_from <= day
    return started and (recipient.used_until is None or recipient.used_until > day)


def statuses(recipient: ControllerRecipient, day: date) -> list[rules.TransferStatus]:
    """Each place the recipient processes the data, with its transfer status on `day`. With
    no place recorded, its establishment is where the data goes: a recipient established
    outside the EEA is then a transfer with no safeguard, never "no transfer"."""
    if recipient.locations:
        return facts.statuses(recipient, day)
    established = facts.location_of({"country": recipient.country, "mechanism": "none"})
    return [rules.transfer_status(facts.vendor_facts(recipient), established, day)]


def _transfer(recipient: ControllerRecipient, status: rules.TransferStatus, day, lang) -> dict:
    shown = place(status, day, lang, public=True)
    return {
        "recipient_id": recipient.id,
        "recipient": recipient.name,
        "legal_entity": recipient.legal_entity,
        "where": shown.where,
        "third_countries": third_countries(status, lang),
        "status": shown.public_state,
        "status_label": TEXTS[lang]["statuses"][shown.public_state],
        "safeguard": shown.mechanism,
        "dpf": shown.dpf,
    }


def joint_arrangement(recipient: ControllerRecipient, lang: str) -> dict | None:
    """The Art. 26 arrangement with a joint controller: its date, reference and essence
    (which Art. 26(2) makes available to the data subject)."""
    if recipient.role != "joint_controller":
        return None
    signed = recipient.joint_arrangement_on
    return {
        "on": signed,
        "on_text": i18n.day(signed, lang) if signed else "",
        "reference": recipient.joint_arrangement_reference,
        "essence": i18n.text_in(
            lang,
            pl=recipient.joint_arrangement_essence_pl,
            en=recipient.joint_arrangement_essence_en,
        ),
    }


def recipient_entry(recipient: ControllerRecipient, day: date, lang: str) -> dict:
    """One recipient of the organization's own data (Art. 30(1)(d), 13(1)(e))."""
    found = statuses(recipient, day)
    return {
        "id": recipient.id,
        "name": recipient.name,
        "legal_entity": recipient.legal_entity,
        "address": recipient.address,
        "country": recipient.country,
        "country_label": i18n.country_label(recipient.country, lang),
        "website": recipient.website,
        "role": recipient.role,
        "role_label": TEXTS[lang]["roles"][recipient.role],
        "purpose": i18n.text_in(lang, pl=recipient.purpose_pl, en=recipient.purpose_en),
        "data_categories": i18n.list_in(
            lang, pl=recipient.data_categories_pl, en=recipient.data_categories_en
        ),
        "joint_arrangement": joint_arrangement(recipient, lang),
        "locations": [
            {
                "where": shown.where,
                "activity": shown.activity,
                "status": shown.public_state,
                "safeguard": shown.mechanism,
            }
            for shown in (place(s, day, lang, public=True) for s in found)
        ],
        "transfers": [
            _transfer(recipient, s, day, lang) for s in found if s.state != rules.NO_TRANSFER
        ],
        "locations_recorded": bool(recipient.locations),
    }


def retention_entry(activity: ProcessingActivity, lang: str) -> dict:
    return {
        "set": retention.has_rule(activity),
        "years": activity.retention_years,
        "extra_years": activity.retention_extra_years,
        "from": activity.retention_from,
        "text": retention.rule_text(activity, lang),
    }


def activity_entry(
    org: Organization, activity: ProcessingActivity, day: date, lang: str, memo: dict
) -> dict:
    """One processing activity as the record states it; `memo` keeps each recipient's entry
    across the activities of one record (a vendor serves several)."""
    recipients = []
    for recipient in activity.recipients:
        if _in_use(recipient, day):
            if recipient.id not in memo:
                memo[recipient.id] = recipient_entry(recipient, day, lang)
            recipients.append(memo[recipient.id])
    bases = [legal_basis(code, lang) for code in activity.legal_bases or ()]
    special = TEXTS[lang]["special_categories"]
    own_measures = i18n.text_in(
        lang, pl=activity.security_measures_pl, en=activity.security_measures_en
    )
    return {
        "id": activity.id,
        "key": activity.key,
        "name": i18n.text_in(lang, pl=activity.name_pl, en=activity.name_en),
        "purposes": i18n.list_in(lang, pl=activity.purposes_pl, en=activity.purposes_en),
        "legal_bases": [b for b in bases if not b["code"].startswith(ART9)],
        "legitimate_interests": i18n.text_in(
            lang, pl=activity.legitimate_interests_pl, en=activity.legitimate_interests_en
        ),
        "data_subjects": i18n.list_in(
            lang, pl=activity.data_subjects_pl, en=activity.data_subjects_en
        ),
        "data_categories": i18n.list_in(
            lang, pl=activity.data_categories_pl, en=activity.data_categories_en
        ),
        "special_categories": [
            {"code": code, "label": special.get(code, code)}
            for code in activity.special_categories or ()
        ],
        # Art. 9(2): the condition that lifts the prohibition for special categories.
        "special_category_conditions": [b for b in bases if b["code"].startswith(ART9)],
        "recipients": recipients,
        "transfers": [t for r in recipients for t in r["transfers"]],
        "retention": retention_entry(activity, lang),
        "security_measures": own_measures or org.security_measures,
        "security_measures_own": bool(own_measures),
        "started_on": activity.started_on,
        "ended_on": activity.ended_on,
    }


def record(org: Organization, day: date, lang: str = "en") -> dict:
    """The record of processing activities the organization keeps as controller."""
    memo: dict = {}
    activities = [activity_entry(org, a, day, lang, memo) for a in facts.activities_on(org, day)]
    return {
        "title": TEXTS[lang]["record_title"],
        "as_of": day,
        "as_of_text": i18n.day(day, lang),
        "lang": lang,
        "controller": processor(org, lang),
        "security_measures": org.security_measures,
        "activities": activities,
        "total": len(activities),
    }
