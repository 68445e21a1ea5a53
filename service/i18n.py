"""The one localization layer: country names, dates and numbers from CLDR (Babel).

Pages, e-mails, the records and the legal texts all name a country or a date through this
module, so a Polish text says "Stany Zjednoczone" and "5 grudnia 2026 r." wherever it is
written, and no second table of names can drift from the first.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta, get_timezone_name
from babel.numbers import format_decimal
from babel.units import format_unit

# English legal texts follow EU usage (5 December 2026), not the US one (December 5, 2026).
CLDR_LOCALES = {"pl": "pl_PL", "en": "en_GB"}
# Polish legal style closes a written-out date with "r." (roku): "5 grudnia 2026 r.".
DATE_SUFFIX = {"pl": " r."}


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(CLDR_LOCALES.get(lang, lang))


def load() -> None:
    """Read the CLDR data of every language now (at app start, before a worker serves), not
    in the first request of a process that names a country or a date: 90 ms of a fresh
    worker's first public list (577 ms at load 12; 140 ms for the same render once warm)."""
    for lang in CLDR_LOCALES:
        _ = _locale(lang).territories


def day(value: date, lang: str) -> str:
    """A date written out as a legal text writes it: '5 grudnia 2026 r.', '5 December 2026'."""
    return format_date(value, format="long", locale=_locale(lang)) + DATE_SUFFIX.get(lang, "")


def local(value: datetime, timezone: str) -> datetime:
    """An instant on the wall clock of `timezone` (an IANA name, e.g. Europe/Warsaw)."""
    return value.astimezone(ZoneInfo(timezone))


def zone(value: datetime, lang: str) -> str:
    """The zone of a local instant, named: 'czas środkowoeuropejski standardowy, CET'."""
    name = get_timezone_name(value, width="long", locale=_locale(lang))
    return f"{name}, {format_datetime(value, 'zzz', locale=_locale(lang))}"


def moment(value: datetime, timezone: str, lang: str) -> str:
    """An instant as a person in `timezone` reads it, with the zone named:
    '19 grudnia 2026 r., 14:30 (czas środkowoeuropejski standardowy, CET)'."""
    at = local(value, timezone)
    clock_time = format_datetime(at, "HH:mm", locale=_locale(lang))
    return f"{day(at.date(), lang)}, {clock_time} ({zone(at, lang)})"


def country(code: str, lang: str) -> str:
    """The country's name in `lang` (CLDR); an unknown code is returned as it is."""
    return _locale(lang).territories.get(code, code)


def country_label(code: str | None, lang: str) -> str:
    """'Stany Zjednoczone (US)': the name and the ISO code, which every reader can check."""
    return f"{country(code, lang)} ({code})" if code else ""


# A location a list names without a country (service.recipients.models.REGIONS). The EU's
# name is CLDR's; the EEA and "not stated" have none there, so they are our wording.
REGION_NAMES = {
    "pl": {"EEA": "Europejski Obszar Gospodarczy", "not_stated": "nie podano"},
    "en": {"EEA": "European Economic Area", "not_stated": "not stated"},
}


def region(code: str, lang: str) -> str:
    """'Unia Europejska', 'European Economic Area', 'not stated'."""
    if code == "EU":
        return country(code, lang)
    return REGION_NAMES.get(lang, REGION_NAMES["en"]).get(code, code)


def place_label(location: dict, lang: str) -> str:
    """Where a location is: a country with its code, an international organisation, a region."""
    if location.get("country"):
        return country_label(location["country"], lang)
    if location.get("region"):
        return region(location["region"], lang)
    return location.get("international_organisation") or ""


def lookup_key(text: str) -> str:
    """How a typed name is compared: case, accents and spacing do not count ('Łódź' is 'lodz')."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ł", "l").replace("Ł", "L"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().replace("_", " ").split())


@cache
def _country_codes_by_name() -> dict[str, str]:
    # Every CLDR name of a country in Polish and English (British and American), and the
    # code itself. Only two-letter codes that are countries: CLDR also names regions
    # ("150" Europe, "EU", "EZ" the eurozone, "UN"), which are not a place of establishment.
    from service.reference import country_codes

    codes = country_codes()
    table: dict[str, str] = {}
    for name in ("pl_PL", "en_GB", "en_US"):
        for code, label in Locale.parse(name).territories.items():
            if code in codes:
                table.setdefault(lookup_key(label), code)
    for code in codes:
        table[lookup_key(code)] = code
    return table


def country_code(text: str) -> str | None:
    """The ISO code of a country named in Polish or English, or given by its code; else None."""
    return _country_codes_by_name().get(lookup_key(text))


def number(value: int | float, lang: str) -> str:
    return format_decimal(value, locale=_locale(lang))


def years(count: int, lang: str) -> str:
    """A number of years with the noun CLDR's plural rules give it: '1 rok', '2 lata',
    '5 lat', '22 lata'; '1 year', '6 years'."""
    return format_unit(count, "duration-year", length="long", locale=_locale(lang))


def wait(seconds: int, lang: str) -> str:
    """A wait from now, rounded as people say it: 'za 2 minuty', 'in 2 minutes'."""
    return format_timedelta(timedelta(seconds=seconds), add_direction=True, locale=_locale(lang))


# A label given in one language only: an output in the other shows it, marked, rather than
# nothing (a record or an annex that silently drops whose data it is would be wrong).
OTHER_LANGUAGE_MARK = {"pl": " (tylko po angielsku)", "en": " (in Polish only)"}
OTHER = {"pl": "en", "en": "pl"}


def text_in(lang: str, **by_lang: str | None) -> str:
    """`by_lang[lang]`, else the other language's text marked as such, else ''."""
    own = by_lang.get(lang) or ""
    if own:
        return own
    other = by_lang.get(OTHER[lang]) or ""
    return other + OTHER_LANGUAGE_MARK[lang] if other else ""


def list_in(lang: str, **by_lang: list | None) -> list[str]:
    """`text_in` for lists of labels: each of the other language's labels is marked."""
    own = list(by_lang.get(lang) or ())
    if own:
        return own
    return [item + OTHER_LANGUAGE_MARK[lang] for item in by_lang.get(OTHER[lang]) or ()]


def neutral(**by_lang: object) -> object:
    """The value for a reader of no stated language (the API): English, else Polish."""
    return by_lang.get("en") or by_lang.get("pl")
