"""Dated, sourced reference data kept as JSON beside this module, not as literals in code.

Every file names its source and the day it was retrieved; every entry its window. An operator
(or a test) points `REFERENCE_DATA_DIR` at a directory holding replacements for any of the
files: a file found there wins over the packaged one of the same name, and a replaced file
is read again at once (its modification time is part of the cache key), so every answer
computed from it, such as the compliance report, follows without a restart.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from flask import current_app, has_app_context

DATA = Path(__file__).with_name("data")
FILES = ("countries", "eea", "adequacy", "scc", "derogations")
# The EU-US frameworks are adequacy decisions covering certified organisations only.
US_CERTIFICATION = "us_framework_certification"


def data_dir() -> Path | None:
    """The operator's override directory, if one is configured."""
    if has_app_context():
        configured = current_app.config.get("REFERENCE_DATA_DIR")
        if configured:
            return Path(configured)
    return None


def path_of(name: str) -> Path:
    override = data_dir()
    if override is not None and (override / f"{name}.json").is_file():
        return override / f"{name}.json"
    return DATA / f"{name}.json"


@lru_cache(maxsize=64)
def _parse(path: str, mtime_ns: int, size: int) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


# Inside `pinned()`: the files read so far and answers derived from them, for this block only.
_PINNED: ContextVar[dict | None] = ContextVar("reference_pinned", default=None)


@contextmanager
def pinned() -> Iterator[None]:
    """Read each file at most once inside the block (nested blocks share the outer one).

    Judging 10,000 vendors' locations asked for a file 66,000 times, each a stat of the
    override and the file: 2.8 of the CSV export's 9.2 s under cProfile. A block is one
    rendering, so a file replaced meanwhile is still read by the next one."""
    if _PINNED.get() is not None:
        yield
        return
    token = _PINNED.set({})
    try:
        yield
    finally:
        _PINNED.reset(token)


def _held(key: tuple, compute: Callable[[], object]) -> object:
    """`compute()`, kept for the rest of the `pinned()` block when inside one."""
    held = _PINNED.get()
    if held is None:
        return compute()
    if key not in held:
        held[key] = compute()
    return held[key]


def _read(name: str) -> dict:
    path = path_of(name)
    stat = path.stat()
    return _parse(str(path), stat.st_mtime_ns, stat.st_size)


def _load(name: str) -> dict:
    return _held(("file", name), lambda: _read(name))


def retrieved_on() -> dict[str, str]:
    """When each file in use was retrieved from its source: which law a report applied."""
    return {name: _load(name).get("retrieved_on", "") for name in FILES}


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _within(entry: dict, on: date) -> bool:
    start, end = _day(entry.get("from")), _day(entry.get("until"))
    return (start is None or start <= on) and (end is None or on <= end)


# --- countries, the EU and the EEA ---------------------------------------------------------


def country_codes() -> frozenset[str]:
    return frozenset(_load("countries")["codes"])


def is_country(code: str) -> bool:
    return code in country_codes()


def country_name(code: str) -> str:
    return _load("countries")["codes"].get(code, code)


def _member(entries: list[dict], country: str, on: date) -> bool:
    return any(entry["country"] == country and _within(entry, on) for entry in entries)


def in_eu(country: str, on: date) -> bool:
    return _held(("eu", country, on), lambda: _member(_load("eea")["eu"], country, on))


def _in_eea(country: str, on: date) -> bool:
    data = _load("eea")
    return _member(data["eu"], country, on) or _member(data["eea_non_eu"], country, on)


def in_eea(country: str, on: date) -> bool:
    # Asked four times per location (the place and the importer, twice): kept per block.
    return _held(("eea", country, on), lambda: _in_eea(country, on))


# --- adequacy (Art. 45) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where data goes: a country (ISO 3166-1 alpha-2), an international organisation, or a
    region a list names instead of a country ('EU', 'EEA', or 'not_stated')."""

    country: str | None = None
    organisation: str | None = None
    region: str | None = None

    @property
    def label(self) -> str:
        return self.country or self.organisation or self.region or "?"

    def in_eea(self, on: date) -> bool:
        # An international organisation is outside the EEA wherever its seat is (Art. 44);
        # a place not stated may be anywhere, so it is never taken to be inside.
        if self.region is not None:
            return self.region in ("EU", "EEA")
        return self.country is not None and in_eea(self.country, on)

    def in_eu(self, on: date) -> bool:
        if self.region is not None:
            return self.region == "EU"
        return self.country is not None and in_eu(self.country, on)


def _place(place: Place | str) -> Place:
    return Place(country=place) if isinstance(place, str) else place


def _names(entry: dict) -> set[str]:
    names = [entry.get("international_organisation") or "", *entry.get("aliases", [])]
    return {n.casefold().strip() for n in names if n}


def _about(entry: dict, place: Place) -> bool:
    if place.country is not None:
        return entry.get("country") == place.country
    return (place.organisation or "").casefold().strip() in _names(entry)


def adequacy_decisions(place: Place | str | None = None) -> list[dict]:
    """Every decision in the data, or those about `place`, oldest first."""
    decisions = _load("adequacy")["decisions"]
    if place is None:
        return list(decisions)
    where = _place(place)
    # Scanned for every location judged (236,000 `_about` calls at 10,000 vendors): kept per
    # `pinned()` block, a copy handed out.
    return list(_held(("adequacy", where), lambda: [d for d in decisions if _about(d, where)]))


def adequacy_on(place: Place | str, on: date) -> dict | None:
    """The decision in force for `place` on `on`, whatever conditions it sets."""
    for decision in adequacy_decisions(place):
        if _within(decision, on):
            return decision
    return None


def adequacy_covers(place: Place | str, on: date, *, dpf_certified: bool = False) -> bool:
    """True when a decision covers `place` on `on`; the US ones only certified importers."""
    decision = adequacy_on(place, on)
    if decision is None:
        return False
    return decision.get("requires") != US_CERTIFICATION or dpf_certified


def adequacy_ever(place: Place | str) -> bool:
    """Whether any decision in the data has ever covered, or will cover, `place`."""
    return bool(adequacy_decisions(place))


def us_framework_on(on: date) -> dict | None:
    """The EU-US framework (Safe Harbour, Privacy Shield, DPF) in force on `on`, if any."""
    for decision in adequacy_decisions("US"):
        if decision.get("requires") == US_CERTIFICATION and _within(decision, on):
            return decision
    return None


# --- transfer instruments --------------------------------------------------------------------


def instrument(name: str) -> dict | None:
    """An instrument by id: an SCC set ('scc_2010', 'scc_2021') or an adequacy decision
    (its id, e.g. 'GB-2021', or its instrument name, e.g. 'privacy_shield', 'dpf')."""
    for entry in _load("scc")["instruments"]:
        if entry["id"] == name:
            return entry
    for entry in _load("adequacy")["decisions"]:
        if name in (entry["id"], entry.get("instrument")):
            return entry
    return None


def instrument_valid(name: str, on: date) -> bool:
    entry = instrument(name)
    if entry is None:
        raise KeyError(f"no instrument '{name}' in the reference data")
    return _within(entry, on)


def scc_sets() -> dict[str, dict]:
    """The SCC sets by their number ("2010/87", "2021/914"), oldest first."""
    return {entry["set"]: entry for entry in _load("scc")["instruments"]}


def scc_instrument(on: date, signed_on: date | None = None, name: str | None = None) -> dict:
    """The SCC set a location relies on: the one recorded (`name`, e.g. "2010/87"); for a
    record without it, that of its signing date, else the set in force on `on` (the 2010
    clauses before the 2021 ones began)."""
    sets = scc_sets()
    if name in sets:
        return sets[name]
    new = sets["2021/914"]
    basis = signed_on or on
    return new if basis >= _day(new["from"]) else sets["2010/87"]


def scc_modules() -> dict[int, dict]:
    return {int(k): v for k, v in _load("scc")["modules"].items()}


def scc_module_for(exporter: str, importer: str) -> int:
    for number, module in scc_modules().items():
        if module["exporter"] == exporter and module["importer"] == importer:
            return number
    raise KeyError(f"no SCC module for {exporter} to {importer}")


def clause9_modules() -> frozenset[int]:
    return frozenset(_load("scc")["clause9"]["modules"])


def tia_required_from() -> date:
    """Since Schrems II, a transfer on an Art. 46 tool needs a transfer impact assessment."""
    return date.fromisoformat(_load("scc")["tia_required_from"])


def us_frameworks() -> list[dict]:
    """Safe Harbour, the Privacy Shield and the DPF: separate instruments, oldest first."""
    return [d for d in adequacy_decisions("US") if d.get("requires") == US_CERTIFICATION]


def dpf_decision() -> dict:
    """The EU-US Data Privacy Framework (Decision 2023/1795), with its litigation."""
    return next(d for d in us_frameworks() if d.get("instrument") == "dpf")


def litigation(decision: dict) -> list[dict]:
    """Court cases about `decision` recorded in the reference data (a risk to rely on it)."""
    return list(decision.get("litigation") or ())


# --- Art. 49 derogations ---------------------------------------------------------------------


def derogation_grounds() -> dict[str, dict]:
    return dict(_load("derogations")["grounds"])


# --- checking the files ------------------------------------------------------------------


def problems() -> list[str]:
    """What is wrong with the files in use (empty when they are sound)."""
    found: list[str] = []
    for name in FILES:
        try:
            data = _load(name)
        except (OSError, ValueError) as error:
            found.append(f"{name}: {error}")
            continue
        for key in ("source", "retrieved_on"):
            if not data.get(key):
                found.append(f"{name}: no '{key}'")
    entries = [
        *(("eea", e) for e in _load("eea")["eu"] + _load("eea")["eea_non_eu"]),
        *(("adequacy", e) for e in _load("adequacy")["decisions"]),
        *(("scc", e) for e in _load("scc")["instruments"]),
    ]
    for name, entry in entries:
        try:
            start, end = _day(entry.get("from")), _day(entry.get("until"))
        except ValueError as error:
            found.append(f"{name}: {entry}: {error}")
            continue
        if start is None:
            found.append(f"{name}: {entry} has no 'from'")
        elif end is not None and end < start:
            found.append(f"{name}: {entry} ends before it starts")
        country = entry.get("country")
        if country is not None and not is_country(country):
            found.append(f"{name}: {country} is no ISO 3166-1 code")
        if name == "adequacy" and (country is None) == (
            not entry.get("international_organisation")
        ):
            found.append(f"adequacy: {entry['id']} needs a country or an organisation")
    return found
