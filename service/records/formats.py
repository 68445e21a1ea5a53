"""Renderings: the record as CSV and XLSX, the privacy-policy section as text and Markdown.

Spreadsheets get the same guard as the public CSV (`public.services.safe_cell`): a cell a
spreadsheet would run as a formula is prefixed with an apostrophe in CSV, and typed as a
plain string in XLSX, where nothing typed as a string is ever evaluated.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font

from service.public.services import safe_cell

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

PROCESSING_COLUMNS = (
    ("id", "Controller ID"),
    ("external_ref", "External reference"),
    ("name", "Controller"),
    ("contacts", "Controller contacts"),
    ("started_on", "Relationship from"),
    ("ended_on", "Relationship until"),
    ("services", "Services used"),
    ("processing_categories", "Categories of processing"),
    ("data_categories", "Categories of personal data"),
    ("data_subject_categories", "Categories of data subjects"),
)
RECIPIENT_COLUMNS = (
    ("name", "Recipient"),
    ("legal_entity", "Legal entity"),
    ("address", "Address"),
    ("country", "Country of establishment"),
    ("role", "Role"),
    ("purpose", "Purpose"),
    ("locations", "Processing locations"),
    ("parent", "Engaged by"),
)
TRANSFER_COLUMNS = (
    ("recipient", "Recipient"),
    ("legal_entity", "Legal entity"),
    ("importer_country", "Importer established in"),
    ("location", "Processing location"),
    ("third_countries", "Third countries"),
    ("mechanism", "Mechanism"),
    ("scc_module", "SCC module"),
    ("safeguard", "Safeguard"),
    ("tia_reference", "Transfer impact assessment"),
)
CONTROLLER_KEY = (("external_ref", "External reference"), ("name", "Controller"))


def locations_cell(entry: dict) -> list[str]:
    return [f"{loc['where']}: {loc['mechanism_label']}" for loc in entry["locations"]]


def transfer_summary(transfer: dict) -> str:
    places = ", ".join(transfer["third_countries"])
    text = f"{transfer['recipient']} -> {places}: {transfer['mechanism']}"
    return f"{text} ({transfer['safeguard']})" if transfer["safeguard"] else text


def _recipient_row(entry: dict) -> dict:
    parent = entry["parent"]
    return {
        **entry,
        "locations": locations_cell(entry),
        "parent": parent["name"] if parent else None,
    }


# --- CSV ------------------------------------------------------------------------------------


def record_csv(record: dict) -> bytes:
    """One row per controller: the processing, its recipients and its transfers."""
    columns = (
        *PROCESSING_COLUMNS,
        ("recipients", "Recipients"),
        ("transfers", "Transfers outside the EEA"),
    )
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(["processor", "as_of", *(key for key, _ in columns)])
    for controller in record["controllers"]:
        row = {
            **controller,
            "recipients": [r["name"] for r in controller["recipients"]],
            "transfers": [transfer_summary(t) for t in controller["transfers"]],
        }
        writer.writerow(
            [
                safe_cell(record["processor"]["name"]),
                safe_cell(record["as_of"]),
                *(safe_cell(row[key]) for key, _ in columns),
            ]
        )
    return out.getvalue().encode()


# --- XLSX -----------------------------------------------------------------------------------


def _xlsx_value(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        value = "\n".join(str(v) for v in value)
    elif isinstance(value, date | datetime):
        value = value.isoformat()
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def _sheet(book: Workbook, title: str, header: list[str], rows: list[list[object]]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in rows:
        sheet.append([None] * len(values))
        for cell, value in zip(sheet[sheet.max_row], values, strict=True):
            cell.value = _xlsx_value(value)
            if isinstance(cell.value, str):
                # openpyxl takes a string starting with "=" for a formula; a string it stays.
                cell.data_type = "s"
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    for column in sheet.columns:
        longest = max(len(line) for c in column for line in str(c.value or "").split("\n"))
        sheet.column_dimensions[column[0].column_letter].width = min(max(longest, 10), 60) + 2


def record_xlsx(record: dict) -> bytes:
    """The record as a workbook: Processor, Processing, Subprocessors, Transfers, Security."""
    book = Workbook()
    book.remove(book.active)
    proc = record["processor"]
    _sheet(
        book,
        "Processor",
        ["Field", "Value"],
        [
            ["Name", proc["name"]],
            ["Address", proc["address"]],
            ["Country", proc["country"]],
            ["Contact e-mail", proc["contact_email"]],
            ["Legal contact e-mail", proc["legal_contact_email"]],
            ["DPO name", proc["dpo"]["name"]],
            ["DPO e-mail", proc["dpo"]["email"]],
            ["Representative name", proc["representative"]["name"]],
            ["Representative e-mail", proc["representative"]["email"]],
            ["As of", record["as_of"]],
            ["Audit digest", (record.get("audit_digest") or {}).get("digest")],
        ],
    )
    controllers = record["controllers"]
    _sheet(
        book,
        "Processing",
        [label for _, label in PROCESSING_COLUMNS],
        [[c[key] for key, _ in PROCESSING_COLUMNS] for c in controllers],
    )
    _sheet(
        book,
        "Subprocessors",
        [label for _, label in CONTROLLER_KEY + RECIPIENT_COLUMNS],
        [
            [c[key] for key, _ in CONTROLLER_KEY]
            + [_recipient_row(r)[key] for key, _ in RECIPIENT_COLUMNS]
            for c in controllers
            for r in c["recipients"]
        ],
    )
    _sheet(
        book,
        "Transfers",
        [label for _, label in CONTROLLER_KEY + TRANSFER_COLUMNS],
        [
            [c[key] for key, _ in CONTROLLER_KEY] + [t[key] for key, _ in TRANSFER_COLUMNS]
            for c in controllers
            for t in c["transfers"]
        ],
    )
    measures = [line for line in record["security_measures"].splitlines() if line.strip()]
    _sheet(
        book,
        "Security",
        ["Technical and organisational security measures (Art. 32(1) GDPR)"],
        [[line] for line in measures],
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the privacy-policy section -------------------------------------------------------------

# Every ASCII punctuation character may be backslash-escaped in CommonMark; these are the
# ones that start emphasis, code, a link, raw HTML or an entity inside a line (each value
# is kept on one line after a list marker, so line-start markup cannot occur).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>~&|])")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def markdown_escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _one_line(text))


def _entry_lines(entry: dict, t: dict, escape) -> list[str]:
    lines = [
        f"{escape(entry['name'])} ({escape(entry['legal_entity'])}, {t['established']} "
        f"{escape(entry['country_label'])}), {escape(entry['role_label'])}: "
        f"{t['purpose']}: {escape(entry['purpose'])}"
    ]
    lines += [
        t["transfer"].format(where=escape(x["where"]), safeguard=escape(x["safeguard"]))
        for x in entry["transfers"]
    ]
    return lines


def policy_text(section: dict, *, markdown: bool = False) -> str:
    """The section as plain text, or as Markdown with everything from the register escaped."""
    t = section["t"]
    escape = markdown_escape if markdown else _one_line
    out = [f"## {t['policy_heading']}" if markdown else t["policy_heading"], ""]
    for group in section["groups"]:
        out += [f"### {group['heading']}" if markdown else group["heading"], "", group["intro"], ""]
        for entry in group["items"]:
            first, *rest = _entry_lines(entry, t, escape)
            out.append(f"- {first}")
            out += [f"  - {line}" if markdown else f"  {line}" for line in rest]
        out.append("")
    out += [section["transfers_note"], "", t["policy_as_of"].format(day=section["as_of"])]
    return "\n".join(out) + "\n"
