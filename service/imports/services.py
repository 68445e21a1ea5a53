"""Bulk import of an existing vendor list and customer list: every row checked, all or nothing.

Rows are read from a stream (CSV, a JSON array, or JSON Lines) and handled in chunks, so a
file of 100,000 customers never sits in memory, nor do its ORM objects. Writing stops at the
first invalid row, checking goes on to the end so that every error is reported, and the
caller rolls back when `ImportRejected` is raised: an import is one transaction.
"""

from __future__ import annotations

import codecs
import csv
import io
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import partial
from itertools import islice
from typing import IO

import ijson
from marshmallow import Schema, ValidationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import selectinload

from service import clock
from service.agreements.models import AgreementVersion
from service.audit import services as audit
from service.customers import services as customers
from service.customers.models import Customer
from service.errors import DomainError, ValidationFailed
from service.extensions import db
from service.imports import spreadsheet
from service.imports.schemas import (
    CUSTOMER_COLUMNS,
    CUSTOMER_CONTACT_COLUMNS,
    CUSTOMER_CONTROLLER_COLUMNS,
    CUSTOMER_REQUIRED_COLUMNS,
    CUSTOMER_TERM_COLUMNS,
    VENDOR_COLUMNS,
    VENDOR_REQUIRED_COLUMNS,
    CustomerImportSchema,
    VendorImportSchema,
)
from service.organizations.models import Organization, Service
from service.recipients import services as recipients
from service.recipients.models import MATERIAL_FIELDS, Recipient
from service.recipients.names import name_key, names_in_use
from service.recipients.services import LOCATION_FIELDS
from service.web import UnreadableJson, check_json_depth, load_json

FORMATS = {"text/csv": "csv", "application/json": "json", "application/x-ndjson": "ndjson"}
READ_BUFFER = 64 * 1024
CSV_COLUMNS = {
    "vendors": (VENDOR_COLUMNS, VENDOR_REQUIRED_COLUMNS),
    "customers": (CUSTOMER_COLUMNS, CUSTOMER_REQUIRED_COLUMNS),
}


class MalformedBody(DomainError):
    status = 400
    slug = "malformed-body"
    title = "The body cannot be read"


class UnsupportedFormat(DomainError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class ImportRejected(ValidationFailed):
    slug = "import-rejected"
    title = "Import refused; nothing was written"


@dataclass
class ImportResult:
    import_id: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def as_dict(self) -> dict:
        return {
            "import_id": self.import_id,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "total": self.total,
        }


# --- reading rows -------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    number: int  # 1-based data row: after the CSV header, the JSON array index + 1
    line: int | None  # CSV and JSON Lines: the line where the row starts
    value: object  # CSV: {column: cell}; JSON: the decoded value
    error: str | None = None  # unreadable as a row: a JSON Lines line that is no JSON, ...
    file: str | None = None  # the file of a multi-file upload the row comes from


class _RawStream(io.RawIOBase):
    """Give any object with `read(n)` (a WSGI input) the interface io.BufferedReader needs."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._stream.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def read_rows(
    stream: IO[bytes],
    fmt: str,
    *,
    kind: str,
    charset: str | None = None,
    columns: tuple[tuple[str, ...], tuple[str, ...]] | None = None,
    header: Callable[[list[str]], list[str]] | None = None,
) -> Iterator[Row]:
    """Rows of a CSV file (with the columns of `kind`, or `columns`: known and required, or
    as `header` reads its header line), a JSON array (for vendors also an object with
    `items`, as our exports write) or JSON Lines."""
    binary = io.BufferedReader(_RawStream(stream), READ_BUFFER)
    if fmt == "csv":
        known, required = columns or CSV_COLUMNS[kind]
        header = header or partial(_header, columns=known, required=required)
        return _csv_rows(binary, header, _encoding(charset))
    if fmt == "json":
        return _json_rows(binary, envelope=kind == "vendors")
    if fmt == "ndjson":
        return _ndjson_rows(binary)
    raise UnsupportedFormat(f"Send {', '.join(sorted(FORMATS))}.")


def _encoding(charset: str | None) -> str:
    if not charset:
        return "utf-8-sig"
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        raise UnsupportedFormat(f"Unknown charset '{charset}'; send UTF-8.") from None
    # A BOM that Excel puts before UTF-8 is no part of the first column's name.
    return "utf-8-sig" if name == "utf-8" else name


def _header(cells: list[str], columns: tuple[str, ...], required: tuple[str, ...]) -> list[str]:
    header = [cell.strip().lower() for cell in cells]
    problems = []
    for index, name in enumerate(header, start=1):
        if not name:
            problems.append(f"Column {index} has no name.")
        elif name not in columns:
            problems.append(f"Unknown column '{name}'.")
        elif header.index(name) != index - 1:
            problems.append(f"Column '{name}' appears twice.")
    problems += [f"Missing column '{name}'." for name in required if name not in header]
    if problems:
        raise ValidationFailed(
            "The CSV header names columns this import does not know, or misses some. "
            f"Columns: {', '.join(columns)}.",
            errors={"columns": problems},
        )
    return header


def _lines(binary: io.BufferedReader, encoding: str) -> Iterator[str]:
    """Decode line by line, so that a byte the charset refuses is blamed on its own line."""
    if encoding != "utf-8-sig" and codecs.encode('\n,"', encoding) != b'\n,"':
        raise UnsupportedFormat(f"The charset {encoding} is not ASCII-compatible; send UTF-8.")
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    number = 0
    try:
        for number, raw in enumerate(binary, start=1):  # noqa: B007 - read in the handler
            yield decoder.decode(raw)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise MalformedBody(
            f"Line {number} is not {encoding.removesuffix('-sig')} text ({exc.reason}); "
            "save the file as UTF-8 or name its charset in the Content-Type."
        ) from None


def _csv_rows(
    binary: io.BufferedReader, read_header: Callable[[list[str]], list[str]], encoding: str
) -> Iterator[Row]:
    reader = csv.reader(_lines(binary, encoding), strict=True)
    number = 0
    try:
        first = next(reader, None)
        if first is None:
            raise ValidationFailed("The body is empty: send a header line and one row per line.")
        header = read_header(first)
        line = reader.line_num + 1
        for cells in reader:
            number += 1
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # a blank line keeps its number, so rows match the spreadsheet's
            value = dict(zip(header, (cell.strip() for cell in cells), strict=False))
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
                yield Row(number, start, value, error="More cells than the header has columns.")
            else:
                yield Row(number, start, value)
    except csv.Error as exc:
        raise MalformedBody(f"Not valid CSV at line {reader.line_num}: {exc}.") from None


def _skip_space(binary: io.BufferedReader) -> bytes:
    """Consume a BOM and leading white space; return the first significant byte, or b""."""
    if binary.peek(3)[:3] == codecs.BOM_UTF8:
        binary.read(3)
    while (byte := binary.peek(1)[:1]) in b" \t\r\n" and byte:
        binary.read(1)
    return byte


def _json_rows(binary: io.BufferedReader, *, envelope: bool) -> Iterator[Row]:
    """A JSON array's items; with `envelope`, also an object's `items` (a list export)."""
    first = _skip_space(binary)
    if not first:
        raise ValidationFailed("The body is empty: send a JSON array with one object per row.")
    if first != b"[" and not (envelope and first == b"{"):
        raise ValidationFailed("Send a JSON array with one object per row (or JSON Lines).")
    prefix = "item" if first == b"[" else "items.item"
    number = 0
    try:
        for number, item in enumerate(ijson.items(binary, prefix, use_float=True), start=1):
            yield _checked(Row(number, None, item))
    except ijson.JSONError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise MalformedBody(f"Not valid JSON after row {number}: {reason}") from None


def _ndjson_rows(binary: io.BufferedReader) -> Iterator[Row]:
    for number, raw in enumerate(binary, start=1):
        if not raw.strip():
            continue
        try:
            value = load_json(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError as exc:
            yield Row(number, number, None, error=f"Not UTF-8 text ({exc.reason}).")
        except UnreadableJson as exc:
            yield Row(number, number, None, error=exc.errors["json"][0])
        else:
            yield Row(number, number, value)


def _checked(row: Row) -> Row:
    """The row, or the row refused: a streamed item is bounded like any other JSON body."""
    try:
        check_json_depth(row.value)
    except UnreadableJson as exc:
        return Row(row.number, row.line, None, error=exc.errors["json"][0])
    return row


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def split_list(cell: str) -> list[str]:
    return [item.strip() for item in cell.split(";") if item.strip()]


# --- errors -------------------------------------------------------------------------------


def flatten(messages: object, path: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as dotted path -> messages ("locations.0.scc_module")."""
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            for name, texts in flatten(value, f"{path}.{key}" if path else str(key)).items():
                flat.setdefault(name, []).extend(texts)
        return flat
    if isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            return {path or "_schema": list(messages)}
        flat = {}
        for index, value in enumerate(messages):
            for name, texts in flatten(value, f"{path}.{index}" if path else str(index)).items():
                flat.setdefault(name, []).extend(texts)
        return flat
    return {path or "_schema": [str(messages)]}


def _add(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


class RowErrors:
    """Every invalid row counts; the first `limit` are reported."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.reported: list[dict] = []
        self.count = 0

    def __bool__(self) -> bool:
        return self.count > 0

    def add(self, row: Row, errors: dict[str, list[str]]) -> None:
        self.count += 1
        if len(self.reported) < self.limit:
            entry: dict = {"row": row.number}
            if row.file is not None:
                entry["file"] = row.file
            if row.line is not None:
                entry["line"] = row.line
            entry["errors"] = errors
            self.reported.append(entry)

    def raise_if_any(self, total: int) -> None:
        if total == 0:
            raise ValidationFailed("The file has no rows.")
        if not self.count:
            return
        unreported = self.count - len(self.reported)
        more = f" The first {len(self.reported)} are listed, {unreported} more are not." * bool(
            unreported
        )
        raise ImportRejected(
            f"{self.count} of {total} rows are invalid; nothing was imported.{more}",
            errors={"rows": self.reported},
            invalid_rows=self.count,
            unreported_rows=unreported,
        )


def _load(schema: Schema, value: object) -> tuple[dict, dict, dict[str, list[str]]]:
    """Loaded data (or {}), the fields that passed, and flattened messages."""
    if not isinstance(value, dict):
        return {}, {}, {"_schema": ["Each row is a JSON object."]}
    try:
        data = schema.load(value)
    except ValidationError as exc:
        valid = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        return {}, valid, flatten(exc.messages)
    return data, data, {}


# --- vendors ------------------------------------------------------------------------------

# What our own exports write about a vendor that an import does not register: the answer's
# view of it (`status`, `effective_services`, a location's `safeguard`), or a one-language
# view of a bilingual field given beside it.
OUTPUT_KEYS = ("status", "effective_services", "data_subject_categories", "controller_contexts")
LOCATION_OUTPUT_KEYS = ("safeguard", "safeguard_status")


def _from_export(value: object) -> tuple[object, dict]:
    """A JSON row as a registration body, and its file references (`id`, `parent_id`)."""
    if not isinstance(value, dict):
        return value, {}
    data = dict(value)
    # An export's rows carry their own `id`; a parent is named by it. Without it, `parent_id`
    # is an id of the target database, which no file can know: refused as unknown.
    refs: dict = {"id": data.pop("id")} if "id" in data else {}
    if refs:
        refs["parent_id"] = data.pop("parent_id", None)
    due_diligence = data.pop("due_diligence", None)
    if isinstance(due_diligence, dict):
        data = {**due_diligence, **data}
    if data.get("listed_until") is None:
        data.pop("listed_until", None)
    periods = data.pop("listing_periods", None)
    if isinstance(periods, list) and len(periods) > 1:
        refs["earlier_periods"] = len(periods) - 1
    for key in OUTPUT_KEYS:
        if key != "data_subject_categories" or _bilingual_subjects(data):
            data.pop(key, None)
    if isinstance(data.get("locations"), list):
        data["locations"] = [_location_input(item) for item in data["locations"]]
    return data, refs


def _bilingual_subjects(data: dict) -> bool:
    return "data_subject_categories_pl" in data or "data_subject_categories_en" in data


def _location_input(item: object) -> object:
    if not isinstance(item, dict):
        return item
    shown = ("activity",) if "activity_pl" in item or "activity_en" in item else ()
    return {k: v for k, v in item.items() if k not in (*LOCATION_OUTPUT_KEYS, *shown)}


def _quoted(cell: str | None, messages: list[str]) -> list[str]:
    """Schema messages with the cell they are about: 'Not a valid URL.' says which."""
    if not cell:
        return messages
    return [m if f"'{cell}'" in m else f"'{cell}': {m}" for m in messages]


def _vendor_column(path: str, messages: list[str]) -> tuple[str, list[str]]:
    """A CSV row's error under its field: nested location errors name their entry."""
    head, _, rest = path.partition(".")
    if head == "locations" and rest:
        index, _, field = rest.partition(".")
        where = f"Entry {int(index) + 1}" if index.isdigit() else "Entry"
        label = f"{where}: {field}: " if field and field != "_schema" else f"{where}: "
        return head, [label + m for m in messages]
    return head, messages


CREATE_ONLY = "an import only creates (send mode=upsert to correct it)."


@dataclass
class _VendorRow:
    row: Row
    data: dict
    refs: dict
    match: int | None = None  # upsert: the vendor the row corrects
    recipient: Recipient | None = None


class VendorImport:
    """One vendor import: rows are checked against the database and each other, written
    while none failed, and checked on to the end."""

    def __init__(self, org_id: int, *, fmt: str, actor: str, max_errors: int, **how) -> None:
        self.org = db.session.get_one(Organization, org_id)
        self.fmt, self.actor = fmt, actor
        self.layout: spreadsheet.Layout | None = how.get("layout")
        self.upsert = how.get("mode", "create") == "upsert"
        self.today = clock.local_today(self.org.timezone)
        self.schema = VendorImportSchema()
        self.existing = {key: rid for key, (rid, _) in names_in_use(org_id).items()}
        self.by_external = dict(
            db.session.execute(
                select(Recipient.external_id, Recipient.id).where(
                    Recipient.organization_id == org_id, Recipient.external_id.is_not(None)
                )
            ).all()
        )
        self.slugs = set(
            db.session.scalars(select(Service.slug).where(Service.organization_id == org_id))
        )
        self.in_file: dict[str, int] = {}  # name_key or external id -> first row
        self.created: dict[str, int] = {}  # name_key -> id, for later rows naming it as parent
        self.file_ids: dict[str, int] = {}  # an export's own id -> the vendor written for it
        self.pending_parents: list[tuple[Row, int, str]] = []
        self.errors = RowErrors(max_errors)
        self.result = ImportResult(import_id=uuid.uuid4().hex)
        self.separator = ";"

    def run(self, rows: Iterable[Row]) -> ImportResult:
        rows = list(rows) if self.fmt == "csv" else rows
        if self.layout is not None and isinstance(rows, list):
            cells = spreadsheet.list_cells([r.value for r in rows], self.layout.mapping)
            options = self.layout.options
            self.separator = options.list_separator or spreadsheet.detect_separator(cells)
        total = 0
        for row in rows:
            total += 1
            item, problems = self.check(row)
            if problems:
                self.errors.add(row, problems)
            elif not self.errors:
                self.write(item)
        if not self.errors:
            self.link_parents()
        self.errors.raise_if_any(total)
        _record_completed(self.org.id, self.actor, "vendors", self.fmt, self.result)
        return self.result

    # -- checking --

    def parse(self, row: Row) -> tuple[object, dict, dict[str, list[str]]]:
        """The row as a registration body, its file references, and cell problems."""
        if self.fmt != "csv" or not isinstance(row.value, dict):
            raw, refs = _from_export(row.value)
            return raw, refs, {}
        layout = self.layout
        options = spreadsheet.Options(**{**vars(layout.options), "list_separator": self.separator})
        data, problems = spreadsheet.vendor_row(
            row.value, layout.mapping, options, lang=layout.lang
        )
        refs = {"id": data.pop("id", None), "parent_id": data.pop("parent_id", None)}
        return data, refs, problems

    def column(self, name: str) -> str:
        """The CSV column a field came from, as the sheet names it."""
        for column, target in self.layout.mapping.items():
            own = spreadsheet.ONE_LANGUAGE.get(target)
            if target == name or (own and name == f"{own}_{self.layout.lang}"):
                return column
        return name

    def check(self, row: Row) -> tuple[_VendorRow | None, dict[str, list[str]]]:
        raw, refs, cell_problems = self.parse(row)
        problems: dict[str, list[str]] = {}
        if row.error:
            _add(problems, "_schema", row.error)
        for name, texts in cell_problems.items():
            problems.setdefault(name, []).extend(texts)
        data, valid, messages = _load(self.schema, raw)
        for path, texts in messages.items():
            name, texts = _vendor_column(path, texts) if self.fmt == "csv" else (path, texts)
            if name in cell_problems:
                continue  # the cell could not be read: what the schema says of it is noise
            if self.fmt == "csv" and name == path and isinstance(raw, dict):
                texts = _quoted(str(raw.get(name) or ""), texts)
            problems.setdefault(name, []).extend(texts)
        if refs.get("earlier_periods"):
            _add(
                problems,
                "listing_periods",
                f"{refs['earlier_periods']} earlier period(s) on the list: that is history, "
                "which the history import loads (POST .../subprocessors/history/import).",
            )
        item = _VendorRow(row, data, refs)
        self.check_identity(item, valid, problems)
        self.check_references(item, valid, problems)
        if self.fmt == "csv" and self.layout is not None:
            problems = {self.column(k): v for k, v in problems.items()}
        return (None, problems) if problems else (item, {})

    def check_identity(self, item: _VendorRow, valid: dict, problems: dict) -> None:
        """A new name, or (upsert) the vendor the row corrects; never twice in a file."""
        name, external = valid.get("name"), valid.get("external_id")
        for key, field in ((external and f"#{external}", "external_id"), (name, "name")):
            if not isinstance(key, str) or not key.strip():
                continue
            key = key if field == "external_id" else name_key(key)
            if key in self.in_file:
                _add(problems, field, f"Also in row {self.in_file[key]}.")
            else:
                self.in_file[key] = item.row.number
        by_name = self.existing.get(name_key(name)) if isinstance(name, str) else None
        by_external = self.by_external.get(external) if external else None
        if not self.upsert:
            if by_name is not None:
                _add(
                    problems,
                    "name",
                    f"exists: vendor {by_name} has this name; {CREATE_ONLY}",
                )
            if by_external is not None:
                _add(
                    problems,
                    "external_id",
                    f"'{external}' exists: vendor {by_external}; {CREATE_ONLY}",
                )
            return
        item.match = by_external or by_name
        if item.match is not None:
            self.check_correction(item, valid, problems)
        if by_name is not None and item.match != by_name:
            _add(
                problems,
                "name",
                f"'{name}' is the name of vendor {by_name}, not of the one with this external_id.",
            )

    def check_references(self, item: _VendorRow, valid: dict, problems: dict) -> None:
        for slug in dict.fromkeys(valid.get("services") or []):
            if slug not in self.slugs:
                _add(problems, "services", f"Unknown service '{slug}' of {self.org.slug}.")
        listed_from = valid.get("listed_from")
        if listed_from is not None and listed_from > self.today:
            _add(
                problems,
                "listed_from",
                f"Must be {self.today} or earlier: a vendor joining later is announced as a "
                "change.",
            )
        parent = valid.get("parent")
        if parent:
            key = name_key(parent)
            if key in self.existing:
                item.data["parent_id"] = self.existing[key]
            elif key in self.created:
                item.data["parent_id"] = self.created[key]
            elif key not in self.in_file or self.in_file[key] >= item.row.number:
                _add(problems, "parent", f"No vendor '{parent}' registered or in an earlier row.")

    # -- writing --

    def write(self, item: _VendorRow) -> None:
        data = item.data
        listed_from = data.pop("listed_from", None)
        data.pop("parent", None)
        if item.match is not None:
            recipient = self.correct(item, listed_from)
        else:
            recipient = recipients.register_recipient(self.org, data, actor=self.actor)
            self.result.created += 1
            if listed_from is not None:
                self.list(recipient, listed_from)
        self.created[name_key(recipient.name)] = recipient.id
        if item.refs.get("id") is not None:
            self.file_ids[str(item.refs["id"])] = recipient.id
        if item.refs.get("parent_id") is not None:
            self.pending_parents.append((item.row, recipient.id, str(item.refs["parent_id"])))

    def list(self, recipient: Recipient, listed_from: date) -> None:
        """The list as it stands is recorded, not changed: no announcement, no notice."""
        recipient.listed_from = listed_from
        audit.record(
            self.org.id,
            self.actor,
            "recipient.listed",
            "recipient",
            recipient.id,
            after={"listed_from": listed_from, "by": "import", "import_id": self.result.import_id},
        )

    def check_correction(self, item: _VendorRow, valid: dict, problems: dict) -> None:
        """Upsert: a material change of a vendor on the public list is for an `update`."""
        item.recipient = recipients.get_recipient(self.org, item.match)
        for name in ("purpose_pl", "purpose_en"):
            if item.data.get(name) == "":
                del item.data[name]  # a one-language sheet: the other language stays
        stored = item.recipient.listed_from
        for name, texts in _material_problems(item.recipient, item.data).items():
            problems.setdefault(name, []).extend(texts)
        listed_from = valid.get("listed_from")
        if listed_from is not None and stored not in (None, listed_from):
            _add(
                problems,
                "listed_from",
                f"'{listed_from}': the vendor is listed from {stored}; a listing changes only "
                "through an announced change.",
            )

    def correct(self, item: _VendorRow, listed_from: date | None) -> Recipient:
        """Upsert: edit what the row changes (a public vendor's material fields are equal)."""
        recipient = item.recipient
        before = recipients.snapshot(recipient)
        changes = dict(item.data)
        if recipients.is_public(recipient):
            changes = {k: v for k, v in changes.items() if k not in MATERIAL_FIELDS}
        recipients.edit_recipient(self.org, recipient, changes, actor=self.actor)
        newly_listed = listed_from is not None and recipient.listed_from is None
        if newly_listed:
            self.list(recipient, listed_from)
        if newly_listed or audit.changed(before, recipients.snapshot(recipient))[1]:
            self.result.updated += 1
        else:
            self.result.unchanged += 1
        return recipient

    def link_parents(self) -> None:
        """Parents named by an export's own ids: any row of the file, so after all rows."""
        for row, recipient_id, parent_ref in self.pending_parents:
            parent_id = self.file_ids.get(parent_ref)
            if parent_id is None:
                self.errors.add(row, {"parent_id": [f"'{parent_ref}' is no row's id in the file."]})
                continue
            recipient = db.session.get_one(Recipient, recipient_id)
            recipients.check_parent_of(self.org, recipient, parent_id)
            audit.record(
                self.org.id, self.actor, "recipient.edited", "recipient", recipient.id,
                before={"parent_id": recipient.parent_id}, after={"parent_id": parent_id},
            )  # fmt: skip
            recipient.parent_id = parent_id


def _material_problems(recipient: Recipient, data: dict) -> dict[str, list[str]]:
    """Material fields a row would change on a vendor already on the public list."""
    if not recipients.is_public(recipient):
        return {}
    stored = recipients.material_snapshot(recipients.latest_revision(recipient))
    stored["parent_id"] = recipient.parent_id
    given = {k: v for k, v in data.items() if k in MATERIAL_FIELDS}
    if "services" in given:
        given["services"] = sorted(set(given["services"]))
    if "locations" in given:
        given["locations"] = [_as_stored(loc) for loc in given["locations"]]
    return {
        name: [
            f"'{_shown(value)}' differs from '{_shown(stored[name])}', and the vendor is on the "
            "public list: customers must be told, so announce an 'update' change "
            "(POST .../changes)."
        ]
        for name, value in given.items()
        if value != stored.get(name)
    }


def _as_stored(location: dict) -> dict:
    """A loaded location as `location_dict` shows a stored one (an activity is never None)."""
    shaped = {k: location.get(k) for k in LOCATION_FIELDS}
    return shaped | {k: shaped[k] or "" for k in ("activity_pl", "activity_en")}


def _shown(value: object) -> str:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return "; ".join(
            f"{loc.get('country') or loc.get('region') or loc.get('international_organisation')}"
            f":{loc.get('mechanism')}"
            for loc in value
        )
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def import_vendors(
    org_id: int,
    rows: Iterable[Row],
    *,
    fmt: str,
    actor: str,
    max_errors: int,
    layout: spreadsheet.Layout | None = None,
    mode: str = "create",
) -> ImportResult:
    """Register every vendor of the file (upsert: or correct it), or none."""
    if fmt == "csv" and layout is None:
        raise ValueError("A CSV import needs the layout that read its header.")
    importer = VendorImport(
        org_id, fmt=fmt, actor=actor, max_errors=max_errors, layout=layout, mode=mode
    )
    return importer.run(rows)


# --- customers ----------------------------------------------------------------------------


def _customer_from_csv(cells: dict[str, str]) -> tuple[dict, dict | None]:
    """A row's data, and the contact's given fields (None when the row names no contact)."""
    plain = ("external_ref", "name", "started_on", "ended_on", *CUSTOMER_CONTROLLER_COLUMNS)
    data: dict = {k: cells[k] for k in plain if cells.get(k)}
    for name in ("services", "special_categories"):
        if cells.get(name):
            data[name] = split_list(cells[name])
    contact = {
        field: cells[col] for col, field in CUSTOMER_CONTACT_COLUMNS.items() if cells.get(col)
    }
    if contact:
        data["contacts"] = [contact]
    terms = {name: cells[name] for name in CUSTOMER_TERM_COLUMNS if cells.get(name)}
    if terms:
        data["agreement"] = terms
    return data, contact or None


def _customer_column(path: str) -> str:
    head, _, rest = path.partition(".")
    if head == "contacts":
        field = rest.rpartition(".")[2]
        by_field = {f: c for c, f in CUSTOMER_CONTACT_COLUMNS.items()}
        return by_field.get(field, "email")
    if head == "agreement" and rest:
        return rest
    return head


def _merged_contacts(customer: Customer, given: dict, loaded: dict) -> list[dict]:
    """A CSV row adds or edits one contact; others stay, and so do fields it leaves empty."""
    merged, found = [], False
    for contact in customer.contacts:
        item = {"email": contact.email, "name": contact.name, "locale": contact.locale}
        if contact.email.lower() == loaded["email"].lower():
            found = True
            item.update({f: loaded[f] for f in ("email", "name", "locale") if f in given})
        merged.append(item)
    if not found:
        merged.append(loaded)
    return merged


@dataclass
class _CustomerRow:
    row: Row
    data: dict
    csv_contact: dict | None


def _check_customer(
    row: Row,
    fmt: str,
    schema: Schema,
    slugs: set[str],
    version_ids: set[int],
    seen: dict[str, int],
    org_slug: str,
) -> tuple[_CustomerRow | None, dict[str, list[str]]]:
    raw, contact, problems = row.value, None, {}
    if row.error:
        _add(problems, "_schema", row.error)
    if fmt == "csv" and isinstance(raw, dict):
        raw, contact = _customer_from_csv(raw)
    data, valid, messages = _load(schema, raw)
    for path, texts in messages.items():
        problems.setdefault(_customer_column(path) if fmt == "csv" else path, []).extend(texts)
    ref = valid.get("external_ref")
    if isinstance(ref, str) and ref:
        if ref in seen:
            _add(problems, "external_ref", f"Also in row {seen[ref]}.")
        else:
            seen[ref] = row.number
    for slug in dict.fromkeys(valid.get("services") or []):
        if slug not in slugs:
            _add(problems, "services", f"Unknown service '{slug}' of {org_slug}.")
    version_id = (valid.get("agreement") or {}).get("agreement_version_id")
    if version_id is not None and version_id not in version_ids:
        field = "agreement_version_id" if fmt == "csv" else "agreement.agreement_version_id"
        _add(problems, field, f"No agreement version {version_id} of {org_slug}.")
    if problems:
        return None, problems
    return _CustomerRow(row, data, contact), {}


def _existing_customers(org_id: int, refs: list[str]) -> dict[str, Customer]:
    if not refs:
        return {}
    found = db.session.scalars(
        select(Customer)
        .where(
            Customer.organization_id == org_id,
            # Inline literals, not 1,000 parameters: once psycopg prepares a repeated
            # statement, PostgreSQL's generic plan tests each row against the list one
            # by one, and on a table grown within this transaction (stale statistics)
            # that scans every row: quadratic over a large import.
            Customer.external_ref.in_(
                bindparam("refs", refs, expanding=True, literal_execute=True)
            ),
        )
        .options(
            selectinload(Customer.services),
            selectinload(Customer.contacts),
            selectinload(Customer.agreement),
        )
    )
    return {c.external_ref: c for c in found}


def _dates_error(item: _CustomerRow, customer: Customer | None, today: date) -> dict | None:
    """apply_customer refuses an end before the start that results from merging the row."""
    data = item.data
    start = data.get("started_on") or (customer.started_on if customer else today)
    end = data.get("ended_on", customer.ended_on if customer else None)
    if end is not None and end < start:
        source = "the stored started_on" if customer else "started_on (today when omitted)"
        return {"ended_on": [f"Before {source}, {start}."]}
    return None


def import_customers(
    org_id: int,
    rows: Iterable[Row],
    *,
    fmt: str,
    actor: str,
    chunk_size: int,
    max_errors: int,
) -> ImportResult:
    """Create or update customers by external_ref, a chunk at a time; all rows or none."""
    org = db.session.get_one(Organization, org_id)
    org_slug, today = org.slug, clock.local_today(org.timezone)
    schema = CustomerImportSchema()
    slugs = set(db.session.scalars(select(Service.slug).where(Service.organization_id == org_id)))
    version_ids = set(
        db.session.scalars(
            select(AgreementVersion.id).where(
                AgreementVersion.organization_id == org_id,
                AgreementVersion.published_at.is_not(None),
            )
        )
    )
    seen: dict[str, int] = {}  # external_ref -> first row: the only state kept across chunks
    errors = RowErrors(max_errors)
    result = ImportResult(import_id=uuid.uuid4().hex)
    total = 0
    for chunk in _chunks(rows, chunk_size):
        total += len(chunk)
        good: list[_CustomerRow] = []
        for row in chunk:
            item, problems = _check_customer(row, fmt, schema, slugs, version_ids, seen, org_slug)
            if item is None:
                errors.add(row, problems)
            else:
                good.append(item)
        stored = _existing_customers(org_id, [item.data["external_ref"] for item in good])
        ready = []
        for item in good:
            customer = stored.get(item.data["external_ref"])
            if problems := _dates_error(item, customer, today):
                errors.add(item.row, problems)
            else:
                ready.append((item, customer))
        if not errors:
            _write_customers(org_id, ready, actor, result)
        # Release the chunk: the session would otherwise keep every object until commit.
        db.session.expunge_all()
    errors.raise_if_any(total)
    _record_completed(org_id, actor, "customers", fmt, result)
    return result


def _write_customers(
    org_id: int, ready: list[tuple[_CustomerRow, Customer | None]], actor: str, result: ImportResult
) -> None:
    org = db.session.get_one(Organization, org_id)
    services_by_slug = {
        s.slug: s
        for s in db.session.scalars(select(Service).where(Service.organization_id == org_id))
    }
    created: list[tuple[Customer, dict]] = []
    edited: list[tuple[Customer, dict, dict]] = []
    for item, customer in ready:
        data = item.data
        if customer is None:
            customer = customers.new_customer(org)
            customers.apply_customer(org, customer, data, services_by_slug=services_by_slug)
            db.session.add(customer)
            # Taken before the flush: a pending customer reads its relations without SQL.
            created.append((customer, customers.snapshot(customer)))
            continue
        if item.csv_contact is not None:
            data = {
                **data,
                "contacts": _merged_contacts(customer, item.csv_contact, data["contacts"][0]),
            }
        before = customers.snapshot(customer)
        customers.apply_customer(org, customer, data, services_by_slug=services_by_slug)
        old, new = audit.changed(before, customers.snapshot(customer))
        if new:
            edited.append((customer, old, new))
        else:
            result.unchanged += 1
    # One flush for the chunk lets SQLAlchemy batch the INSERTs; events need the new ids.
    db.session.flush()
    for customer, after in created:
        audit.record(org_id, actor, "customer.created", "customer", customer.id, after=after)
        customers.ask_consents_owed(org, customer)
    for customer, old, new in edited:
        audit.record(
            org_id, actor, "customer.edited", "customer", customer.id, before=old, after=new
        )
    result.created += len(created)
    result.updated += len(edited)


def _record_completed(org_id: int, actor: str, kind: str, fmt: str, result: ImportResult) -> None:
    audit.record(
        org_id,
        actor,
        "import.completed",
        "import",
        result.import_id,
        after={"kind": kind, "format": fmt, **result.as_dict()},
    )


# Shared with the history import (service/imports/history.py), which reads vendor rows the
# same way.
add_error = _add
load_row = _load


def vendor_from_csv(cells: dict[str, str]) -> tuple[dict, dict[str, list[str]]]:
    """A row of the registration's own columns (and any the caller knows, passed on as they
    are) as a vendor body: `spreadsheet.vendor_row` with every column its own field."""
    mapping = {column: column for column in cells}
    return spreadsheet.vendor_row(cells, mapping, spreadsheet.Options(list_separator=";"))
