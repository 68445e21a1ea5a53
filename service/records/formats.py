"""Renderings: the record as CSV and XLSX, the privacy-policy section as text and Markdown.

Spreadsheets get the same guard as the public CSV (`public.services.safe_cell`): a cell a
spreadsheet would run as a formula is prefixed with an apostrophe in CSV, and typed as a
plain string in XLSX, where nothing typed as a string is ever evaluated.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
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
    ("address", "Controller address"),
    ("country", "Controller country"),
    ("dpo", "Controller's DPO"),
    ("representative", "Controller's representative"),
    ("special_categories", "Special categories (Art. 9)"),
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
    ("mechanism", "Mechanism recorded"),
    ("scc_set", "SCC set"),
    ("scc_module", "SCC module"),
    ("scc_signed_on", "SCC signed on"),
    ("status", "Compliance status"),
    ("safeguard", "Safeguard"),
    ("findings", "Compliance findings"),
    ("tia", "Transfer impact assessment"),
    ("tia_reference", "Transfer impact assessment reference"),
    ("risk_note", "Risk note"),
)
CONTROLLER_KEY = (("external_ref", "External reference"), ("name", "Controller"))
# One style object for every text cell: building one per cell cost a build of the record
# as XLSX nearly half its time.
WRAPPED = Alignment(wrap_text=True, vertical="top")


def locations_cell(entry: dict) -> list[str]:
    return [f"{loc['where']}: {loc['mechanism_label']}" for loc in entry["locations"]]


def transfer_summary(transfer: dict) -> str:
    """One transfer in a cell: importer, places, status and the safeguard as documented."""
    places = ", ".join(transfer["third_countries"])
    return f"{transfer['recipient']} -> {places}: [{transfer['status']}] {transfer['safeguard']}"


def party(contact: dict) -> str:
    return ", ".join(v for v in (contact.get("name"), contact.get("email")) if v)


def tia_cell(tia: dict | None) -> str:
    if not tia:
        return ""
    measures = "; ".join(f"{m['kind']}: {m['description']}" for m in tia["supplementary_measures"])
    text = f"{tia['assessed_on']}: {tia['outcome']}"
    text += f" ({measures})" if measures else ""
    return text + (f", review {tia['review_on']}" if tia.get("review_on") else "")


def _controller_row(controller: dict) -> dict:
    return {
        **controller,
        "dpo": party(controller["dpo"]),
        "representative": party(controller["representative"]),
    }


def _transfer_row(transfer: dict) -> dict:
    return {**transfer, "tia": tia_cell(transfer["tia"])}


def _recipient_row(entry: dict) -> dict:
    parent = entry["parent"]
    return {
        **entry,
        "locations": locations_cell(entry),
        "parent": parent["name"] if parent else None,
    }


# --- CSV ------------------------------------------------------------------------------------


CSV_COLUMNS = (
    *PROCESSING_COLUMNS,
    ("recipients", "Recipients"),
    ("transfers", "Transfers outside the EEA"),
)
CSV_HEAD = ["processor", "processor_address", "processor_dpo", "processor_representative"]


def csv_header() -> list[str]:
    return [*CSV_HEAD, "as_of", *(key for key, _ in CSV_COLUMNS), "security_measures"]


def csv_cells(record: dict, controller: dict) -> list[object]:
    """One controller's row; `record` needs everything but the controllers."""
    proc = record["processor"]
    row = {
        **_controller_row(controller),
        "recipients": [r["name"] for r in controller["recipients"]],
        "transfers": [transfer_summary(t) for t in controller["transfers"]],
    }
    return [
        safe_cell(proc["name"]),
        safe_cell(f"{proc['address']}, {proc['country']}"),
        safe_cell(party(proc["dpo"])),
        safe_cell(party(proc["representative"])),
        safe_cell(record["as_of"]),
        *(safe_cell(row[key]) for key, _ in CSV_COLUMNS),
        safe_cell(record["security_measures"]),
    ]


def csv_writer(out) -> csv.writer:
    return csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")


def record_csv(record: dict) -> bytes:
    """One row per controller, complete on its own: the processor (name, address, DPO,
    representative), the controller and its processing, recipients, transfers with their
    safeguard and status, and the processor's security measures (Art. 30(2)(a)-(d))."""
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(csv_header())
    for controller in record["controllers"]:
        writer.writerow(csv_cells(record, controller))
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
                cell.alignment = WRAPPED
    sheet.freeze_panes = "A2"
    for column in sheet.columns:
        longest = max(len(line) for c in column for line in str(c.value or "").split("\n"))
        sheet.column_dimensions[column[0].column_letter].width = min(max(longest, 10), 60) + 2


def processor_rows(record: dict) -> list[list[object]]:
    proc = record["processor"]
    return [
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
    ]


def security_rows(record: dict) -> list[list[object]]:
    return [[line] for line in record["security_measures"].splitlines() if line.strip()]


def processing_rows(controller: dict) -> list[list[object]]:
    row = _controller_row(controller)
    return [[row[key] for key, _ in PROCESSING_COLUMNS]]


def subprocessor_rows(controller: dict) -> list[list[object]]:
    key = [controller[k] for k, _ in CONTROLLER_KEY]
    return [
        key + [_recipient_row(r)[k] for k, _ in RECIPIENT_COLUMNS] for r in controller["recipients"]
    ]


def transfer_rows(controller: dict) -> list[list[object]]:
    key = [controller[k] for k, _ in CONTROLLER_KEY]
    return [
        key + [_transfer_row(t)[k] for k, _ in TRANSFER_COLUMNS] for t in controller["transfers"]
    ]


# The workbook's sheets: title, header, rows of the whole record, rows of one controller.
SHEETS = (
    ("Processor", ["Field", "Value"], processor_rows, None),
    ("Processing", [label for _, label in PROCESSING_COLUMNS], None, processing_rows),
    (
        "Subprocessors",
        [label for _, label in CONTROLLER_KEY + RECIPIENT_COLUMNS],
        None,
        subprocessor_rows,
    ),
    (
        "Transfers",
        [label for _, label in CONTROLLER_KEY + TRANSFER_COLUMNS],
        None,
        transfer_rows,
    ),
    (
        "Security",
        ["Technical and organisational security measures (Art. 32(1) GDPR)"],
        security_rows,
        None,
    ),
)


def workbook(sheets: Iterable[tuple[str, list[str], list[list[object]]]]) -> bytes:
    """A workbook of (title, header, rows) sheets, every text cell typed as a string."""
    book = Workbook()
    book.remove(book.active)
    for title, header, rows in sheets:
        _sheet(book, title, header, rows)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def record_xlsx(record: dict) -> bytes:
    """The record as a workbook: Processor, Processing, Subprocessors, Transfers, Security."""
    return workbook(
        (
            title,
            header,
            of_record(record)
            if of_record is not None
            else [row for c in record["controllers"] for row in of_controller(c)],
        )
        for title, header, of_record, of_controller in SHEETS
    )


# --- the privacy-policy section -------------------------------------------------------------

# Every ASCII punctuation character may be backslash-escaped in CommonMark; these are the
# ones that start emphasis, code, a link, raw HTML, an entity or a heading's closing
# sequence inside a line. Each value is kept on one line, but it may open a list item or a
# heading, where "1. ", "# ", "> " or "- " would start a block of its own: `_BLOCK_START`.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>~&|#])")
_BLOCK_START = re.compile(r"^(?:(\d{1,9})([.)])|([>+=-]))")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _block_safe(found: re.Match) -> str:
    digits, closer, marker = found.groups()
    return f"{digits}\\{closer}" if digits else f"\\{marker}"


def markdown_escape(text: str) -> str:
    line = _MARKDOWN_SPECIAL.sub(r"\\\1", _one_line(text))
    return _BLOCK_START.sub(_block_safe, line)


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
    if section["transfers_note"]:
        out += [section["transfers_note"], ""]
    if section["risk_note"]:
        out += [section["risk_note"], ""]
    out.append(t["policy_as_of"].format(day=section["as_of_text"]))
    return "\n".join(out) + "\n"
