"""How outputs state a transfer's safeguard, in Polish and English, from its status.

Every text that names a safeguard (public page, feeds, privacy-policy section, record,
annexes, e-mails, portal) takes it from here, for the status `rules.transfer_status` gives on
the date the text is about:

- a valid safeguard is named precisely: the decision by number and date, the SCC set, module
  and signing date, the DPF certification (Decision 2023/1795) with its risk note;
- a gap reads "no valid safeguard recorded" in internal outputs and "safeguard under review"
  in public ones, never the mechanism that was recorded;
- "no transfer" is said only where no place outside the EEA is reached.

Instrument names are built from the reference data's `act`, `number` and `adopted` (never
from its English `decision` title, nor from a field marked `verify`). Polish follows the
Polish texts of the GDPR and Decision 2021/914 and puts the instrument in the genitive after
"na podstawie"; dates and country names come from `service.i18n`.
"""

from __future__ import annotations

from datetime import date

from service import i18n, reference
from service.compliance import rules

TEXTS: dict[str, dict] = {
    "pl": {
        "no_transfer": "bez przekazywania poza Europejski Obszar Gospodarczy",
        "gap_internal": "brak ważnego zabezpieczenia w rejestrze",
        "gap_public": "zabezpieczenie w trakcie weryfikacji",
        "unverified_internal": "data zawarcia nieodnotowana, do weryfikacji",
        "acts": {
            "decision": "decyzji Komisji {number}z dnia {day}",
            "implementing_decision": "decyzji wykonawczej Komisji {number}z dnia {day}",
            "agreement": (
                "art. FINPROV.10A Umowy o handlu i współpracy między Unią Europejską a "
                "Zjednoczonym Królestwem"
            ),
        },
        "adequacy": "na podstawie {act} stwierdzającej odpowiedni stopień ochrony (art. 45 RODO)",
        "dpf": (
            "na podstawie {act} w sprawie ram ochrony danych UE-USA (art. 45 RODO); "
            "certyfikacja podmiotu odbierającego dane{entity}{since}"
        ),
        "dpf_entity": ": {entity}",
        "dpf_since": ", od {day}",
        "scc": (
            "na podstawie standardowych klauzul umownych z załącznika do {act}{module}"
            "{signed} (art. 46 ust. 2 lit. c RODO)"
        ),
        "scc_module": " (moduł {ordinal}: {title})",
        "scc_signed": ", zawartych {day}",
        "scc_transition": (
            ", pod warunkiem że operacje przetwarzania pozostają niezmienione (art. 4 ust. 4 "
            "decyzji wykonawczej Komisji (UE) 2021/914)"
        ),
        "ordinals": {1: "pierwszy", 2: "drugi", 3: "trzeci", 4: "czwarty"},
        "module_titles": {
            1: "przekazywanie od administratora do administratora",
            2: "przekazywanie od administratora do podmiotu przetwarzającego",
            3: "przekazywanie od podmiotu przetwarzającego do podmiotu przetwarzającego",
            4: "przekazywanie od podmiotu przetwarzającego do administratora",
        },
        "bcr": "na podstawie wiążących reguł korporacyjnych (art. 47 RODO){detail}",
        "code_of_conduct": (
            "na podstawie zatwierdzonego kodeksu postępowania wraz z wiążącymi i egzekwowalnymi "
            "zobowiązaniami podmiotu odbierającego dane (art. 46 ust. 2 lit. e RODO){detail}"
        ),
        "certification": (
            "na podstawie zatwierdzonego mechanizmu certyfikacji wraz z wiążącymi i "
            "egzekwowalnymi zobowiązaniami podmiotu odbierającego dane (art. 46 ust. 2 lit. f "
            "RODO){detail}"
        ),
        "ad_hoc_clauses": (
            "na podstawie klauzul umownych zatwierdzonych przez organ nadzorczy (art. 46 ust. 3 "
            "lit. a RODO){detail}"
        ),
        "derogation": "na podstawie wyjątku przewidzianego w {article} RODO",
        "derogation_articles": {
            "compelling_legitimate_interests": "art. 49 ust. 1 akapit drugi",
            "ground": "art. 49 ust. 1 lit. {ground}",
        },
        "courts": {
            "General Court": "Sąd Unii Europejskiej",
            "Court of Justice": "Trybunał Sprawiedliwości Unii Europejskiej",
        },
        "risk_decided": "{court} oddalił skargę na tę decyzję wyrokiem z dnia {day} ({case})",
        "risk_pending": "odwołanie od tego wyroku ({case}) czeka na rozstrzygnięcie",
        "risk_lead": "Ramy ochrony danych UE-USA: ",
    },
    "en": {
        "no_transfer": "no transfer outside the European Economic Area",
        "gap_internal": "no valid safeguard recorded",
        "gap_public": "safeguard under review",
        "unverified_internal": "signing date not recorded, to be verified",
        "acts": {
            "decision": "Commission Decision {number}of {day}",
            "implementing_decision": "Commission Implementing Decision {number}of {day}",
            "agreement": (
                "Art. FINPROV.10A of the Trade and Cooperation Agreement between the European "
                "Union and the United Kingdom"
            ),
        },
        "adequacy": "based on {act}, an adequacy decision (Art. 45 GDPR)",
        "dpf": (
            "based on {act} on the EU-US Data Privacy Framework (Art. 45 GDPR); certification "
            "of the data importer{entity}{since}"
        ),
        "dpf_entity": ": {entity}",
        "dpf_since": ", since {day}",
        "scc": (
            "based on the standard contractual clauses annexed to {act}{module}{signed} "
            "(Art. 46(2)(c) GDPR)"
        ),
        "scc_module": " (Module {ordinal}: {title})",
        "scc_signed": ", signed on {day}",
        "scc_transition": (
            ", provided the processing operations remain unchanged (Art. 4(4) of Commission "
            "Implementing Decision (EU) 2021/914)"
        ),
        "ordinals": {1: "One", 2: "Two", 3: "Three", 4: "Four"},
        "module_titles": {
            1: "transfer controller to controller",
            2: "transfer controller to processor",
            3: "transfer processor to processor",
            4: "transfer processor to controller",
        },
        "bcr": "based on binding corporate rules (Art. 47 GDPR){detail}",
        "code_of_conduct": (
            "based on an approved code of conduct with binding and enforceable commitments of "
            "the data importer (Art. 46(2)(e) GDPR){detail}"
        ),
        "certification": (
            "based on an approved certification mechanism with binding and enforceable "
            "commitments of the data importer (Art. 46(2)(f) GDPR){detail}"
        ),
        "ad_hoc_clauses": (
            "based on contractual clauses authorised by a supervisory authority (Art. 46(3)(a) "
            "GDPR){detail}"
        ),
        "derogation": "under the derogation of {article} GDPR",
        "derogation_articles": {
            "compelling_legitimate_interests": "Art. 49(1), second subparagraph,",
            "ground": "Art. 49(1)({ground})",
        },
        "courts": {
            "General Court": "the General Court",
            "Court of Justice": "the Court of Justice",
        },
        "risk_decided": "{court} dismissed the action against the decision on {day} ({case})",
        "risk_pending": "an appeal against that judgment ({case}) is pending",
        "risk_lead": "EU-US Data Privacy Framework: ",
    },
}
# The detail field each Art. 46/47 tool carries: the register's own reference, shown as is.
DETAIL_FIELDS = {
    "bcr": "bcr_reference",
    "code_of_conduct": "code_of_conduct_name",
    "certification": "certification_name",
    "ad_hoc_clauses": "ad_hoc_authorisation",
}


def act_name(entry: dict, lang: str) -> str:
    """The instrument of a reference entry, in the genitive in Polish: 'decyzji wykonawczej
    Komisji (UE) 2019/419 z dnia 23 stycznia 2019 r.'. An unconfirmed number is left out."""
    number = entry.get("number") if "number" not in entry.get("verify", ()) else None
    if number and lang == "pl":
        number = number.replace("(EU)", "(UE)").replace("/EU", "/UE").replace("/EC", "/WE")
    return TEXTS[lang]["acts"][entry["act"]].format(
        number=f"{number} " if number else "",
        day=i18n.day(date.fromisoformat(entry["adopted"]), lang),
    )


def safeguard(status: rules.TransferStatus, day: date, lang: str, *, public: bool) -> str:
    """What may be said of one transfer on `day`: see the module docstring."""
    t = TEXTS[lang]
    if status.state == rules.NO_TRANSFER:
        return t["no_transfer"]
    if status.state == rules.GAP or (status.state == rules.UNVERIFIED and public):
        return t["gap_public" if public else "gap_internal"]
    text = _valid(status, day, lang)
    if status.state == rules.UNVERIFIED:
        text += f"; {t['unverified_internal']}"
    return text


def _valid(status: rules.TransferStatus, day: date, lang: str) -> str:
    t = TEXTS[lang]
    location = status.location
    mechanism = location["mechanism"]
    if status.relies_on_dpf:
        return _dpf(status.vendor, lang)
    if mechanism == "adequacy":
        decisions = [reference.adequacy_on(place, day) for place in status.places]
        return "; ".join(t["adequacy"].format(act=act_name(d, lang)) for d in _unique(decisions))
    if mechanism == "scc":
        return _scc(location, day, lang)
    if mechanism == "derogation":
        return t["derogation"].format(article=_article(location["derogation_ground"], lang))
    value = location.get(DETAIL_FIELDS.get(mechanism, ""))
    return t[mechanism].format(detail=f": {value}" if value else "")


def _unique(decisions: list[dict | None]) -> list[dict]:
    seen: dict[str, dict] = {}
    for decision in decisions:
        if decision is not None:
            seen.setdefault(decision["id"], decision)
    return list(seen.values())


def _dpf(vendor: rules.Vendor, lang: str) -> str:
    t = TEXTS[lang]
    since = vendor.dpf_certified_from
    return t["dpf"].format(
        act=act_name(reference.dpf_decision(), lang),
        entity=t["dpf_entity"].format(entity=vendor.dpf_certified_entity)
        if vendor.dpf_certified_entity
        else "",
        since=t["dpf_since"].format(day=i18n.day(since, lang)) if since else "",
    )


def _scc(location: dict, day: date, lang: str) -> str:
    t = TEXTS[lang]
    clauses = rules.scc_clauses(location)
    module = location.get("scc_module")
    signed = location.get("scc_signed_on")
    text = t["scc"].format(
        act=act_name(clauses, lang),
        module=t["scc_module"].format(
            ordinal=t["ordinals"][module], title=t["module_titles"][module]
        )
        if module
        else "",
        signed=t["scc_signed"].format(day=i18n.day(signed, lang)) if signed else "",
    )
    if clauses.get("transition_condition") and day > date.fromisoformat(
        clauses["new_contracts_until"]
    ):
        text += t["scc_transition"]
    return text


def _article(ground: str, lang: str) -> str:
    articles = TEXTS[lang]["derogation_articles"]
    return articles.get(ground) or articles["ground"].format(ground=ground)


def risk_note(lang: str) -> str:
    """The court cases about the DPF, for every text that relies on it."""
    t = TEXTS[lang]
    parts = []
    for case in reference.litigation(reference.dpf_decision()):
        if case.get("decided_on"):
            parts.append(
                t["risk_decided"].format(
                    court=t["courts"][case["court"]],
                    day=i18n.day(date.fromisoformat(case["decided_on"]), lang),
                    case=case["case"],
                )
            )
        else:
            parts.append(t["risk_pending"].format(case=case["case"]))
    text = "; ".join(parts)
    return f"{t['risk_lead']}{text[:1].upper()}{text[1:]}." if text else ""
