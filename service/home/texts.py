"""The words of the home page and the portal's entrance, in Polish and English."""

from __future__ import annotations

TEXTS: dict[str, dict] = {
    "pl": {
        "language_name": "Polski",
        "language_nav": "Język",
        "skip": "Przejdź do treści",
        "site": "DPA Registry",
        "title": "Rejestr dalszych podmiotów przetwarzających",
        "intro": (
            "Ta usługa prowadzi rejestr podmiotów, którym podmiot przetwarzający powierza dane "
            "osobowe swoich klientów (dalsze podmioty przetwarzające, art. 28 RODO). "
            "Z wyprzedzeniem powiadamia administratorów o planowanych zmianach tej listy "
            "i przyjmuje ich sprzeciwy oraz zgody."
        ),
        "lists": "Wykazy organizacji",
        "lists_empty": "Nie ma jeszcze żadnej organizacji.",
        "lists_more": "Pokazano {shown} z {total} organizacji.",
        "portal": "Portal klienta",
        "portal_intro": (
            "Klienci (administratorzy) sprawdzają tu listę, która ich dotyczy, i odpowiadają "
            "na powiadomienia o zmianach."
        ),
        "portal_link": "Przejdź do portalu klienta",
        "portal_choose": (
            "Portal jest osobny dla każdej organizacji. Link do logowania jest w każdej "
            "wiadomości o zmianie; możesz też wybrać organizację i poprosić o link na swój "
            "adres e-mail."
        ),
        "sign_in_at": "Zaloguj się: {org}",
        "developers": "Dla programistów",
        "docs": "Dokumentacja API",
        "openapi": "Opis API (OpenAPI, JSON)",
        "health": "Stan usługi",
        "home": "Strona główna",
    },
    "en": {
        "language_name": "English",
        "language_nav": "Language",
        "skip": "Skip to content",
        "site": "DPA Registry",
        "title": "Register of subprocessors",
        "intro": (
            "This service keeps the register of the vendors to which a processor entrusts its "
            "customers' personal data (subprocessors, Art. 28 GDPR). It tells the customers "
            "(controllers) in advance when that list is going to change, and records their "
            "objections and consents."
        ),
        "lists": "Organizations' lists",
        "lists_empty": "There is no organization yet.",
        "lists_more": "Showing {shown} of {total} organizations.",
        "portal": "Customer portal",
        "portal_intro": (
            "Customers (controllers) see the list that applies to them here and answer notices "
            "of changes."
        ),
        "portal_link": "Go to the customer portal",
        "portal_choose": (
            "Each organization has a portal of its own. Every notice of a change carries a "
            "sign-in link; you may also choose the organization and ask for a link by e-mail."
        ),
        "sign_in_at": "Sign in: {org}",
        "developers": "For developers",
        "docs": "API documentation",
        "openapi": "API description (OpenAPI, JSON)",
        "health": "Service status",
        "home": "Home page",
    },
}
