"""The words of error pages and of errors shown inside pages, in Polish and English.

Keyed by meaning: a `DomainError.key` names a message; without one, the page says what the
HTTP status means. The English `detail` of a problem is for API clients and never reaches a
page, so a Polish page never shows English text.
"""

from __future__ import annotations

LANGUAGES = ("pl", "en")

# Status -> the key whose words a page shows when the error names none.
STATUS_KEYS = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method",
    409: "conflict",
    412: "precondition",
    413: "too_large",
    415: "unsupported",
    422: "invalid",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}

TEXTS: dict[str, dict] = {
    "pl": {
        "skip": "Przejdź do treści",
        "status": "Kod odpowiedzi HTTP: {status}",
        "retry": "Spróbuj ponownie {wait}.",
        "way_home": "Przejdź do strony głównej",
        "way_public": "Wykaz dalszych podmiotów przetwarzających: {org}",
        "way_portal": "Zaloguj się do portalu klienta: {org}",
        "titles": {
            "not_found": "Nie znaleziono strony",
            "invalid_link": "Link jest nieważny",
            "method": "Tej strony nie otwiera się w ten sposób",
            "invalid": "Nie udało się przetworzyć danych",
            "unauthorized": "Wymagane logowanie",
            "forbidden": "Brak dostępu",
            "conflict": "Nie można tego teraz zrobić",
            "precondition": "Dane zmieniły się w międzyczasie",
            "too_large": "Przesłano za dużo danych",
            "unsupported": "Nieobsługiwany format danych",
            "rate_limited": "Zbyt wiele prób",
            "internal": "Wystąpił nieoczekiwany błąd",
            "unavailable": "Usługa jest chwilowo niedostępna",
            "error": "Wystąpił błąd",
        },
        "messages": {
            "not_found": "Pod tym adresem nie ma żadnej strony. Sprawdź, czy adres jest poprawny.",
            "invalid_link": (
                "Ten link jest nieważny lub wygasł. Linki z wiadomości e-mail działają przez "
                "ograniczony czas i tylko w tej postaci, w jakiej zostały wysłane."
            ),
            "method": (
                "Pod tym adresem przyjmujemy tylko wysłany formularz. Wróć do strony z formularzem."
            ),
            "invalid": (
                "Nie udało się przetworzyć przesłanych danych. Sprawdź je i spróbuj ponownie."
            ),
            "unauthorized": "Aby zobaczyć tę stronę, trzeba się zalogować.",
            "forbidden": "Nie masz dostępu do tej strony.",
            "conflict": (
                "Tego nie można zrobić w obecnym stanie sprawy. Odśwież stronę i sprawdź "
                "aktualny stan."
            ),
            "precondition": (
                "Ktoś zmienił te dane w międzyczasie. Odśwież stronę i spróbuj ponownie."
            ),
            "too_large": "Przesłane dane są zbyt duże.",
            "unsupported": "Nie obsługujemy tego formatu danych.",
            "rate_limited": "Z Twojego adresu przyszło zbyt wiele żądań w krótkim czasie.",
            "internal": "Błąd został zapisany i zajmiemy się nim. Spróbuj ponownie później.",
            "unavailable": "Nic nie zostało zapisane. Spróbuj ponownie za chwilę.",
            "error": "Nie udało się wykonać żądania.",
            "already_answered": (
                "Odpowiedź na to powiadomienie została już zarejestrowana; nie można jej "
                "złożyć drugi raz."
            ),
            "change_withdrawn": "Ta zmiana została wycofana, więc nie wymaga odpowiedzi.",
            "not_asked": "To powiadomienie nie wymaga takiej odpowiedzi.",
            "deadline_passed": "Termin na zgłoszenie sprzeciwu już minął.",
            "no_open_objection": "Nie ma otwartego sprzeciwu, który można by wycofać.",
            "unknown_decision": "Wybierz jeden z przycisków.",
            "webhook_url": (
                "Tego adresu nie można użyć dla webhooka: musi to być pełny adres https:// "
                "publicznego serwera, którego nazwę można odnaleźć w DNS, bez loginu i hasła "
                "oraz bez fragmentu po znaku #."
            ),
            "webhook_exists": "Ten adres jest już zarejestrowany.",
            "webhook_limit": "Osiągnięto limit webhooków ({limit}); najpierw usuń jeden z nich.",
        },
    },
    "en": {
        "skip": "Skip to content",
        "status": "HTTP status: {status}",
        "retry": "Try again {wait}.",
        "way_home": "Go to the home page",
        "way_public": "List of subprocessors: {org}",
        "way_portal": "Sign in to the customer portal: {org}",
        "titles": {
            "not_found": "Page not found",
            "invalid_link": "This link is not valid",
            "method": "This page is not opened this way",
            "invalid": "The data could not be processed",
            "unauthorized": "Sign-in required",
            "forbidden": "Access denied",
            "conflict": "This cannot be done now",
            "precondition": "The data changed in the meantime",
            "too_large": "Too much data was sent",
            "unsupported": "Unsupported data format",
            "rate_limited": "Too many attempts",
            "internal": "Something went wrong",
            "unavailable": "The service is temporarily unavailable",
            "error": "An error occurred",
        },
        "messages": {
            "not_found": "There is no page at this address. Check that the address is correct.",
            "invalid_link": (
                "This link is not valid or has expired. Links in e-mails work for a limited "
                "time and only exactly as they were sent."
            ),
            "method": "This address only receives a submitted form. Go back to the form.",
            "invalid": "The data sent could not be processed. Check it and try again.",
            "unauthorized": "You need to sign in to see this page.",
            "forbidden": "You have no access to this page.",
            "conflict": "This cannot be done in the current state. Reload the page and check.",
            "precondition": "Someone changed this data in the meantime. Reload and try again.",
            "too_large": "The data sent is too large.",
            "unsupported": "This data format is not supported.",
            "rate_limited": "Too many requests came from your address in a short time.",
            "internal": "The error was logged and will be looked into. Try again later.",
            "unavailable": "Nothing was saved. Try again in a moment.",
            "error": "The request could not be completed.",
            "already_answered": (
                "An answer to this notice has already been recorded; it cannot be given twice."
            ),
            "change_withdrawn": "This change was withdrawn; there is nothing to answer.",
            "not_asked": "This notice does not ask for this answer.",
            "deadline_passed": "The deadline for objecting has passed.",
            "no_open_objection": "There is no open objection to withdraw.",
            "unknown_decision": "Choose one of the buttons.",
            "webhook_url": (
                "This address cannot be used for a webhook: it must be a full https:// address "
                "of a public server whose name resolves in DNS, without a user name or password "
                "and without a # fragment."
            ),
            "webhook_exists": "This address is already registered.",
            "webhook_limit": "The limit of webhooks ({limit}) is reached; remove one first.",
        },
    },
}
