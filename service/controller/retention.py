"""A processing activity's retention rule in words, and the day it makes data due for deletion.

The record states "the envisaged time limits for erasure" (Art. 30(1)(f)) and the policy "the
period for which the personal data will be stored, or the criteria used to determine it"
(Art. 13(2)(a)). Both read the rule from here, so neither can say more than was recorded: an
activity without years and without a note has no rule, and says so. Numbers of years are
written by CLDR's plural rules (`i18n.years`: "1 rok", "2 lata", "5 lat", "22 lata"); the date
arithmetic is the purge's own (`service.retention.rules`).
"""

from __future__ import annotations

from datetime import date

from service import i18n
from service.controller.models import ProcessingActivity
from service.controller.texts import TEXTS
from service.retention import rules

CONSENT = "consent_withdrawal"


def has_rule(activity: ProcessingActivity) -> bool:
    """A time limit for erasure is stated (Art. 30(1)(f)): a period in years, "until
    consent is withdrawn" (Art. 7(3)), or a note for what years cannot say."""
    return (
        activity.retention_years is not None
        or activity.retention_from == CONSENT
        or bool(activity.retention_note_pl.strip() or activity.retention_note_en.strip())
    )


def _period(activity: ProcessingActivity, lang: str) -> str:
    """'6 lat + 1 rok od końca roku, w którym umowa się zakończyła', 'do czasu wycofania
    zgody', or '' when only a note was recorded."""
    t = TEXTS[lang]
    if activity.retention_years is None:
        return t["until_withdrawal"] if activity.retention_from == CONSENT else ""
    period = i18n.years(activity.retention_years, lang)
    if activity.retention_extra_years:
        period += f" + {i18n.years(activity.retention_extra_years, lang)}"
    start = t["retention_from"].get(activity.retention_from or "")
    return f"{period} {start}" if start else period


def rule_text(activity: ProcessingActivity, lang: str) -> str:
    """The retention rule of `activity` in `lang`: the period, its legal basis in brackets,
    then the note; or that no period has been set."""
    if not has_rule(activity):
        return TEXTS[lang]["no_rule"]
    text = _period(activity, lang)
    basis = i18n.text_in(lang, pl=activity.retention_basis_pl, en=activity.retention_basis_en)
    if basis and text:
        text += f" ({basis})"
    note = i18n.text_in(lang, pl=activity.retention_note_pl, en=activity.retention_note_en)
    return "; ".join(part for part in (text, note) if part)


def deletion_due_on(activity: ProcessingActivity, event_day: date | None) -> date | None:
    """The first day the data of one case may be deleted, counted from `event_day` (the
    contract's end, the collection, the last activity, the withdrawal of consent); None
    when the event has not happened or no period in years was set."""
    if event_day is None:
        return None
    if activity.retention_years is None:
        # Kept until consent is withdrawn, then erased without undue delay (Art. 7(3), 17(1)(b)).
        return event_day if activity.retention_from == CONSENT else None
    return rules.deletion_due_on(
        event_day,
        activity.retention_years + activity.retention_extra_years,
        activity.retention_from or "",
    )
