"""Words of the e-mails in each language; the templates hold the layout."""

from __future__ import annotations

TEXTS: dict[str, dict] = {
    "pl": {
        "subjects": {
            "change.announced": "{org}: zmiana dalszych podmiotów przetwarzających: {kind}: "
            "{vendor} od {date}",
            "change.withdrawn": "{org}: odwołana zmiana dalszych podmiotów przetwarzających: "
            "{vendor}",
            "change.reminder": "{org}: przypomnienie: {kind}: {vendor} od {date}",
            "answer.receipt": "Potwierdzenie: {answer}",
            "objection.resolved": "Sprzeciw wobec {vendor}: {outcome}",
            "alert.legal": "[DPA Registry] {alert}",
            "subscription.confirm": "Potwierdź subskrypcję zmian dalszych podmiotów "
            "przetwarzających: {org}",
            "portal.sign_in": "Link do logowania: portal klienta {org}",
            "subscribers.announced": "{org}: zmiana dalszych podmiotów przetwarzających: {kind}: "
            "{vendor} od {date}",
            "subscribers.withdrawn": "{org}: odwołana zmiana dalszych podmiotów przetwarzających: "
            "{vendor}",
            "agreement.published": "Nowa wersja umowy powierzenia ({version}) od {date}",
            "agreement.reminder": "Przypomnienie: akceptacja umowy powierzenia ({version})",
        },
        "kinds": {
            "add": "dodanie",
            "replace": "zastąpienie",
            "update": "istotna zmiana",
            "remove": "usunięcie",
        },
        "answers": {
            "objection": "sprzeciw zarejestrowany",
            "consent": "zgoda zarejestrowana",
            "refusal": "odmowa zgody zarejestrowana",
        },
        "alerts": {
            "objection_filed": "Klient zgłosił sprzeciw",
            "consent_refused": "Klient odmówił zgody",
            "objection_withdrawn": "Klient wycofał sprzeciw",
            "notice_undeliverable": "Nie udało się doręczyć zawiadomienia",
            "webhook_disabled": "Webhook klienta został wyłączony",
            "expiry_reminder": "Zbliża się termin ważności lub przeglądu u dostawcy",
            "agreement_not_accepted": "Klienci nie zaakceptowali nowej wersji umowy",
            "audit_digest": "Dzienny skrót dziennika zdarzeń (zachowaj tę wiadomość)",
        },
        "greeting": "Dzień dobry,",
        "intro": "informujemy o planowanej zmianie listy dalszych podmiotów przetwarzających i "
        "odbiorców, którym {org} powierza dane osobowe Państwa klientów.",
        "withdrawn_intro": "zapowiedziana zmiana listy dalszych podmiotów przetwarzających została "
        "odwołana:",
        "post_hoc_note": "Sprzeciw mogą Państwo zgłosić także po wejściu zmiany w życie, do "
        "terminu podanego niżej. Do czasu rozpatrzenia sprzeciwu dalszy podmiot przetwarzający "
        "nie przetwarza Państwa danych, a przysługuje Państwu środek przewidziany w umowie.",
        "reminder_intro": "przypominamy o zbliżającej się zmianie listy dalszych podmiotów "
        "przetwarzających:",
        "vendor": "Podmiot",
        "effective": "Data wejścia w życie",
        "object_cta": "Aby zgłosić sprzeciw, otwórz link:",
        "consent_cta": "Zmiana wymaga Państwa zgody. Aby wyrazić zgodę lub odmówić, otwórz link:",
        "list": "Aktualna lista dalszych podmiotów przetwarzających i zapowiedziane zmiany",
        "contacts": "Ta wiadomość jest zawiadomieniem umownym i nie można się z niej wypisać. "
        "Adresy i język zawiadomień zmienią Państwo w portalu klienta albo odpowiadając na tę "
        "wiadomość.",
        "receipt_intro": "potwierdzamy otrzymanie Państwa odpowiedzi:",
        "outcome_intro": "informujemy o rozpatrzeniu Państwa sprzeciwu wobec zmiany "
        "podmiotów przetwarzających:",
        "outcome_subjects": {
            "excluded": "uwzględniony",
            "termination_right": "uwzględniony (prawo wypowiedzenia)",
            "rejected": "odrzucony",
            "withdrawn": "wycofany",
            "alternative": "przyjęte rozwiązanie alternatywne",
        },
        "outcomes": {
            "excluded": "Sprzeciw uwzględniono: dalszy podmiot przetwarzający nie będzie "
            "przetwarzał danych powierzonych przez Państwa.",
            "termination_right": "Sprzeciw uwzględniono: mogą Państwo wypowiedzieć umowę; do "
            "dnia jej rozwiązania ({day}) dalszy podmiot przetwarzający nie przetwarza "
            "Państwa danych.",
            "rejected": "Sprzeciw odrzucono jako nieuzasadniony, na co pozwala Państwa umowa "
            "powierzenia; zmiana obowiązuje Państwa od dziś. Uzasadnienie:",
            "withdrawn": "Sprzeciw wycofali Państwo; zmiana obowiązuje Państwa od dziś.",
            "alternative": "Przyjęli Państwo zaproponowane rozwiązanie alternatywne; podmiot, "
            "wobec którego wnieśli Państwo sprzeciw, nie przetwarza Państwa danych. "
            "Rozwiązanie:",
        },
        "alert_intro": "zdarzenie wymagające uwagi:",
        "subscriber_intro": "{org} zapowiada zmianę listy dalszych podmiotów przetwarzających "
        "i odbiorców danych osobowych:",
        "subscriber_withdrawn_intro": "{org} odwołuje zapowiedzianą zmianę listy dalszych "
        "podmiotów przetwarzających:",
        "subscriber_footer": "Otrzymujesz tę wiadomość, bo zapisałeś(-aś) się na informacje o "
        "zmianach. Aby się wypisać lub usunąć swój adres, otwórz link:",
        "confirm_intro": "ktoś (zapewne Ty) poprosił o wiadomości o zmianach listy "
        "dalszych podmiotów przetwarzających {org}. Aby potwierdzić subskrypcję, otwórz link:",
        "confirm_ignore": "Jeśli to nie Ty, zignoruj tę wiadomość: bez potwierdzenia nie "
        "wyślemy nic więcej. Aby nikt więcej nie mógł zapisać tego adresu, otwórz link:",
        "agreement_intro": "{org} publikuje nową wersję umowy powierzenia przetwarzania danych "
        "osobowych (art. 28 RODO), która dotyczy Państwa konta.",
        "agreement_reminder_intro": "przypominamy, że nowa wersja umowy powierzenia "
        "przetwarzania danych osobowych czeka na Państwa akceptację.",
        "agreement_version": "Wersja",
        "agreement_summary": "Co się zmienia",
        "agreement_cta": "Aby przeczytać i zaakceptować tekst umowy, otwórz link:",
        "agreement_text": "Pełny tekst umowy",
        "portal_cta": "Listę, zmiany i Państwa odpowiedzi zobaczą Państwo w portalu klienta:",
        "agreement_portal_cta": "Wersję można też zaakceptować w portalu klienta, gdzie "
        "widać również historię akceptacji:",
        "sign_in_intro": "ktoś (zapewne Ty) poprosił o link do logowania w portalu klienta "
        "{org} dla: {customer}. Aby się zalogować, otwórz link i naciśnij przycisk:",
        "sign_in_expiry": "Link działa jeden raz, przez {minutes} minut.",
        "sign_in_ignore": "Jeśli to nie Ty, zignoruj tę wiadomość: bez linku nikt się nie "
        "zaloguje.",
    },
    "en": {
        "subjects": {
            "change.announced": "{org}: subprocessor change: {kind}: {vendor} from {date}",
            "change.withdrawn": "{org}: subprocessor change withdrawn: {vendor}",
            "change.reminder": "{org}: reminder: {kind}: {vendor} from {date}",
            "answer.receipt": "Receipt: {answer}",
            "objection.resolved": "Your objection to {vendor}: {outcome}",
            "alert.legal": "[DPA Registry] {alert}",
            "subscription.confirm": "Confirm your subscription to subprocessor changes: {org}",
            "portal.sign_in": "Your sign-in link: {org} customer portal",
            "subscribers.announced": "{org}: subprocessor change: {kind}: {vendor} from {date}",
            "subscribers.withdrawn": "{org}: subprocessor change withdrawn: {vendor}",
            "agreement.published": "New version of the data processing agreement ({version}) "
            "from {date}",
            "agreement.reminder": "Reminder: please accept the data processing agreement "
            "({version})",
        },
        "kinds": {
            "add": "addition",
            "replace": "replacement",
            "update": "material update",
            "remove": "removal",
        },
        "answers": {
            "objection": "objection recorded",
            "consent": "consent recorded",
            "refusal": "refusal recorded",
        },
        "alerts": {
            "objection_filed": "A customer objected",
            "consent_refused": "A customer refused consent",
            "objection_withdrawn": "A customer withdrew its objection",
            "notice_undeliverable": "A notice could not be delivered",
            "webhook_disabled": "A customer's webhook was disabled",
            "expiry_reminder": "A vendor's certification or review falls due soon",
            "agreement_not_accepted": "Customers have not accepted the new agreement version",
            "audit_digest": "Daily digest of the audit trail (keep this message)",
        },
        "greeting": "Hello,",
        "intro": "we are giving you notice of an intended change of the subprocessors to which "
        "{org} entrusts the personal data of your clients.",
        "withdrawn_intro": "the announced change of subprocessors has been withdrawn:",
        "post_hoc_note": "You may object even after the change takes effect, until the "
        "deadline below. Until your objection is resolved the subprocessor does not process "
        "your data, and the remedy of your agreement applies.",
        "reminder_intro": "a reminder of an upcoming change of subprocessors:",
        "vendor": "Vendor",
        "effective": "Takes effect on",
        "object_cta": "To object, open this link:",
        "consent_cta": "This change needs your consent. To consent or refuse, open this link:",
        "list": "The current list of subprocessors and the changes announced",
        "contacts": "This is a contractual notice and cannot be unsubscribed from. To change the "
        "addresses or language of notices, use the customer portal or reply to this message.",
        "receipt_intro": "we confirm receipt of your answer:",
        "outcome_intro": "your objection to a change of subprocessors has been resolved:",
        "outcome_subjects": {
            "excluded": "upheld",
            "termination_right": "upheld (right to terminate)",
            "rejected": "rejected",
            "withdrawn": "withdrawn",
            "alternative": "alternative accepted",
        },
        "outcomes": {
            "excluded": "Your objection is upheld: the subprocessor will not process the data "
            "you entrust to us.",
            "termination_right": "Your objection is upheld: you may terminate the agreement; "
            "until it ends ({day}) the subprocessor does not process your data.",
            "rejected": "Your objection was rejected as unjustified, as your data processing "
            "agreement allows; the change applies to you from today. Reasons:",
            "withdrawn": "You withdrew your objection; the change applies to you from today.",
            "alternative": "You accepted the alternative offered; the vendor you objected to "
            "does not process your data. The alternative:",
        },
        "alert_intro": "an event that needs attention:",
        "subscriber_intro": "{org} announces a change of the subprocessors to which it "
        "entrusts personal data:",
        "subscriber_withdrawn_intro": "{org} withdraws an announced change of its subprocessors:",
        "subscriber_footer": "You receive this message because you subscribed to changes. To "
        "unsubscribe or have your address erased, open this link:",
        "confirm_intro": "someone (probably you) asked for messages about changes of the "
        "subprocessors of {org}. To confirm the subscription, open this link:",
        "confirm_ignore": "If it was not you, ignore this message: without confirmation nothing "
        "more is sent. To stop anyone from subscribing this address again, open this link:",
        "agreement_intro": "{org} publishes a new version of its data processing agreement "
        "(GDPR Art. 28) that applies to your account.",
        "agreement_reminder_intro": "a reminder: the new version of the data processing "
        "agreement is still waiting for your acceptance.",
        "agreement_version": "Version",
        "agreement_summary": "What changes",
        "agreement_cta": "To read and accept the agreement, open this link:",
        "agreement_text": "Full text of the agreement",
        "portal_cta": "See the list, the changes and your answers in the customer portal:",
        "agreement_portal_cta": "You can also accept it in the customer portal, which shows "
        "your acceptance history too:",
        "sign_in_intro": "someone (probably you) asked for a link to sign in to the {org} "
        "customer portal for: {customer}. To sign in, open the link and press the button:",
        "sign_in_expiry": "The link works once, for {minutes} minutes.",
        "sign_in_ignore": "If it was not you, ignore this message: nobody signs in without the "
        "link.",
    },
}
