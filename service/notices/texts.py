"""The words for how a change stands for a customer, shared by the API, the portal, the DPA
annex and the Art. 30(2) record, so that all of them say the same."""

from __future__ import annotations

from service.notices import rules

STATES: dict[str, dict[str, str]] = {
    "pl": {
        rules.APPLIES: "obowiązuje",
        rules.OBJECTED: "sprzeciw — w toku rozpatrywania",
        rules.AWAITING_CONSENT: "oczekuje na zgodę",
        rules.REFUSED: "odmowa zgody",
        rules.NOTICE_RUNNING: "biegnie okres zawiadomienia",
        rules.UNDELIVERED: "zawiadomienie niedoręczone",
        rules.EXCLUDED: "wyłączony dla tego klienta",
        "not_in_effect": "jeszcze nie obowiązuje",
    },
    "en": {
        rules.APPLIES: "applies",
        rules.OBJECTED: "objected — pending",
        rules.AWAITING_CONSENT: "awaiting consent",
        rules.REFUSED: "consent refused",
        rules.NOTICE_RUNNING: "notice period running",
        rules.UNDELIVERED: "notice not delivered",
        rules.EXCLUDED: "excluded for this customer",
        "not_in_effect": "not in effect yet",
    },
}


def labels(state: str) -> dict[str, str]:
    return {lang: words[state] for lang, words in STATES.items()}
