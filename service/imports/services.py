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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
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
from service.imports.schemas import (
    CUSTOMER_COLUMNS,
    CUSTOMER_CONTACT_COLUMNS,
    CUSTOMER_CONTROLLER_COLUMNS,
    CUSTOMER_REQUIRED_COLUMNS,
    CUSTOMER_TERM_COLUMNS,
    LOCATION_DETAILS,
    VENDOR_COLUMNS,
    VENDOR_LIST_COLUMNS,
    VENDOR_REQUIRED_COLUMNS,
    CustomerImportSchema,
    VendorImportSchema,
)
from service.organizations.models import Organization, Service
from service.recipients import services as recipients
from service.recipients.models import MECHANISMS
from service.recipients.names import name_key, names_in_use
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
) -> Iterator[Row]:
    """Rows of a CSV file (with the columns of `kind`, or `columns`: known and required),
    a JSON array or JSON Lines."""
    binary = io.BufferedReader(_RawStream(stream), READ_BUFFER)
    if fmt == "csv":
        columns, required = columns or CSV_COLUMNS[kind]
        return _csv_rows(binary, columns, required, _encoding(charset))
    if fmt == "json":
        return _json_rows(binary)
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
    binary: io.BufferedReader, columns: tuple[str, ...], required: tuple[str, ...], encoding: str
) -> Iterator[Row]:
    reader = csv.reader(_lines(binary, encoding), strict=True)
    number = 0
    try:
        first = next(reader, None)
        if first is None:
            raise ValidationFailed("The body is empty: send a header line and one row per line.")
        header = _header(first, columns, required)
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


def _json_rows(binary: io.BufferedReader) -> Iterator[Row]:
    first = _skip_space(binary)
    if not first:
        raise ValidationFailed("The body is empty: send a JSON array with one object per row.")
    if first != b"[":
        raise ValidationFailed("Send a JSON array with one object per row (or JSON Lines).")
    number = 0
    try:
        for number, item in enumerate(ijson.items(binary, "item", use_float=True), start=1):
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


class LocationFormatError(ValueError):
    pass


def _activity(entry: str) -> tuple[str, str]:
    """Split a trailing "(activity)" off an entry; parentheses inside it may nest."""
    if not entry.endswith(")"):
        return entry, ""
    depth = 0
    for index in range(len(entry) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(entry[index], 0)
        if depth == 0:
            return entry[:index].rstrip(), entry[index + 1 : -1].strip()
    return entry, ""


def parse_locations(cell: str) -> list:
    """The `locations` cell: "DE:none (hosting); US:scc:3" or a JSON array of objects."""
    if cell.startswith("["):
        try:
            items = load_json(cell)
        except UnreadableJson as exc:
            raise LocationFormatError(f"Not a valid JSON array: {exc.errors['json'][0]}") from None
        return items
    locations = []
    for index, raw in enumerate(split_list(cell), start=1):
        entry, activity = _activity(raw)
        place, colon, rest = entry.partition(":")
        mechanism, _, details = rest.partition(":")
        mechanism = mechanism.strip().lower()
        if not colon or not place.strip() or not mechanism:
            raise LocationFormatError(
                f"Entry {index} '{raw}': write COUNTRY:MECHANISM[:DETAILS] [(activity)], "
                "e.g. 'DE:none (hosting)' or 'US:scc:3'."
            )
        if mechanism not in MECHANISMS:
            raise LocationFormatError(
                f"Entry {index} '{raw}': unknown mechanism '{mechanism}'; "
                f"one of {', '.join(MECHANISMS)}."
            )
        location = {"country": place.strip().upper(), "mechanism": mechanism}
        if " | " in activity:  # "(polski | English)": one per language
            pl, _, en = activity.partition(" | ")
            location.update(activity_pl=pl.strip(), activity_en=en.strip())
        elif activity:  # one language only: fills both (LocationSchema.fill_activity)
            location["activity"] = activity
        names = LOCATION_DETAILS.get(mechanism, ())
        if details.strip():
            parts = details.split(":") if len(names) > 1 else [details]
            if len(parts) > len(names):
                expected = ":".join(names) if names else "no details"
                raise LocationFormatError(f"Entry {index} '{raw}': '{mechanism}' takes {expected}.")
            given = zip(names, (part.strip() for part in parts), strict=False)
            location.update({name: part for name, part in given if part})
        locations.append(location)
    return locations


def _vendor_from_csv(cells: dict[str, str]) -> tuple[dict, dict[str, list[str]]]:
    data: dict = {}
    errors: dict[str, list[str]] = {}
    for column, cell in cells.items():
        if not cell:
            continue  # an empty cell gives nothing: the field's default applies
        if column in VENDOR_LIST_COLUMNS:
            data[column] = split_list(cell)
        elif column == "locations":
            try:
                data[column] = parse_locations(cell)
            except LocationFormatError as exc:
                _add(errors, "locations", str(exc))
        else:
            data[column] = cell
    return data, errors


def _vendor_column(path: str, messages: list[str]) -> tuple[str, list[str]]:
    """A CSV row's error under its column: nested location errors name their entry."""
    head, _, rest = path.partition(".")
    if head == "locations" and rest:
        index, _, field = rest.partition(".")
        where = f"Entry {int(index) + 1}" if index.isdigit() else "Entry"
        label = f"{where}: {field}: " if field and field != "_schema" else f"{where}: "
        return head, [label + m for m in messages]
    return head, messages


def import_vendors(
    org_id: int,
    rows: Iterable[Row],
    *,
    fmt: str,
    actor: str,
    max_errors: int,
) -> ImportResult:
    """Register every vendor of the file, or none; a name that exists is a row error."""
    org = db.session.get_one(Organization, org_id)
    today = clock.local_today(org.timezone)
    schema = VendorImportSchema()
    existing = {key: rid for key, (rid, _) in names_in_use(org_id).items()}
    slugs = set(db.session.scalars(select(Service.slug).where(Service.organization_id == org_id)))
    in_file: dict[str, int] = {}  # name_key -> first row
    created: dict[str, int] = {}  # name_key -> new id, for later rows naming it as parent
    errors = RowErrors(max_errors)
    result = ImportResult(import_id=uuid.uuid4().hex)
    total = 0
    for row in rows:
        total += 1
        raw, problems = row.value, {}
        if row.error:
            _add(problems, "_schema", row.error)
        if fmt == "csv" and isinstance(raw, dict):
            raw, cell_problems = _vendor_from_csv(raw)
            for column, texts in cell_problems.items():
                problems.setdefault(column, []).extend(texts)
        data, valid, messages = _load(schema, raw)
        if fmt == "csv":
            for path, texts in messages.items():
                column, texts = _vendor_column(path, texts)
                problems.setdefault(column, []).extend(texts)
        else:
            for path, texts in messages.items():
                problems.setdefault(path, []).extend(texts)
        name = valid.get("name")
        if isinstance(name, str) and name.strip():
            key = name_key(name)
            if key in existing:
                _add(
                    problems,
                    "name",
                    f"exists: vendor {existing[key]} has this name; an import only creates.",
                )
            elif key in in_file:
                _add(problems, "name", f"Also in row {in_file[key]}.")
            else:
                in_file[key] = row.number
        for slug in dict.fromkeys(valid.get("services") or []):
            if slug not in slugs:
                _add(problems, "services", f"Unknown service '{slug}' of {org.slug}.")
        listed_from = valid.get("listed_from")
        if listed_from is not None and listed_from > today:
            _add(
                problems,
                "listed_from",
                f"Must be {today} or earlier: a vendor joining later is announced as a change.",
            )
        parent_id = None
        parent = valid.get("parent")
        if parent:
            key = name_key(parent)
            if key in existing:
                parent_id = existing[key]
            elif key in in_file and in_file[key] < row.number:
                parent_id = created.get(key)
            else:
                _add(problems, "parent", f"No vendor '{parent}' registered or in an earlier row.")
        if problems:
            errors.add(row, problems)
            continue
        if errors:
            continue  # nothing will be written: keep checking only
        data["parent_id"] = parent_id
        recipient = recipients.register_recipient(org, data, actor=actor)
        created[name_key(data["name"])] = recipient.id
        if listed_from is not None:
            # The list as it stands is recorded, not changed: no announcement, no notice.
            recipient.listed_from = listed_from
            audit.record(
                org_id,
                actor,
                "recipient.listed",
                "recipient",
                recipient.id,
                after={"listed_from": listed_from, "by": "import", "import_id": result.import_id},
            )
        result.created += 1
    errors.raise_if_any(total)
    _record_completed(org_id, actor, "vendors", fmt, result)
    return result


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
vendor_from_csv = _vendor_from_csv
