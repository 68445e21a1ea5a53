"""The privacy policy's sections on personal data, for both of the organization's hats.

Two parts, kept apart as a processor's policy must keep them:

- "Data entrusted to us for processing": the organization as processor of its customers'
  data (Art. 28). Its customers are the controllers of that data; the part lists the
  sub-processors and controller recipients of the customers'-data register
  (`records.services.policy_section`). Present only when that register lists anyone.
- "Our own processing": the organization as controller (Art. 13): per processing activity
  its purposes and legal bases (13(1)(c)), legitimate interests (13(1)(d)), recipients
  (13(1)(e)), transfers to third countries with their safeguard (13(1)(f)), the storage
  period (13(2)(a)) and the essence of each joint controllers' arrangement (26(2)).

Each part states "no transfers outside the EEA" only when every recipient in it has its
places recorded and none of them is a transfer on the date: the statement is derived, never
taken from the organization's residency policy (a promise the recipients may break).
"""

from __future__ import annotations

from datetime import date

from service import i18n
from service.compliance import wording
from service.controller import record as controller_record
from service.controller.texts import TEXTS
from service.organizations.models import Organization
from service.records import services as records

# The headings of the customers'-data groups (`policy_section`'s keys) in this policy.
ENTRUSTED_GROUPS = {
    "processors": "subprocessors_heading",
    "controllers": "entrusted_controllers_heading",
}


def _transfers_note(t: dict, any_transfer: bool, all_recorded: bool, key: str) -> str:
    """The part's closing sentence on transfers: said only where it is known to be true."""
    if any_transfer:
        return t[f"{key}_transfers"]
    return t[f"{key}_no_transfers"] if all_recorded else ""


def entrusted_part(org: Organization, day: date, lang: str) -> dict | None:
    """The processor hat: the recipients of the customers' data, or None without any."""
    section = records.policy_section(org, day, lang)
    if not section["groups"]:
        return None
    t = TEXTS[lang]
    items = [item for group in section["groups"] for item in group["items"]]
    return {
        "heading": t["entrusted_heading"],
        "intro": t["entrusted_intro"],
        "groups": [
            {
                "key": group["key"],
                "heading": t[ENTRUSTED_GROUPS[group["key"]]],
                "items": [_entrusted_item(item) for item in group["items"]],
            }
            for group in section["groups"]
        ],
        "transfers_note": _transfers_note(
            t,
            any(item["transfers"] for item in items),
            all(item["locations"] for item in items),
            "entrusted",
        ),
        "risk_note": section["risk_note"],
    }


def _entrusted_item(entry: dict) -> dict:
    return {
        key: entry[key]
        for key in ("name", "legal_entity", "country_label", "role_label", "purpose", "transfers")
    }


def _own_recipient(entry: dict) -> dict:
    return {
        key: entry[key]
        for key in ("name", "legal_entity", "country_label", "role", "role_label", "purpose")
    }


def _own_activity(entry: dict) -> dict:
    """What Art. 13 and 26(2) have the data subject told of one activity."""
    joint = [r for r in entry["recipients"] if r["joint_arrangement"] is not None]
    return {
        "key": entry["key"],
        "name": entry["name"],
        "purposes": entry["purposes"],
        "legal_bases": [b["label"] for b in entry["legal_bases"]],
        "special_category_conditions": [b["label"] for b in entry["special_category_conditions"]],
        "legitimate_interests": entry["legitimate_interests"],
        "data_categories": entry["data_categories"],
        "special_categories": [c["label"] for c in entry["special_categories"]],
        "recipients": [_own_recipient(r) for r in entry["recipients"]],
        "transfers": [
            {
                "recipient": x["recipient"],
                "where": ", ".join(x["third_countries"]),
                "safeguard": x["safeguard"],
            }
            for x in entry["transfers"]
        ],
        "retention": entry["retention"]["text"],
        "joint_controllers": [
            {
                "recipient": r["name"],
                "legal_entity": r["legal_entity"],
                "arrangement_on": r["joint_arrangement"]["on_text"],
                "essence": r["joint_arrangement"]["essence"],
            }
            for r in joint
        ],
    }


def own_part(org: Organization, day: date, lang: str) -> dict | None:
    """The controller hat: the organization's own processing activities, or None without any."""
    entries = controller_record.record(org, day, lang)["activities"]
    if not entries:
        return None
    t = TEXTS[lang]
    recipients = [r for e in entries for r in e["recipients"]]
    transfers = [x for e in entries for x in e["transfers"]]
    return {
        "heading": t["own_heading"],
        "intro": t["own_intro"].format(org=org.legal_name),
        "controller": records.processor(org, lang),
        "activities": [_own_activity(e) for e in entries],
        "transfers_note": _transfers_note(
            t,
            bool(transfers),
            all(r["locations_recorded"] for r in recipients),
            "own",
        ),
        "risk_note": wording.risk_note(lang) if any(x["dpf"] for x in transfers) else "",
    }


def privacy_policy(org: Organization, day: date, lang: str) -> dict:
    """Both parts of the privacy policy as of `day`, in `lang`."""
    t = TEXTS[lang]
    return {
        "title": t["policy_title"],
        "org": org.legal_name,
        "as_of": day,
        "as_of_text": i18n.day(day, lang),
        "lang": lang,
        "entrusted": entrusted_part(org, day, lang),
        "own": own_part(org, day, lang),
    }
