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


# The words of a change as people read it (service/notices/presenting.py): e-mails, the
# answer pages, the portal, the public page and the Atom feed. Polish follows the Polish
# text of the GDPR: "dalszy podmiot przetwarzający", "administrator", "ogólna / szczegółowa
# pisemna zgoda" (Art. 28(2)).
CHANGE: dict[str, dict] = {
    "pl": {
        "kinds": {
            "add": "dodanie",
            "replace": "zastąpienie",
            "update": "istotna zmiana",
            "remove": "usunięcie",
        },
        "title": "{kind}: {vendor} (od {day})",
        "withdrawn_title": "Wycofano: {title}",
        "replaces": "zastępuje",
        "roles": {
            "subprocessor": "dalszy podmiot przetwarzający (art. 28 ust. 4 RODO)",
            "independent_controller": "odrębny administrator",
            "joint_controller": "współadministrator",
        },
        "fields": {
            "country": "państwo siedziby",
            "role": "rola",
            "purpose": "cel przetwarzania",
            "data_categories": "kategorie danych",
            "data_subject_categories": "kategorie osób, których dane dotyczą",
            "services": "usługi",
            "locations": "miejsca przetwarzania",
        },
        "labels": {
            "vendor": "Podmiot",
            "legal_entity": "Nazwa prawna, adres i państwo siedziby",
            "role": "Rola",
            "replaces": "Zastępuje",
            "updates": "Co się zmienia",
            "purpose": "Cel przetwarzania",
            "data_categories": "Kategorie danych",
            "data_subjects": "Kategorie osób, których dane dotyczą",
            "places": "Miejsca przetwarzania i zabezpieczenie przekazania",
            "effective": "Data wejścia w życie",
            "deadline_objection": "Termin na zgłoszenie sprzeciwu",
            "deadline_consent": "Termin odpowiedzi",
            "reason": "Powód zmiany",
            "urgent": "Zmiana pilna, ze skróconym okresem zawiadomienia (klauzula na wypadek "
            "sytuacji nadzwyczajnej w umowie powierzenia); uzasadnienie",
            "consequences": "Co oznacza odpowiedź albo jej brak",
            "public_consequences": "Co to oznacza dla klientów",
            "withdrawn": "Zmianę wycofano {day}",
            "withdrawn_label": "Zmiana wycofana",
        },
        "update_line": "{field}: {before} → {after}",
        "nothing": "nie podano",
        "all_services": "wszystkie usługi",
        "end_of_day": "do końca dnia {day} ({zone})",
        "silence": "Jeśli nie zgłoszą Państwo sprzeciwu, zmiana obejmie Państwa dane od {day}.",
        "object_add": "Jeśli zgłoszą Państwo sprzeciw, {vendor} nie będzie przetwarzać "
        "Państwa danych, dopóki sprzeciw nie zostanie rozpatrzony.",
        "object_update": "Jeśli zgłoszą Państwo sprzeciw, zmiana nie obejmie Państwa danych, "
        "dopóki sprzeciw nie zostanie rozpatrzony.",
        "remedies": {
            "exclude": "Uwzględniony sprzeciw oznacza, że {vendor} nie będzie przetwarzać "
            "danych powierzonych przez Państwa.",
            "terminate": "Po uwzględnieniu sprzeciwu mogą Państwo wypowiedzieć umowę; do dnia "
            "jej rozwiązania {vendor} nie przetwarza Państwa danych.",
        },
        "rejectable": "Umowa powierzenia pozwala odrzucić nieuzasadniony sprzeciw z podaniem "
        "powodów; wtedy zmiana obejmie Państwa dane od dnia tej decyzji.",
        "consent": "Bez Państwa zgody zmiana nie obejmie Państwa danych (szczegółowa zgoda, "
        "art. 28 ust. 2 RODO): obejmie je od dnia wyrażenia zgody, nie wcześniej niż {day}.",
        "refusal": "Jeśli odmówią Państwo zgody albo nie odpowiedzą, {vendor} nie będzie "
        "przetwarzać Państwa danych w zakresie tej zmiany.",
        "info_remove": "Informacja, odpowiedź nie jest potrzebna: od {day} {vendor} nie "
        "przetwarza Państwa danych.",
        "info": "Informacja, odpowiedź nie jest potrzebna: zmiana obejmie Państwa dane od {day}.",
        "info_leaves": "Informacja, odpowiedź nie jest potrzebna: {vendor} nie będzie "
        "przetwarzać Państwa danych (usługi, z których Państwo korzystają, są poza jego "
        "zakresem), a {old} przestaje je przetwarzać od {day}.",
        "public_asked": "Klienci, którzy udzielili ogólnej pisemnej zgody, mogą zgłosić "
        "sprzeciw w terminie podanym w zawiadomieniu; bez sprzeciwu zmiana obejmuje ich dane "
        "od daty wejścia w życie, a dopóki sprzeciw jest rozpatrywany — nie obejmuje. Dane "
        "klientów, którzy udzielili szczegółowej zgody, zmiana obejmie dopiero po wyrażeniu "
        "przez nich zgody.",
        "public_remove": "Zmiana ma charakter informacyjny i obowiązuje od {day}.",
    },
    "en": {
        "kinds": {
            "add": "addition",
            "replace": "replacement",
            "update": "material update",
            "remove": "removal",
        },
        "title": "{kind}: {vendor} (from {day})",
        "withdrawn_title": "Withdrawn: {title}",
        "replaces": "replaces",
        "roles": {
            "subprocessor": "subprocessor (Art. 28(4) GDPR)",
            "independent_controller": "independent controller",
            "joint_controller": "joint controller",
        },
        "fields": {
            "country": "country of establishment",
            "role": "role",
            "purpose": "purpose",
            "data_categories": "data categories",
            "data_subject_categories": "categories of data subjects",
            "services": "services",
            "locations": "processing locations",
        },
        "labels": {
            "vendor": "Vendor",
            "legal_entity": "Legal entity, address and country of establishment",
            "role": "Role",
            "replaces": "Replaces",
            "updates": "What changes",
            "purpose": "Purpose",
            "data_categories": "Data categories",
            "data_subjects": "Categories of data subjects",
            "places": "Processing locations and transfer safeguard",
            "effective": "Takes effect on",
            "deadline_objection": "Objection deadline",
            "deadline_consent": "Please answer by",
            "reason": "Reason for the change",
            "urgent": "Urgent change with shortened notice (the emergency clause of the data "
            "processing agreement); why",
            "consequences": "What answering, or not answering, leads to",
            "public_consequences": "What this means for customers",
            "withdrawn": "Withdrawn on {day}",
            "withdrawn_label": "Change withdrawn",
        },
        "update_line": "{field}: {before} → {after}",
        "nothing": "not stated",
        "all_services": "every service",
        "end_of_day": "the end of {day} ({zone})",
        "silence": "If you do not object, the change applies to your data from {day}.",
        "object_add": "If you object, {vendor} does not process your data while your "
        "objection is open.",
        "object_update": "If you object, the change does not apply to your data while your "
        "objection is open.",
        "remedies": {
            "exclude": "If your objection is upheld, {vendor} will not process the data you "
            "entrust to us.",
            "terminate": "If your objection is upheld, you may terminate the agreement; until "
            "it ends {vendor} does not process your data.",
        },
        "rejectable": "Your data processing agreement allows an unjustified objection to be "
        "rejected with reasons; the change then applies to your data from that decision.",
        "consent": "Without your consent the change does not apply to your data (specific "
        "authorisation, Art. 28(2) GDPR): it applies from the day you consent, not before {day}.",
        "refusal": "If you refuse or do not answer, {vendor} will not process your data as "
        "this change proposes.",
        "info_remove": "For your information, no answer is needed: from {day} {vendor} no "
        "longer processes your data.",
        "info": "For your information, no answer is needed: the change applies to your data "
        "from {day}.",
        "info_leaves": "For your information, no answer is needed: {vendor} will not process "
        "your data (the services you use are outside its scope), and {old} stops processing it "
        "from {day}.",
        "public_asked": "Customers who gave general written authorisation may object by the "
        "deadline in their notice; without an objection the change applies to their data from "
        "its effective date, and while an objection is open it does not. For customers who "
        "gave specific authorisation it applies only once they consent.",
        "public_remove": "For information: the change applies from {day}.",
    },
}
