"""The one localization layer: country names, dates and numbers from CLDR (Babel).

Pages, e-mails, the records and the legal texts all name a country or a date through this
module, so a Polish text says "Stany Zjednoczone" and "5 grudnia 2026 r." wherever it is
written, and no second table of names can drift from the first.
"""

from __future__ import annotations

from datetime import date
from functools import cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

# English legal texts follow EU usage (5 December 2026), not the US one (December 5, 2026).
CLDR_LOCALES = {"pl": "pl_PL", "en": "en_GB"}
# Polish legal style closes a written-out date with "r." (roku): "5 grudnia 2026 r.".
DATE_SUFFIX = {"pl": " r."}


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(CLDR_LOCALES.get(lang, lang))


def day(value: date, lang: str) -> str:
    """A date written out as a legal text writes it: '5 grudnia 2026 r.', '5 December 2026'."""
    return format_date(value, format="long", locale=_locale(lang)) + DATE_SUFFIX.get(lang, "")


def country(code: str, lang: str) -> str:
    """The country's name in `lang` (CLDR); an unknown code is returned as it is."""
    return _locale(lang).territories.get(code, code)


def country_label(code: str | None, lang: str) -> str:
    """'Stany Zjednoczone (US)': the name and the ISO code, which every reader can check."""
    return f"{country(code, lang)} ({code})" if code else ""


def number(value: int | float, lang: str) -> str:
    return format_decimal(value, locale=_locale(lang))
