"""The words of the public page and the Atom feed, in Polish and English."""

from __future__ import annotations

LANGUAGES = ("pl", "en")
DEFAULT_LANGUAGE = "pl"

TEXTS: dict[str, dict] = {
    "pl": {
        "language_name": "Polski",
        "title": "Dalsze podmioty przetwarzające i odbiorcy danych",
        "intro": (
            "Lista podmiotów, którym {org} powierza dane osobowe swoich klientów "
            "(dalsze podmioty przetwarzające, art. 28 ust. 4 RODO) lub które otrzymują je jako "
            "odrębni administratorzy albo współadministratorzy, oraz zapowiedziane zmiany."
        ),
        "skip": "Przejdź do treści",
        "language_nav": "Język",
        "current": "Aktualna lista",
        "current_caption": (
            "Odbiorcy danych osobowych: cel, przekazywane dane i miejsca przetwarzania"
        ),
        "current_empty": "Lista jest pusta.",
        "col_name": "Nazwa",
        "col_entity": "Podmiot",
        "col_role": "Rola",
        "col_purpose": "Cel i przekazywane dane",
        "col_locations": "Miejsca przetwarzania i podstawa transferu",
        "col_since": "Od",
        "data_categories": "Kategorie danych",
        "data_subjects": "Osoby, których dane dotyczą",
        "services": "Usługi",
        "all_services": "wszystkie usługi",
        "not_stated": "nie podano",
        "last_changed": "Ostatnia zmiana listy:",
        "object_title": "Jak zgłosić sprzeciw",
        "object_text": (
            "Klienci {org} (administratorzy danych) otrzymują e-mailem zawiadomienie o każdej "
            "zapowiedzianej zmianie, z terminem na sprzeciw wynikającym z umowy powierzenia. "
            "Sprzeciw, a gdy umowa tego wymaga także zgodę, zgłasza się przez link w "
            "zawiadomieniu albo w portalu klienta, do którego logują się Państwo adresem e-mail "
            "podanym do zawiadomień."
        ),
        "object_link": "Portal klienta: zawiadomienia, sprzeciwy i zgody",
        "object_others": (
            "Osoby, których dane dotyczą, kierują pytania i żądania do administratora, czyli "
            "firmy, której podały dane, albo na adres kontaktowy podany poniżej."
        ),
        "parent": "w ramach",
        "upcoming": "Zaplanowane zmiany",
        "upcoming_empty": "Nie zapowiedziano żadnych zmian.",
        "changelog": "Historia zmian",
        "changelog_empty": "Nie było jeszcze żadnych zmian.",
        "changelog_more": "Pokazano {shown} najnowszych zmian. Pełna historia:",
        "changelog_api": "wszystkie zmiany (JSON)",
        "effective": "obowiązuje od",
        "announced": "ogłoszono",
        "historical": "z wcześniejszych wersji listy (zmiana sprzed prowadzenia rejestru, bez"
        " zawiadomienia w rejestrze)",
        "withdrawn": "wycofano",
        "in_effect": "obowiązuje",
        "scheduled": "zaplanowana",
        "reason": "Uzasadnienie",
        "urgent": "Zmiana pilna",
        "replaces": "zastępuje",
        "updated_fields": "Zmieniane dane",
        "subscribe": "Powiadomienia e-mail",
        "subscribe_intro": (
            "Podaj adres e-mail, a wyślemy wiadomość z linkiem potwierdzającym. Po "
            "potwierdzeniu dostaniesz informację o każdej zapowiedzianej zmianie; każda "
            "wiadomość zawiera link do wypisania."
        ),
        "email": "Adres e-mail",
        "subscribe_button": "Zapisz się",
        "subscribed_title": "Sprawdź skrzynkę",
        "subscribed": (
            "Jeśli adres jest poprawny, wysłaliśmy na niego wiadomość z linkiem "
            "potwierdzającym zapis. Bez potwierdzenia nie wyślemy żadnych powiadomień."
        ),
        "subscribe_error": "Nie udało się zapisać",
        "invalid_email": "Podaj poprawny adres e-mail.",
        "back": "Wróć do wykazu dalszych podmiotów przetwarzających",
        "downloads": "Dane do pobrania",
        "download_json": "Lista w formacie JSON",
        "download_csv": "Lista w formacie CSV",
        "download_atom": "Kanał Atom ze zmianami",
        "contact": "Kontakt",
        "dpo": "Inspektor ochrony danych",
        "privacy": "Ta strona nie używa plików cookie ani narzędzi śledzących.",
        "not_found_title": "Nie znaleziono",
        "not_found": "Nie ma takiej organizacji.",
        "feed_title": "{org}: zmiany wykazu dalszych podmiotów przetwarzających",
        "feed_subtitle": "Zapowiedziane i wycofane zmiany listy odbiorców danych osobowych.",
        "entry_title": "{kind}: {vendor} (od {day})",
        "entry_withdrawn": "Wycofano: {title}",
        "roles": {
            "subprocessor": "dalszy podmiot przetwarzający",
            "independent_controller": "odrębny administrator",
            "joint_controller": "współadministrator",
        },
        "kinds": {
            "add": "Dodanie",
            "replace": "Zastąpienie",
            "update": "Zmiana danych",
            "remove": "Usunięcie",
        },
        "mechanisms": {
            "none": "bez przekazywania poza EOG",
            "adequacy": "decyzja stwierdzająca odpowiedni stopień ochrony (art. 45 RODO)",
            "dpf": (
                "EU-US Data Privacy Framework (decyzja stwierdzająca odpowiedni stopień ochrony)"
            ),
            "scc": "standardowe klauzule umowne (art. 46 ust. 2 lit. c RODO)",
            "bcr": "wiążące reguły korporacyjne (art. 47 RODO)",
            "code_of_conduct": "zatwierdzony kodeks postępowania (art. 46 ust. 2 lit. e RODO)",
            "certification": "certyfikacja (art. 46 ust. 2 lit. f RODO)",
            "ad_hoc_clauses": "klauzule umowne zatwierdzone przez organ nadzorczy",
            "derogation": "wyjątek z art. 49 RODO",
        },
        "scc_module": "moduł {module}",
        "derogation_ground": "art. 49 ust. 1 lit. {ground}",
        "compelling_legitimate_interests": "art. 49 ust. 1 akapit drugi",
        "fields": {
            "country": "państwo siedziby",
            "role": "rola",
            "purpose_pl": "cel (PL)",
            "purpose_en": "cel (EN)",
            "data_categories_pl": "kategorie danych (PL)",
            "data_categories_en": "kategorie danych (EN)",
            "data_subject_categories": "kategorie osób",
            "data_subject_categories_pl": "kategorie osób (PL)",
            "data_subject_categories_en": "kategorie osób (EN)",
            "services": "zakres usług",
            "locations": "miejsca przetwarzania",
            "parent_id": "podmiot nadrzędny",
        },
    },
    "en": {
        "language_name": "English",
        "title": "Subprocessors and recipients of personal data",
        "intro": (
            "The vendors to which {org} entrusts its customers' personal data "
            "(subprocessors under Art. 28(4) GDPR) or which receive it as independent or "
            "joint controllers, and the changes announced to that list."
        ),
        "skip": "Skip to content",
        "language_nav": "Language",
        "current": "Current list",
        "current_caption": "Recipients of personal data: purpose, data received and locations",
        "current_empty": "The list is empty.",
        "col_name": "Name",
        "col_entity": "Legal entity",
        "col_role": "Role",
        "col_purpose": "Purpose and data received",
        "col_locations": "Processing locations and transfer mechanism",
        "col_since": "Since",
        "data_categories": "Data categories",
        "data_subjects": "Data subjects",
        "services": "Services",
        "all_services": "all services",
        "not_stated": "not stated",
        "last_changed": "The list last changed on",
        "object_title": "How to object",
        "object_text": (
            "Customers of {org} (controllers) are told by e-mail of every announced change, "
            "with the time to object that their data processing agreement gives. They object, "
            "or consent where their agreement asks for consent, by the link in that notice or "
            "in the customer portal, where they sign in with the e-mail address notices go to."
        ),
        "object_link": "Customer portal: notices, objections and consents",
        "object_others": (
            "Data subjects address questions and requests to the controller, the business they "
            "gave their data to, or to the contact address below."
        ),
        "parent": "part of",
        "upcoming": "Upcoming changes",
        "upcoming_empty": "No changes are announced.",
        "changelog": "Changelog",
        "changelog_empty": "There have been no changes yet.",
        "changelog_more": "The {shown} latest changes are shown. The whole history:",
        "changelog_api": "every change (JSON)",
        "effective": "effective",
        "announced": "announced",
        "historical": "from earlier versions of the list (a change from before this register,"
        " not announced through it)",
        "withdrawn": "withdrawn",
        "in_effect": "in effect",
        "scheduled": "scheduled",
        "reason": "Reason",
        "urgent": "Urgent change",
        "replaces": "replaces",
        "updated_fields": "Data that changes",
        "subscribe": "E-mail notifications",
        "subscribe_intro": (
            "Give your e-mail address and we will send a message with a confirmation link. "
            "Once you confirm, you will hear of every announced change; every message has "
            "an unsubscribe link."
        ),
        "email": "E-mail address",
        "subscribe_button": "Subscribe",
        "subscribed_title": "Check your inbox",
        "subscribed": (
            "If the address is valid, we have sent it a message with a link to confirm your "
            "subscription. Nothing else is sent until you confirm."
        ),
        "subscribe_error": "Could not subscribe",
        "invalid_email": "Enter a valid e-mail address.",
        "back": "Back to the subprocessor list",
        "downloads": "Downloads",
        "download_json": "The list as JSON",
        "download_csv": "The list as CSV",
        "download_atom": "Atom feed of changes",
        "contact": "Contact",
        "dpo": "Data protection officer",
        "privacy": "This page uses no cookies and no tracking.",
        "not_found_title": "Not found",
        "not_found": "There is no such organization.",
        "feed_title": "{org}: subprocessor list changes",
        "feed_subtitle": (
            "Announced and withdrawn changes of the list of recipients of personal data."
        ),
        "entry_title": "{kind}: {vendor} (effective {day})",
        "entry_withdrawn": "Withdrawn: {title}",
        "roles": {
            "subprocessor": "subprocessor",
            "independent_controller": "independent controller",
            "joint_controller": "joint controller",
        },
        "kinds": {
            "add": "Addition",
            "replace": "Replacement",
            "update": "Update",
            "remove": "Removal",
        },
        "mechanisms": {
            "none": "no transfer outside the EEA",
            "adequacy": "adequacy decision (Art. 45 GDPR)",
            "dpf": "EU-US Data Privacy Framework (adequacy decision)",
            "scc": "standard contractual clauses (Art. 46(2)(c) GDPR)",
            "bcr": "binding corporate rules (Art. 47 GDPR)",
            "code_of_conduct": "approved code of conduct (Art. 46(2)(e) GDPR)",
            "certification": "certification (Art. 46(2)(f) GDPR)",
            "ad_hoc_clauses": "contractual clauses authorised by a supervisory authority",
            "derogation": "derogation under Art. 49 GDPR",
        },
        "scc_module": "module {module}",
        "derogation_ground": "Art. 49(1)({ground})",
        "compelling_legitimate_interests": "Art. 49(1), second subparagraph",
        "fields": {
            "country": "country of establishment",
            "role": "role",
            "purpose_pl": "purpose (PL)",
            "purpose_en": "purpose (EN)",
            "data_categories_pl": "data categories (PL)",
            "data_categories_en": "data categories (EN)",
            "data_subject_categories": "data subject categories",
            "data_subject_categories_pl": "data subject categories (PL)",
            "data_subject_categories_en": "data subject categories (EN)",
            "services": "service scope",
            "locations": "processing locations",
            "parent_id": "parent vendor",
        },
    },
}


def negotiate(asked: str | None, accept_languages) -> str:
    """An explicit `?lang=` wins, then Accept-Language, then Polish."""
    if asked in TEXTS:
        return asked
    return accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE
