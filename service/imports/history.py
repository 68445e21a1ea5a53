"""Import a vendor list with its history: dated versions in, dated changes out.

An organization adopting the registry usually has years of versions of its list. Each
version is a snapshot valid from a day; between consecutive versions the registry derives
what happened (a vendor added, removed, back again, its material data updated, renamed) and
records those changes as *historical*: they took effect before the registry knew of them,
so they give no notice, never show as announced, and none may be dated after today. The
list as of each version's day and the diff between two versions then reproduce the source.

A vendor is followed from version to version by its `external_id` where the file gives one,
otherwise by its name (case-folded, NFKC, as the duplicate rule compares names); only an
`external_id` lets a rename be told from one vendor leaving and another arriving.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from marshmallow import fields

from service import clock
from service.audit import services as audit
from service.changes import services as changes
from service.common import line
from service.extensions import db
from service.imports import services as rows_io
from service.imports.schemas import VENDOR_COLUMNS, VENDOR_REQUIRED_COLUMNS, VendorImportSchema
from service.organizations.models import Organization
from service.recipients import services as recipients
from service.recipients.names import name_key, names_in_use

# The fields whose change between two versions is an `update` (customers would have been
# told), and those whose change is a dated rename (no notice).
MATERIAL = (*recipients.REVISION_FIELDS, "services", "locations")
MATERIAL_DEFAULTS = {
    "data_categories_pl": [],
    "data_categories_en": [],
    "data_subject_categories_pl": [],
    "data_subject_categories_en": [],
    "services": [],
}
NAMES = ("name", "legal_entity")
KINDS = ("add", "remove", "update", "rename")


class HistoryRowSchema(VendorImportSchema):
    """One vendor in one version: a vendor row, the day the version holds from, and the
    identifier that follows the vendor across versions (optional)."""

    class Meta:
        exclude = ("parent_id", "listed_from", "parent")

    valid_on = fields.Date(required=True, metadata={"description": "The version's first day"})
    external_id = line(200, allow_none=True)


HISTORY_COLUMNS = (
    "valid_on",
    "external_id",
    *(c for c in VENDOR_COLUMNS if c not in ("listed_from", "parent")),
)
HISTORY_REQUIRED_COLUMNS = ("valid_on", *VENDOR_REQUIRED_COLUMNS)


@dataclass
class Entry:
    """A vendor as one version shows it."""

    key: str
    data: dict
    row: rows_io.Row


@dataclass
class Derived:
    """A change the history implies."""

    kind: str  # add, remove, update, rename
    on: date
    key: str
    name: str
    returning: bool = False
    fields: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        body = {"kind": self.kind, "effective_on": self.on, "vendor": self.name}
        if self.returning:
            body["returning"] = True
        if self.fields:
            body["fields"] = self.fields
        return body


def material_of(data: dict) -> dict:
    """The material data of a row, complete: an omitted list is an empty one."""
    return {
        name: data.get(name, MATERIAL_DEFAULTS.get(name)) for name in MATERIAL if name != "country"
    } | {"country": data.get("country")}


def _comparable(material: dict) -> dict:
    # Location defaults differ between a row and a stored location only by absent keys.
    places = [
        {k: v for k, v in loc.items() if v not in (None, "")} for loc in material["locations"]
    ]
    return {**material, "services": sorted(material["services"]), "locations": places}


# --- reading ------------------------------------------------------------------------------


def _parse(row: rows_io.Row, fmt: str, schema: HistoryRowSchema) -> tuple[dict, dict]:
    raw, problems = row.value, {}
    if row.error:
        rows_io.add_error(problems, "_schema", row.error)
    if fmt == "csv" and isinstance(raw, dict):
        raw, cell_problems = rows_io.vendor_from_csv(raw)
        for column, texts in cell_problems.items():
            problems.setdefault(column, []).extend(texts)
    data, _valid, messages = rows_io.load_row(schema, raw)
    for path, texts in messages.items():
        column = path.partition(".")[0] if fmt == "csv" else path
        problems.setdefault(column, []).extend(texts)
    return data, problems


def read_versions(
    org: Organization, rows: Iterable[rows_io.Row], fmt: str, errors: rows_io.RowErrors
) -> tuple[dict[date, dict[str, Entry]], int]:
    """The versions of the file, each a map of vendor key -> entry; row errors collected."""
    today = clock.local_today(org.timezone)
    schema = HistoryRowSchema()
    versions: dict[date, dict[str, Entry]] = {}
    total = 0
    for row in rows:
        total += 1
        data, problems = _parse(row, fmt, schema)
        day = data.get("valid_on")
        if day is not None and day > today:
            rows_io.add_error(
                problems,
                "valid_on",
                f"'{day}' is after today ({today}): a version still to come is announced "
                "as changes, with notice.",
            )
        if problems:
            errors.add(row, problems)
            continue
        key = data.get("external_id") or name_key(data["name"])
        version = versions.setdefault(day, {})
        if key in version:
            where = version[key].row.number
            errors.add(row, {"name": [f"'{data['name']}' is also in row {where}, same version."]})
            continue
        version[key] = Entry(key, data, row)
    return dict(sorted(versions.items())), total


# --- deriving -----------------------------------------------------------------------------


def _compared(day: date, key: str, old: dict, new: dict):
    """The update and the rename between two sightings of one vendor."""
    renamed = [n for n in NAMES if old.get(n) != new.get(n)]
    before, after = _comparable(material_of(old)), _comparable(material_of(new))
    updated = [n for n in MATERIAL if before[n] != after[n]]
    if updated:
        yield Derived("update", day, key, new["name"], fields=updated, data=material_of(new))
    if renamed:
        names = {n: new[n] for n in renamed}
        yield Derived("rename", day, key, new["name"], fields=renamed, data=names)


def _between(day: date, before: dict[str, Entry], after: dict[str, Entry], last: dict):
    """The changes from one version to the next; `last` is each vendor's latest sighting
    so far, so that a vendor coming back with other data is also updated (or renamed)."""
    for key, entry in after.items():
        if key not in before:
            yield Derived("add", day, key, entry.data["name"], returning=key in last)
        if key in last:
            yield from _compared(day, key, last[key].data, entry.data)
    for key, entry in before.items():
        if key not in after:
            yield Derived("remove", day, key, entry.data["name"])


def derive(versions: dict[date, dict[str, Entry]]) -> list[Derived]:
    """The changes between consecutive versions; the first version adds its vendors."""
    derived: list[Derived] = []
    previous: dict[str, Entry] = {}
    last: dict[str, Entry] = {}
    for day, version in versions.items():
        derived.extend(_between(day, previous, version, last))
        last |= version
        previous = version
    return derived


# --- writing ------------------------------------------------------------------------------


def _check_new(org: Organization, versions: dict[date, dict[str, Entry]], errors) -> None:
    """A history import creates its vendors: one already registered is a row error."""
    existing = {key: rid for key, (rid, _) in names_in_use(org.id).items()}
    for version in versions.values():
        for entry in version.values():
            rid = existing.get(name_key(entry.data["name"]))
            if rid is not None:
                message = (
                    f"'{entry.data['name']}' exists already as vendor {rid}; a history import "
                    "creates its vendors (import into an organization without them)."
                )
                errors.add(entry.row, {"name": [message]})


def _profile(first: Entry, last: Entry) -> dict:
    """What to register: the vendor as it first appeared (its names and material data hold
    from there and change through the derived changes), with the undated details (address,
    website, due diligence) as the latest version gives them."""
    undated = {k: v for k, v in last.data.items() if k not in (*NAMES, *MATERIAL)}
    return {**first.data, **undated}


def _write(org: Organization, derived: list[Derived], versions, *, actor: str, source: str):
    first: dict[str, tuple[date, Entry]] = {}
    last: dict[str, Entry] = {}
    for day, version in versions.items():
        for key, entry in version.items():
            first.setdefault(key, (day, entry))
            last[key] = entry
    ids: dict[str, int] = {}
    for change in derived:
        if change.key not in ids:
            day, entry = first[change.key]
            profile = _profile(entry, last[change.key])
            registered = recipients.register_recipient(org, profile, actor=actor, judged_on=day)
            ids[change.key] = registered.id
        rid = ids[change.key]
        if change.kind == "rename":
            recipient = recipients.get_recipient(org, rid)
            edit = {**change.data, "renamed_on": change.on}
            recipients.edit_recipient(org, recipient, edit, actor=actor)
            continue
        body = {"kind": change.kind, "recipient_id": rid, "effective_on": change.on}
        if change.kind == "update":
            body["update"] = change.data
        changes.record_historical_change(org, body, actor=actor, source=source)
    return ids


def import_history(
    org_id: int,
    rows: Iterable[rows_io.Row],
    *,
    fmt: str,
    actor: str,
    source: str,
    dry_run: bool,
    max_errors: int,
) -> dict:
    """Derive the changes between the file's versions and record them (unless `dry_run`)."""
    org = db.session.get_one(Organization, org_id)
    errors = rows_io.RowErrors(max_errors)
    versions, total = read_versions(org, rows, fmt, errors)
    _check_new(org, versions, errors)
    errors.raise_if_any(total)
    derived = derive(versions)
    result = {
        "import_id": uuid.uuid4().hex,
        "dry_run": dry_run,
        "source": source,
        "versions": [{"valid_on": day, "vendors": len(v)} for day, v in versions.items()],
        "vendors": len({key for version in versions.values() for key in version}),
        "changes": [c.as_dict() for c in derived],
        "totals": {kind: sum(c.kind == kind for c in derived) for kind in KINDS},
    }
    if not dry_run:
        _write(org, derived, versions, actor=actor, source=source)
        summary = {k: result[k] for k in ("source", "vendors", "totals")}
        after = {"kind": "history", "format": fmt, "versions": len(versions), **summary}
        audit.record(org.id, actor, "import.completed", "import", result["import_id"], after=after)
    return result


def version_rows(document: object) -> list[rows_io.Row]:
    """The rows of a JSON history: an array of rows with `valid_on`, or
    `{"versions": [{"valid_on": ..., "vendors": [...]}, ...]}` (one snapshot per date)."""
    if isinstance(document, list):
        return [rows_io.Row(n, None, value) for n, value in enumerate(document, 1)]
    versions = document.get("versions") if isinstance(document, dict) else None
    if not isinstance(versions, list):
        raise rows_io.MalformedBody(
            'Send an array of rows with `valid_on`, or {"versions": [{"valid_on": ..., '
            '"vendors": [...]}]}.'
        )
    rows: list[rows_io.Row] = []
    for version in versions:
        vendors = version.get("vendors") if isinstance(version, dict) else None
        if not isinstance(vendors, list):
            raise rows_io.MalformedBody('Each version is {"valid_on": ..., "vendors": [...]}.')
        for vendor in vendors:
            if isinstance(vendor, dict):
                vendor = {**vendor, "valid_on": version.get("valid_on")}
            rows.append(rows_io.Row(len(rows) + 1, None, vendor))
    return rows


ISO_DAY = re.compile(r"(\d{4}-\d{2}-\d{2})")


def _day_of(*names: str | None) -> str | None:
    for name in names:
        found = ISO_DAY.search(name or "")
        if found:
            return found.group(1)
    return None


def file_rows(files: Iterable[tuple[str, object]], columns: tuple) -> list[rows_io.Row]:
    """The rows of one CSV file per version, each named by its date (field or file name)."""
    known, required = columns
    per_file = (known, tuple(c for c in required if c != "valid_on"))
    rows: list[rows_io.Row] = []
    for field_name, upload in files:
        label = upload.filename or field_name
        day = _day_of(field_name, upload.filename)
        if day is None:
            raise rows_io.MalformedBody(
                f"File '{label}': name each file (or its form field) by the day its version "
                "holds from, e.g. 2019-01-01.csv."
            )
        for row in rows_io.read_rows(upload.stream, "csv", kind="history", columns=per_file):
            value = {**row.value, "valid_on": day} if isinstance(row.value, dict) else row.value
            rows.append(rows_io.Row(len(rows) + 1, row.line, value, row.error, file=label))
    return rows
