"""Dated, sourced reference data kept as JSON beside this module, not as literals in code."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data")


@cache
def _load(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def country_codes() -> frozenset[str]:
    return frozenset(_load("countries")["codes"])


def is_country(code: str) -> bool:
    return code in country_codes()


def _member(entries: list[dict], country: str, on: date) -> bool:
    for entry in entries:
        if entry["country"] != country:
            continue
        start = date.fromisoformat(entry["from"])
        end = date.fromisoformat(entry["until"]) if entry.get("until") else None
        if start <= on and (end is None or on <= end):
            return True
    return False


def in_eu(country: str, on: date) -> bool:
    return _member(_load("eea")["eu"], country, on)


def in_eea(country: str, on: date) -> bool:
    data = _load("eea")
    return _member(data["eu"], country, on) or _member(data["eea_non_eu"], country, on)
