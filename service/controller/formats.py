"""Renderings of the organization's outputs as controller: the Art. 30(1) record as CSV and
XLSX, the privacy policy as Markdown (its HTML is a template, escaped by Jinja).

Every heading and label is in the output's language, every code is said in words. The
spreadsheets have the guard of the other record (`records.formats`): a CSV cell a spreadsheet
would run as a formula is prefixed with an apostrophe, an XLSX text cell is typed a string.
Markdown escapes everything that came from the register (`records.formats.markdown_escape`).
"""

from __future__ import annotations

import io

from service.controller.texts import TEXTS
from service.public.services import safe_cell
from service.records.formats import csv_writer, markdown_escape, party, workbook
from service.records.texts import TEXTS as RECORD_TEXTS

# --- the record's cells -----------------------------------------------------------------------


def recipient_cell(entry: dict, t: dict) -> str:
    """'Google Analytics (Google Ireland Limited, siedziba Irlandia (IE)), współadministrator:
    cel: ...'."""
    where = f"{entry['legal_entity']}, {t['established']} {entry['country_label']}"
    text = f"{entry['name']} ({where}), {entry['role_label']}"
    return f"{text}: {t['purpose']}: {entry['purpose']}" if entry["purpose"] else text


def joint_cell(entry: dict, t: dict) -> str:
    arrangement = entry["joint_arrangement"]
    parts = [entry["name"]]
    if arrangement["on_text"]:
        parts.append(t["joint_arrangement"].format(day=arrangement["on_text"]))
    if arrangement["reference"]:
        parts.append(arrangement["reference"])
    head = ", ".join(parts)
    return f"{head}: {arrangement['essence']}" if arrangement["essence"] else head


def transfer_cell(transfer: dict, t: dict) -> str:
    return t["transfer"].format(
        recipient=transfer["recipient"],
        where=", ".join(transfer["third_countries"]),
        safeguard=transfer["safeguard"],
    )


def activity_cells(activity: dict, lang: str) -> dict[str, object]:
    """One activity's Art. 30(1)(b)-(g) cells, keyed as `TEXTS[lang]['columns']`."""
    t = TEXTS[lang]
    return {
        "activity": activity["name"],
        "key": activity["key"],
        "purposes": activity["purposes"],
        "legal_bases": [b["label"] for b in activity["legal_bases"]],
        "legitimate_interests": activity["legitimate_interests"],
        "data_subjects": activity["data_subjects"],
        "data_categories": activity["data_categories"],
        "special_categories": [c["label"] for c in activity["special_categories"]]
        + [b["label"] for b in activity["special_category_conditions"]],
        "recipients": [recipient_cell(r, t) for r in activity["recipients"]],
        "joint": [joint_cell(r, t) for r in activity["recipients"] if r["joint_arrangement"]],
        "transfers": [transfer_cell(x, t) for x in activity["transfers"]],
        "retention": activity["retention"]["text"],
        "security_measures": activity["security_measures"],
    }


ACTIVITY_COLUMNS = (
    "activity",
    "key",
    "purposes",
    "legal_bases",
    "legitimate_interests",
    "data_subjects",
    "data_categories",
    "special_categories",
    "recipients",
    "joint",
    "transfers",
    "retention",
    "security_measures",
)
CONTROLLER_COLUMNS = ("controller", "address", "contact", "dpo", "representative", "as_of")


def controller_cells(record: dict) -> dict[str, object]:
    controller = record["controller"]
    return {
        "controller": controller["name"],
        "address": ", ".join(v for v in (controller["address"], controller["country_label"]) if v),
        "contact": ", ".join(
            v for v in (controller["contact_email"], controller["legal_contact_email"]) if v
        ),
        "dpo": party(controller["dpo"]),
        "representative": party(controller["representative"]),
        "as_of": record["as_of_text"],
    }


# --- CSV --------------------------------------------------------------------------------------


def record_csv(record: dict) -> bytes:
    """One row per processing activity, complete on its own: the controller's name and
    contact details, then the activity's Art. 30(1)(b)-(g) entries, all in words."""
    columns = TEXTS[record["lang"]]["columns"]
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow([columns[key] for key in CONTROLLER_COLUMNS + ACTIVITY_COLUMNS])
    head = controller_cells(record)
    for activity in record["activities"]:
        cells = {**head, **activity_cells(activity, record["lang"])}
        writer.writerow([safe_cell(cells[key]) for key in CONTROLLER_COLUMNS + ACTIVITY_COLUMNS])
    return out.getvalue().encode()


# --- XLSX -------------------------------------------------------------------------------------

RECIPIENT_COLUMNS = (
    "activity",
    "recipient",
    "legal_entity",
    "address",
    "country",
    "role",
    "purpose",
    "data_categories",
    "arrangement_on",
    "arrangement_reference",
    "essence",
)
TRANSFER_COLUMNS = (
    "activity",
    "recipient",
    "legal_entity",
    "location",
    "third_countries",
    "status",
    "safeguard",
)


def _recipient_row(activity: dict, entry: dict) -> list[object]:
    arrangement = entry["joint_arrangement"] or {}
    return [
        activity["name"],
        entry["name"],
        entry["legal_entity"],
        entry["address"],
        entry["country_label"],
        entry["role_label"],
        entry["purpose"],
        entry["data_categories"],
        arrangement.get("on_text"),
        arrangement.get("reference"),
        arrangement.get("essence"),
    ]


def _transfer_row(activity: dict, transfer: dict) -> list[object]:
    return [
        activity["name"],
        transfer["recipient"],
        transfer["legal_entity"],
        transfer["where"],
        transfer["third_countries"],
        transfer["status_label"],
        transfer["safeguard"],
    ]


def record_xlsx(record: dict) -> bytes:
    """The record as a workbook: the controller, its activities (one row each, as the CSV),
    their recipients and their transfers to third countries."""
    lang = record["lang"]
    t = TEXTS[lang]
    columns, sheets = t["columns"], t["sheets"]
    head = controller_cells(record)
    activities = record["activities"]
    return workbook(
        [
            (
                sheets["controller"],
                [t["columns"]["controller"], ""],
                [[columns[key], head[key]] for key in CONTROLLER_COLUMNS]
                + [[columns["security_measures"], record["security_measures"]]],
            ),
            (
                sheets["activities"],
                [columns[key] for key in ACTIVITY_COLUMNS],
                [
                    [cells[key] for key in ACTIVITY_COLUMNS]
                    for cells in (activity_cells(a, lang) for a in activities)
                ],
            ),
            (
                sheets["recipients"],
                [columns[key] for key in RECIPIENT_COLUMNS],
                [_recipient_row(a, r) for a in activities for r in a["recipients"]],
            ),
            (
                sheets["transfers"],
                [columns[key] for key in TRANSFER_COLUMNS],
                [_transfer_row(a, x) for a in activities for x in a["transfers"]],
            ),
        ]
    )


# --- the privacy policy as Markdown -----------------------------------------------------------


def _label(label: str, value: str) -> str:
    return f"- **{label}:** {markdown_escape(value)}"


def _list(label: str, values: list[str]) -> list[str]:
    if not values:
        return []
    return [f"- **{label}:**", *(f"  - {markdown_escape(v)}" for v in values)]


def _entrusted_lines(part: dict, t: dict, lang: str) -> list[str]:
    outside = RECORD_TEXTS[lang]["transfer"]
    out = [f"## {part['heading']}", "", part["intro"], ""]
    for group in part["groups"]:
        out += [f"### {group['heading']}", ""]
        for item in group["items"]:
            out.append(f"- {markdown_escape(recipient_cell(item, t))}")
            out += [f"  - {markdown_escape(outside.format(**x))}" for x in item["transfers"]]
        out.append("")
    return out + _closing(part)


def _closing(part: dict) -> list[str]:
    notes = (part["transfers_note"], part["risk_note"])
    return [line for note in notes if note for line in (note, "")]


def contact_line(controller: dict) -> str:
    email = controller["legal_contact_email"] or controller["contact_email"]
    return ", ".join(v for v in (controller["name"], controller["address"], email) if v)


def _activity_lines(activity: dict, t: dict) -> list[str]:
    out = [f"### {markdown_escape(activity['name'])}", ""]
    out += _list(t["purposes"], activity["purposes"])
    bases = activity["legal_bases"] + activity["special_category_conditions"]
    out += _list(t["legal_bases_label"], bases)
    if activity["legitimate_interests"]:
        out.append(_label(t["legitimate_interests"], activity["legitimate_interests"]))
    out += _list(t["data_categories"], activity["data_categories"])
    out += _list(t["special_categories_label"], activity["special_categories"])
    out += _list(t["recipients"], recipient_lines(activity, t))
    out += _list(t["transfers"], transfer_lines(activity, t))
    out.append(_label(t["retention"], activity["retention"]))
    out += _list(t["joint"], joint_lines(activity, t))
    return [*out, ""]


def recipient_lines(activity: dict, t: dict) -> list[str]:
    """A policy activity's recipients (Art. 13(1)(e)), one line each."""
    return [recipient_cell(r, t) for r in activity["recipients"]]


def transfer_lines(activity: dict, t: dict) -> list[str]:
    """A policy activity's transfers (Art. 13(1)(f)): recipient, third countries, safeguard."""
    return [t["transfer"].format(**x) for x in activity["transfers"]]


def joint_lines(activity: dict, t: dict) -> list[str]:
    """What Art. 26(2) makes available: each arrangement's essence, or that it is due."""
    return [
        t["joint_essence"].format(recipient=j["recipient"], essence=j["essence"])
        if j["essence"]
        else t["joint_missing"].format(recipient=j["recipient"])
        for j in activity["joint_controllers"]
    ]


def _own_lines(part: dict, t: dict) -> list[str]:
    controller = part["controller"]
    out = [f"## {part['heading']}", "", markdown_escape(part["intro"]), ""]
    out.append(_label(t["contact"], contact_line(controller)))
    if any(controller["dpo"].values()):
        out.append(_label(t["dpo"], party(controller["dpo"])))
    out.append("")
    for activity in part["activities"]:
        out += _activity_lines(activity, t)
    return out + _closing(part)


def policy_markdown(policy: dict) -> str:
    """Both parts of the privacy policy as Markdown to paste into a document."""
    t = TEXTS[policy["lang"]]
    out = [f"# {policy['title']}", ""]
    if policy["entrusted"]:
        out += _entrusted_lines(policy["entrusted"], t, policy["lang"])
    if policy["own"]:
        out += _own_lines(policy["own"], t)
    if not (policy["entrusted"] or policy["own"]):
        out += [t["no_activities"], ""]
    out.append(t["as_of"].format(day=policy["as_of_text"]))
    return "\n".join(out) + "\n"


def html_helpers(lang: str) -> dict:
    """What the policy's HTML template (records/privacy_policy.html) writes its lines with."""
    return {
        "t": TEXTS[lang],
        "cell": recipient_cell,
        "outside": RECORD_TEXTS[lang]["transfer"],
        "contact": contact_line,
        "party": party,
        "recipient_lines": recipient_lines,
        "transfer_lines": transfer_lines,
        "joint_lines": joint_lines,
    }
