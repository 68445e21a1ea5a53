"""A vendor list as people keep it: any headers, Polish or English, names of countries.

`read_header` turns a spreadsheet's header line into a mapping (column -> field) from the
request's explicit `mapping` and the headers recognised by default; `vendor_row` turns one
row's cells into the body of a vendor registration, with every problem of the row at once.
Both are pure: the vendor import and the history import share them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from service import i18n
from service.errors import ValidationFailed
from service.imports.schemas import LOCATION_DETAILS, VENDOR_COLUMNS, VENDOR_LIST_COLUMNS
from service.public.services import FORMULA_STARTS
from service.recipients.models import MECHANISMS, ROLES
from service.web import UnreadableJson, load_json

# Fields a column can give beyond the registration's own: a one-language text goes to the
# sheet's language; `id` and `parent_id` are an export's own ids, good only inside the file.
EXTRA_FIELDS = (
    "purpose",
    "data_categories",
    "data_subjects",
    "transfer_mechanism",
    "external_id",
    "id",
    "parent_id",
    "locations_data",
)
# Columns of our own exports that describe a vendor rather than register it.
OUTPUT_FIELDS = ("status", "effective_services", "listed_until")
IGNORE = "ignore"
FIELDS = (*VENDOR_COLUMNS, *EXTRA_FIELDS, *OUTPUT_FIELDS, IGNORE)
BILINGUAL_SUBJECTS = {"data_subject_categories_pl", "data_subject_categories_en"}
ONE_LANGUAGE = {
    "purpose": "purpose",
    "data_categories": "data_categories",
    "data_subjects": "data_subject_categories",
}

# Headers recognised without a mapping, as `i18n.lookup_key` writes them, with the language
# they are in (None: either). A Polish header makes Polish the sheet's default language.
_HEADERS: dict[str, tuple[str, str | None]] = {
    **{name.replace("_", " "): (name, None) for name in FIELDS if name != IGNORE},
    "vendor": ("name", "en"),
    "vendor name": ("name", "en"),
    "subprocessor": ("name", "en"),
    "dostawca": ("name", "pl"),
    "nazwa": ("name", "pl"),
    "dalszy podmiot przetwarzajacy": ("name", "pl"),
    "entity": ("legal_entity", "en"),
    "legal entity": ("legal_entity", "en"),
    "company": ("legal_entity", "en"),
    "podmiot": ("legal_entity", "pl"),
    "firma": ("legal_entity", "pl"),
    "adres": ("address", "pl"),
    "kraj": ("country", "pl"),
    "siedziba": ("country", "pl"),
    "country of establishment": ("country", "en"),
    "rola": ("role", "pl"),
    "purpose": ("purpose", "en"),
    "cel": ("purpose", "pl"),
    "cel przetwarzania": ("purpose", "pl"),
    "data categories": ("data_categories", "en"),
    "kategorie danych": ("data_categories", "pl"),
    "data subjects": ("data_subjects", "en"),
    "kategorie osob": ("data_subjects", "pl"),
    "location": ("locations", "en"),
    "processing location": ("locations", "en"),
    "processing locations": ("locations", "en"),
    "lokalizacja": ("locations", "pl"),
    "lokalizacje": ("locations", "pl"),
    "miejsce przetwarzania": ("locations", "pl"),
    "mechanism": ("transfer_mechanism", "en"),
    "safeguard": ("transfer_mechanism", "en"),
    "podstawa transferu": ("transfer_mechanism", "pl"),
    "mechanizm transferu": ("transfer_mechanism", "pl"),
    "notes": ("due_diligence_notes", "en"),
    "uwagi": ("due_diligence_notes", "pl"),
    "website": ("website", "en"),
    "url": ("website", None),
    "www": ("website", None),
    "strona": ("website", "pl"),
    "strona www": ("website", "pl"),
    "uslugi": ("services", "pl"),
}

# Words for a mechanism and a role, keyed by meaning (as `i18n.lookup_key` writes them).
_MECHANISM_WORDS = {
    **{name.replace("_", " "): name for name in MECHANISMS},
    "sccs": "scc",
    "standard contractual clauses": "scc",
    "standardowe klauzule umowne": "scc",
    "adequacy decision": "adequacy",
    "decyzja o adekwatnosci": "adequacy",
    "decyzja stwierdzajaca odpowiedni stopien ochrony": "adequacy",
    "data privacy framework": "dpf",
    "eu-us data privacy framework": "dpf",
    "binding corporate rules": "bcr",
    "wiazace reguly korporacyjne": "bcr",
    "no transfer": "none",
    "brak": "none",
    "brak transferu": "none",
    "nie dotyczy": "none",
    "n/a": "none",
}
_ROLE_WORDS = {
    **{name.replace("_", " "): name for name in ROLES},
    "sub-processor": "subprocessor",
    "processor": "subprocessor",
    "dalszy podmiot przetwarzajacy": "subprocessor",
    "podmiot przetwarzajacy": "subprocessor",
    "administrator": "independent_controller",
    "controller": "independent_controller",
    "wspoladministrator": "joint_controller",
}
_REGION_WORDS = {"eu": "EU", "ue": "EU", "eea": "EEA", "eog": "EEA"}


_NOT_STATED = ("not stated", "nie podano", "unknown", "nieznane", "brak danych", "?")
_MODULE = re.compile(r"(.+?)[\s,:(]*(?:module|modul)?\s*([1-4])\)?")


@dataclass
class Options:
    """How a sheet is read: see the OpenAPI description of the vendor import."""

    mapping: dict[str, str | None] = field(default_factory=dict)
    unknown_columns: str = "refuse"
    list_separator: str | None = None  # None: detected
    lang: str | None = None  # None: Polish when a recognised header is, else English


def options_from(args: dict) -> Options:
    """The query's options; `mapping` is a JSON object column -> field (null: skip)."""
    mapping: object = {}
    if args.get("mapping"):
        try:
            mapping = load_json(args["mapping"])
        except UnreadableJson as exc:
            raise ValidationFailed(
                "mapping is not JSON.", errors={"mapping": exc.errors["json"]}
            ) from None
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in mapping.items()
    ):
        raise ValidationFailed(
            "mapping is a JSON object of column names to field names.",
            errors={"mapping": ['Write {"column": "field"}; null skips the column.']},
        )
    unknown = sorted({v for v in mapping.values() if v is not None and v not in FIELDS})
    if unknown:
        raise ValidationFailed(
            "mapping names fields a vendor does not have.",
            errors={
                "mapping": [f"Unknown field '{v}'; one of {', '.join(FIELDS)}." for v in unknown]
            },
        )
    return Options(
        mapping=mapping,
        unknown_columns=args.get("unknown_columns", "refuse"),
        list_separator=args.get("list_separator"),
        lang=args.get("lang"),
    )


@dataclass
class Layout:
    """A sheet's header once read: column -> field, and the sheet's language."""

    options: Options
    mapping: dict[str, str] = field(default_factory=dict)
    lang: str = "en"

    def read_header(self, cells: list[str]) -> list[str]:
        """The columns' names as the rows are keyed; refuse a header that cannot be read."""
        header = [cell.strip() for cell in cells]
        self.mapping, self.lang = read_header(header, self.options)
        return header


def read_header(header: list[str], options: Options) -> tuple[dict[str, str], str]:
    """Column -> field for a sheet's header, and its language; every problem at once."""
    explicit = {i18n.lookup_key(k): v for k, v in options.mapping.items()}
    mapping: dict[str, str] = {}
    problems: list[str] = []
    languages: set[str] = set()
    keys = [i18n.lookup_key(name) for name in header]
    for index, (name, key) in enumerate(zip(header, keys, strict=True), start=1):
        if not key:
            problems.append(f"Column {index} has no name.")
        elif keys.index(key) != index - 1:
            problems.append(f"Column '{header[keys.index(key)]}' appears twice.")
        elif key in explicit:
            mapping[name] = explicit[key] or IGNORE
        elif key in _HEADERS:
            mapping[name], lang = _HEADERS[key]
            languages.add(lang or "")
        elif options.unknown_columns == "ignore":
            mapping[name] = IGNORE
        else:
            problems.append(f"Unknown column '{name}'.")
    problems += _clashes(mapping)
    _prefer_own_columns(mapping)
    given = set(mapping.values())
    problems += [
        f"Missing column '{name}'."
        for name in ("name", "legal_entity", "country", "role", "locations")
        if name not in given
    ]
    if not given & {"purpose", "purpose_pl", "purpose_en"}:
        problems.append("Missing column 'purpose_pl' or 'purpose_en' (or 'purpose').")
    if problems:
        raise ValidationFailed(
            "The header names columns this import does not know, or misses some; nothing was "
            'imported. Map a column to a field with `mapping` (JSON: {"column": "field"}), '
            "or skip unknown ones with unknown_columns=ignore. "
            f"Fields: {', '.join(f for f in FIELDS if f != IGNORE)}.",
            errors={"columns": problems},
        )
    lang = options.lang or ("pl" if "pl" in languages else "en")
    return mapping, lang


def _clashes(mapping: dict[str, str]) -> list[str]:
    by_field: dict[str, list[str]] = {}
    for column, name in mapping.items():
        if name != IGNORE:
            by_field.setdefault(name, []).append(column)
    return [
        f"Columns {', '.join(repr(c) for c in columns)} all give '{name}'."
        for name, columns in by_field.items()
        if len(columns) > 1 and not (name == "locations" and "locations_data" in by_field)
    ]


def _prefer_own_columns(mapping: dict[str, str]) -> None:
    """Our CSV export writes each location twice: as people read it, and as the import
    reads it (`locations_data`)."""
    if "locations_data" in mapping.values():
        for column, name in mapping.items():
            if name == "locations":
                mapping[column] = IGNORE
    for column, name in mapping.items():
        if name == "locations_data":
            mapping[column] = "locations"


# --- one row ---------------------------------------------------------------------------------


def detect_separator(cells: list[str]) -> str:
    """`;` when any list cell of the sheet has one, else `,`."""
    return ";" if any(";" in cell for cell in cells) else ","


def list_cells(rows: list[dict[str, str]], mapping: dict[str, str]) -> list[str]:
    """The cells of a sheet that hold lists: what the separator is detected from."""
    lists = {*VENDOR_LIST_COLUMNS, "data_categories", "data_subjects", "locations"}
    columns = [c for c, name in mapping.items() if name in lists]
    return [row.get(c) or "" for row in rows for c in columns]


def split_items(cell: str, separator: str) -> list[str]:
    """Items of a list cell; a separator inside parentheses (an activity) splits nothing."""
    items, depth, current = [], 0, []
    for char in cell:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == separator and depth <= 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


@dataclass
class _Row:
    mapping: dict[str, str]
    lang: str
    separator: str
    data: dict = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)

    def problem(self, name: str, message: str) -> None:
        self.problems.setdefault(name, []).append(message)


def vendor_row(
    cells: dict[str, str], mapping: dict[str, str], options: Options, *, lang: str = "en"
) -> tuple[dict, dict[str, list[str]]]:
    """One row (column -> cell) as a vendor registration body, and its problems by field.

    An empty cell gives nothing. `locations` may name places only (a country in Polish or
    English or its code, 'EU', 'EEA', 'not stated'), whose mechanism is then the
    `transfer_mechanism` cell's (else `none`), or be written in the compact form."""
    row = _Row(mapping, options.lang or lang, options.list_separator or ",")
    given = {
        mapping[column]: _unguarded(cell.strip())
        for column, cell in cells.items()
        if mapping.get(column, IGNORE) != IGNORE and cell and cell.strip()
    }
    if given.keys() & BILINGUAL_SUBJECTS:
        # The one-language view beside the bilingual columns (our CSV export writes it):
        # it would fill the language left empty with the other's text.
        given.pop("data_subject_categories", None)
    mechanism = _mechanism(row, given.pop("transfer_mechanism", ""))
    for name, cell in given.items():
        _convert(row, name, cell, mechanism)
    return row.data, row.problems


def _unguarded(cell: str) -> str:
    """A cell as written before an export guarded it: "'=x" was "=x" (CSV injection)."""
    if cell.startswith("'") and cell[1:2] in FORMULA_STARTS:
        return cell[1:]
    return cell


def _convert(row: _Row, name: str, cell: str, mechanism: dict | None) -> None:
    if name in ONE_LANGUAGE:
        name = f"{ONE_LANGUAGE[name]}_{row.lang}"
    if name == "country":
        code = i18n.country_code(cell)
        if code is None:
            row.problem(
                name, f"'{cell}' is not a country: write its name (Polish or English) or code."
            )
        else:
            row.data[name] = code
    elif name == "role":
        role = _ROLE_WORDS.get(i18n.lookup_key(cell))
        if role is None:
            row.problem(name, f"'{cell}' is not a role: one of {', '.join(ROLES)}.")
        else:
            row.data[name] = role
    elif name == "website" and "://" not in cell:
        row.data[name] = f"https://{cell}"  # "www.example.com" as spreadsheets write it
    elif name in VENDOR_LIST_COLUMNS:
        row.data[name] = split_items(cell, row.separator)
    elif name == "locations":
        _locations(row, cell, mechanism)
    elif name == "listed_until":
        row.problem(name, f"'{cell}': a removal is announced as a change, not imported.")
    elif name not in OUTPUT_FIELDS:
        row.data[name] = cell


def _mechanism(row: _Row, cell: str) -> dict | None:
    """The `transfer_mechanism` cell: 'SCC module 3', 'adekwatność', 'DPF', 'brak'."""
    if not cell:
        return None
    key = i18n.lookup_key(cell)
    if key in _MECHANISM_WORDS:
        return {"mechanism": _MECHANISM_WORDS[key]}
    match = _MODULE.fullmatch(key)
    if match and _MECHANISM_WORDS.get(match.group(1)) == "scc":
        return {"mechanism": "scc", "scc_module": int(match.group(2))}
    row.problem(
        "transfer_mechanism",
        f"'{cell}' is not a transfer mechanism: one of {', '.join(MECHANISMS)} "
        "(an SCC with its module: 'SCC module 3').",
    )
    return None


@cache
def _region_names() -> dict[str, str]:
    pairs = [(code, lang) for code in ("EU", "EEA") for lang in ("pl", "en")]
    return {i18n.lookup_key(i18n.region(code, lang)): code for code, lang in pairs}


def place(text: str) -> dict | None:
    """A place as a list names it: {'country': 'DE'}, {'region': 'EU'}, or None."""
    key = i18n.lookup_key(text)
    if key in _NOT_STATED:
        return {"region": "not_stated"}
    names = {
        i18n.lookup_key(i18n.region(code, lang)): code
        for code in ("EU", "EEA")
        for lang in ("pl", "en")
    }
    region = _REGION_WORDS.get(key) or names.get(key)
    if region is not None:
        return {"region": region}
    code = i18n.country_code(text)
    return {"country": code} if code else None


def _without_status(item: object) -> object:
    if isinstance(item, dict):
        return {k: v for k, v in item.items() if k not in ("safeguard", "safeguard_status")}
    return item


def _locations(row: _Row, cell: str, mechanism: dict | None) -> None:
    if cell.startswith("["):  # the JSON form, as in a JSON body
        try:
            given = load_json(cell)
            # An export states each place's safeguard status beside what was recorded; the
            # status is the registry's finding, not an input.
            row.data["locations"] = (
                [_without_status(item) for item in given] if isinstance(given, list) else given
            )
        except UnreadableJson as exc:
            row.problem("locations", f"Not a valid JSON array: {exc.errors['json'][0]}")
        return
    locations = []
    for index, raw in enumerate(split_items(cell, row.separator), start=1):
        try:
            locations.append(_location(raw, mechanism, row.lang))
        except ValueError as exc:
            row.problem("locations", f"Entry {index} '{raw}': {exc}")
    row.data["locations"] = locations


def _location(raw: str, mechanism: dict | None, lang: str) -> dict:
    entry, activity = _activity(raw)
    where, colon, rest = entry.partition(":")
    found = place(where)
    if found is None:
        raise ValueError(
            f"'{where.strip()}' is not a country (its name in Polish or English, or its "
            "code), 'EU', 'EEA' or 'not stated'; write PLACE or "
            "COUNTRY:MECHANISM[:DETAILS] [(activity)], e.g. 'DE:none (hosting)'."
        )
    if colon:
        location = {**found, **_compact(rest)}
    else:
        location = {**found, **(mechanism or {"mechanism": "none"})}
    if " | " in activity:  # "(polski | English)": one per language
        pl, _, en = activity.partition(" | ")
        location.update(activity_pl=pl.strip(), activity_en=en.strip())
    elif activity and colon:  # the compact form: one text fills both languages
        location["activity"] = activity
    elif activity:  # a place as a sheet names it: in the sheet's language
        location[f"activity_{lang}"] = activity
    return location


def _compact(rest: str) -> dict:
    """'scc:3:general:30' after the place: the mechanism and its details in order."""
    mechanism, _, details = rest.partition(":")
    mechanism = mechanism.strip().lower()
    if mechanism not in MECHANISMS:
        raise ValueError(f"unknown mechanism '{mechanism}'; one of {', '.join(MECHANISMS)}.")
    location: dict = {"mechanism": mechanism}
    names = LOCATION_DETAILS.get(mechanism, ())
    if details.strip():
        parts = details.split(":") if len(names) > 1 else [details]
        if len(parts) > len(names):
            expected = ":".join(names) if names else "no details"
            raise ValueError(f"'{mechanism}' takes {expected}.")
        given = zip(names, (part.strip() for part in parts), strict=False)
        location.update({name: part for name, part in given if part})
    return location


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
