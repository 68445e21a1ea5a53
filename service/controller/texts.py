"""The words of the organization's outputs as controller, in Polish and English: the
record of processing activities (Art. 30(1)), the retention rule and both parts of the
privacy policy.

Legal terms follow the official Polish text of the GDPR ("administrator", "podmiot
przetwarzający", "współadministratorzy", "odbiorcy", "państwo trzecie", "prawnie uzasadniony
interes", "okres, przez który dane osobowe będą przechowywane"). Country names, dates and
numbers of years come from `service.i18n` (CLDR), never from these tables.
"""

from __future__ import annotations

TEXTS: dict[str, dict] = {
    "pl": {
        # A recipient's role toward the organization as controller (Art. 4(9), 26, 28).
        "roles": {
            "processor": "podmiot przetwarzający",
            "independent_controller": "odrębny administrator",
            "joint_controller": "współadministrator",
        },
        # Art. 6(1) and 9(2), cited as the Polish text cites them, with what each means.
        "article": "art. {article} ust. {paragraph} lit. {letter} RODO",
        "legal_bases": {
            "6(1)(a)": "zgoda osoby, której dane dotyczą",
            "6(1)(b)": "wykonanie umowy lub podjęcie działań przed jej zawarciem",
            "6(1)(c)": "wypełnienie obowiązku prawnego ciążącego na administratorze",
            "6(1)(d)": "ochrona żywotnych interesów",
            "6(1)(e)": (
                "wykonanie zadania realizowanego w interesie publicznym lub w ramach "
                "sprawowania władzy publicznej"
            ),
            "6(1)(f)": "prawnie uzasadniony interes administratora lub strony trzeciej",
            "9(2)(a)": "wyraźna zgoda osoby, której dane dotyczą",
            "9(2)(b)": (
                "obowiązki i prawa w dziedzinie prawa pracy, zabezpieczenia społecznego i "
                "ochrony socjalnej"
            ),
            "9(2)(c)": "ochrona żywotnych interesów osoby niezdolnej do wyrażenia zgody",
            "9(2)(d)": "działalność fundacji, stowarzyszenia lub innego podmiotu niezarobkowego",
            "9(2)(e)": "dane w sposób oczywisty upublicznione przez osobę, której dotyczą",
            "9(2)(f)": "ustalenie, dochodzenie lub obrona roszczeń",
            "9(2)(g)": "względy związane z ważnym interesem publicznym",
            "9(2)(h)": (
                "profilaktyka zdrowotna, medycyna pracy, diagnoza medyczna, opieka zdrowotna "
                "lub zabezpieczenie społeczne"
            ),
            "9(2)(i)": "względy związane z interesem publicznym w dziedzinie zdrowia publicznego",
            "9(2)(j)": (
                "cele archiwalne w interesie publicznym, cele badań naukowych lub historycznych "
                "lub cele statystyczne"
            ),
        },
        # Art. 9(1), in its words.
        "special_categories": {
            "racial_or_ethnic_origin": "dane ujawniające pochodzenie rasowe lub etniczne",
            "political_opinions": "dane ujawniające poglądy polityczne",
            "religious_or_philosophical_beliefs": (
                "dane ujawniające przekonania religijne lub światopoglądowe"
            ),
            "trade_union_membership": "dane ujawniające przynależność do związków zawodowych",
            "genetic": "dane genetyczne",
            "biometric": "dane biometryczne",
            "health": "dane dotyczące zdrowia",
            "sex_life_or_sexual_orientation": (
                "dane dotyczące seksualności lub orientacji seksualnej"
            ),
        },
        # The retention rule in words (Art. 30(1)(f), 13(2)(a)).
        "retention_from": {
            "end_of_relationship": "od dnia zakończenia umowy lub współpracy",
            "end_of_year": "od końca roku, w którym umowa się zakończyła",
            "collection": "od dnia zebrania danych",
            "last_activity": "od ostatniej aktywności osoby, której dane dotyczą",
            "consent_withdrawal": "od wycofania zgody",
        },
        "until_withdrawal": "do czasu wycofania zgody",
        "no_rule": "okres przechowywania nie został określony",
        # The record (Art. 30(1)).
        "record_title": "Rejestr czynności przetwarzania (art. 30 ust. 1 RODO)",
        "controller": "Administrator",
        "statuses": {"valid": "zabezpieczenie ważne", "under_review": "w trakcie weryfikacji"},
        "measures_of_organization": "zgodnie z ogólnym opisem środków administratora",
        # The privacy policy.
        "columns": {
            "controller": "Administrator",
            "address": "Adres",
            "country": "Państwo",
            "contact": "Dane kontaktowe",
            "legal_contact": "Kontakt w sprawach danych osobowych",
            "dpo": "Inspektor ochrony danych",
            "representative": "Przedstawiciel",
            "as_of": "Stan na dzień",
            "activity": "Czynność przetwarzania",
            "key": "Oznaczenie",
            "purposes": "Cele przetwarzania",
            "legal_bases": "Podstawy prawne",
            "legitimate_interests": "Prawnie uzasadnione interesy",
            "data_subjects": "Kategorie osób, których dane dotyczą",
            "data_categories": "Kategorie danych osobowych",
            "special_categories": "Szczególne kategorie danych i warunek z art. 9 ust. 2 RODO",
            "recipients": "Odbiorcy",
            "joint": "Uzgodnienia współadministratorów (art. 26 RODO)",
            "transfers": "Przekazywanie do państw trzecich",
            "retention": "Planowany termin usunięcia danych",
            "security_measures": "Środki techniczne i organizacyjne",
            "recipient": "Odbiorca",
            "legal_entity": "Podmiot",
            "role": "Rola",
            "purpose": "Cel",
            "arrangement_on": "Data uzgodnienia",
            "arrangement_reference": "Oznaczenie uzgodnienia",
            "essence": "Zasadnicza treść uzgodnienia",
            "location": "Miejsce przetwarzania",
            "third_countries": "Państwa trzecie",
            "status": "Stan zabezpieczenia",
            "safeguard": "Zabezpieczenie",
        },
        "sheets": {
            "controller": "Administrator",
            "activities": "Czynności przetwarzania",
            "recipients": "Odbiorcy",
            "transfers": "Państwa trzecie",
        },
        "policy_title": "Polityka prywatności: przetwarzanie danych osobowych",
        "entrusted_heading": "Dane powierzone nam do przetwarzania",
        "entrusted_intro": (
            "Dane osobowe, które nasi klienci powierzają nam, korzystając z naszych usług, "
            "przetwarzamy jako podmiot przetwarzający, wyłącznie na ich polecenie (art. 28 "
            "RODO). Administratorami tych danych są nasi klienci; to oni informują osoby, "
            "których dane dotyczą, o przetwarzaniu. Za zgodą klientów korzystamy z usług "
            "następujących podmiotów:"
        ),
        "subprocessors_heading": "Dalsze podmioty przetwarzające",
        "entrusted_controllers_heading": "Odbiorcy będący administratorami",
        "entrusted_transfers": (
            "Przekazywanie powierzonych nam danych poza Europejski Obszar Gospodarczy jest "
            "opisane przy każdym odbiorcy wraz z zabezpieczeniem, na którym się opiera."
        ),
        "entrusted_no_transfers": (
            "Podmioty wymienione w tej części nie przekazują powierzonych nam danych poza "
            "Europejski Obszar Gospodarczy."
        ),
        "own_heading": "Przetwarzanie danych, których jesteśmy administratorem",
        "own_intro": (
            "Administratorem danych osobowych opisanych w tej części jest {org}. Poniżej "
            "podajemy cele i podstawy prawne przetwarzania, odbiorców danych, przekazywanie "
            "danych do państw trzecich i okres, przez który dane osobowe będą przechowywane "
            "(art. 13 RODO)."
        ),
        "contact": "Kontakt w sprawach danych osobowych",
        "dpo": "Inspektor ochrony danych",
        "purposes": "Cele przetwarzania",
        "legal_bases_label": "Podstawa prawna",
        "legitimate_interests": "Prawnie uzasadniony interes",
        "data_categories": "Kategorie danych",
        "data_subjects": "Kategorie osób, których dane dotyczą",
        "special_categories_label": "Szczególne kategorie danych",
        "recipients": "Odbiorcy danych",
        "no_recipients": "Nie udostępniamy tych danych odbiorcom.",
        "retention": "Okres, przez który dane osobowe będą przechowywane",
        "transfers": "Przekazywanie danych do państw trzecich",
        "transfer": "{recipient}: {where}; {safeguard}",
        "joint": "Współadministrowanie (art. 26 RODO)",
        "joint_arrangement": "uzgodnienie z dnia {day}",
        "joint_essence": "{recipient}: {essence}",
        "joint_missing": (
            "{recipient}: zasadnicza treść uzgodnień współadministratorów jest w przygotowaniu"
        ),
        "own_transfers": (
            "Niektórzy odbiorcy przekazują dane poza Europejski Obszar Gospodarczy, do państw "
            "trzecich wskazanych przy czynności przetwarzania, wraz z zabezpieczeniem. Kopię "
            "zabezpieczeń można otrzymać, pisząc na adres podany powyżej (art. 13 ust. 1 "
            "lit. f RODO)."
        ),
        "own_no_transfers": (
            "Odbiorcy danych opisanych w tej części nie przekazują ich poza Europejski Obszar "
            "Gospodarczy."
        ),
        "no_activities": "Nie prowadzimy wpisanych do rejestru czynności przetwarzania.",
        "as_of": "Stan na dzień {day}",
        "established": "siedziba",
        "purpose": "cel",
    },
    "en": {
        "roles": {
            "processor": "processor",
            "independent_controller": "independent controller",
            "joint_controller": "joint controller",
        },
        "article": "Art. {article}({paragraph})({letter}) GDPR",
        "legal_bases": {
            "6(1)(a)": "consent of the data subject",
            "6(1)(b)": "performance of a contract or steps prior to entering into it",
            "6(1)(c)": "compliance with a legal obligation of the controller",
            "6(1)(d)": "protection of vital interests",
            "6(1)(e)": (
                "a task carried out in the public interest or in the exercise of official authority"
            ),
            "6(1)(f)": "legitimate interests pursued by the controller or by a third party",
            "9(2)(a)": "explicit consent of the data subject",
            "9(2)(b)": (
                "obligations and rights in employment, social security and social protection law"
            ),
            "9(2)(c)": "vital interests of a data subject incapable of giving consent",
            "9(2)(d)": "activities of a foundation, association or other not-for-profit body",
            "9(2)(e)": "data manifestly made public by the data subject",
            "9(2)(f)": "the establishment, exercise or defence of legal claims",
            "9(2)(g)": "reasons of substantial public interest",
            "9(2)(h)": (
                "preventive or occupational medicine, medical diagnosis, health or social care"
            ),
            "9(2)(i)": "reasons of public interest in the area of public health",
            "9(2)(j)": (
                "archiving purposes in the public interest, scientific or historical research "
                "purposes or statistical purposes"
            ),
        },
        "special_categories": {
            "racial_or_ethnic_origin": "data revealing racial or ethnic origin",
            "political_opinions": "data revealing political opinions",
            "religious_or_philosophical_beliefs": (
                "data revealing religious or philosophical beliefs"
            ),
            "trade_union_membership": "data revealing trade union membership",
            "genetic": "genetic data",
            "biometric": "biometric data",
            "health": "data concerning health",
            "sex_life_or_sexual_orientation": "data concerning sex life or sexual orientation",
        },
        "retention_from": {
            "end_of_relationship": "from the day the contract or relationship ended",
            "end_of_year": "from the end of the year in which the contract ended",
            "collection": "from the day the data was collected",
            "last_activity": "from the data subject's last activity",
            "consent_withdrawal": "from the withdrawal of consent",
        },
        "until_withdrawal": "until consent is withdrawn",
        "no_rule": "no retention period has been set",
        "record_title": "Record of processing activities (Art. 30(1) GDPR)",
        "controller": "Controller",
        "statuses": {"valid": "valid safeguard", "under_review": "under review"},
        "measures_of_organization": "as in the controller's general description of measures",
        "columns": {
            "controller": "Controller",
            "address": "Address",
            "country": "Country",
            "contact": "Contact details",
            "legal_contact": "Contact on personal data",
            "dpo": "Data protection officer",
            "representative": "Representative",
            "as_of": "As of",
            "activity": "Processing activity",
            "key": "Key",
            "purposes": "Purposes of the processing",
            "legal_bases": "Legal bases",
            "legitimate_interests": "Legitimate interests",
            "data_subjects": "Categories of data subjects",
            "data_categories": "Categories of personal data",
            "special_categories": "Special categories and the Art. 9(2) GDPR condition",
            "recipients": "Recipients",
            "joint": "Joint controllers' arrangements (Art. 26 GDPR)",
            "transfers": "Transfers to third countries",
            "retention": "Envisaged time limit for erasure",
            "security_measures": "Technical and organisational measures",
            "recipient": "Recipient",
            "legal_entity": "Legal entity",
            "role": "Role",
            "purpose": "Purpose",
            "arrangement_on": "Arrangement date",
            "arrangement_reference": "Arrangement reference",
            "essence": "Essence of the arrangement",
            "location": "Processing location",
            "third_countries": "Third countries",
            "status": "Safeguard status",
            "safeguard": "Safeguard",
        },
        "sheets": {
            "controller": "Controller",
            "activities": "Processing activities",
            "recipients": "Recipients",
            "transfers": "Third countries",
        },
        "policy_title": "Privacy policy: processing of personal data",
        "entrusted_heading": "Data entrusted to us for processing",
        "entrusted_intro": (
            "Personal data our customers entrust to us when they use our services is processed "
            "by us as a processor, only on their instructions (Art. 28 GDPR). Our customers are "
            "the controllers of that data and inform the people it concerns. With our "
            "customers' authorisation we engage the following:"
        ),
        "subprocessors_heading": "Sub-processors",
        "entrusted_controllers_heading": "Recipients acting as controllers",
        "entrusted_transfers": (
            "Where data entrusted to us leaves the European Economic Area, the recipient, the "
            "country and the safeguard the transfer rests on are named above."
        ),
        "entrusted_no_transfers": (
            "The recipients in this part do not transfer the data entrusted to us outside the "
            "European Economic Area."
        ),
        "own_heading": "Our own processing",
        "own_intro": (
            "{org} is the controller of the personal data described in this part. For each "
            "processing activity we give its purposes and legal bases, the recipients, "
            "transfers to third countries and the period for which the data will be stored "
            "(Art. 13 GDPR)."
        ),
        "contact": "Contact on personal data",
        "dpo": "Data protection officer",
        "purposes": "Purposes",
        "legal_bases_label": "Legal basis",
        "legitimate_interests": "Legitimate interests",
        "data_categories": "Categories of personal data",
        "data_subjects": "Categories of data subjects",
        "special_categories_label": "Special categories of personal data",
        "recipients": "Recipients",
        "no_recipients": "We do not disclose this data to recipients.",
        "retention": "Period for which the data will be stored",
        "transfers": "Transfers to third countries",
        "transfer": "{recipient}: {where}; {safeguard}",
        "joint": "Joint controllers (Art. 26 GDPR)",
        "joint_arrangement": "arrangement of {day}",
        "joint_essence": "{recipient}: {essence}",
        "joint_missing": (
            "{recipient}: the essence of the joint controllers' arrangement is being prepared"
        ),
        "own_transfers": (
            "Some recipients transfer data outside the European Economic Area, to the third "
            "countries named with the processing activity, together with the safeguard. A copy "
            "of the safeguards can be obtained by writing to the address given above (Art. "
            "13(1)(f) GDPR)."
        ),
        "own_no_transfers": (
            "The recipients of the data described in this part do not transfer it outside the "
            "European Economic Area."
        ),
        "no_activities": "No processing activities are entered in our record.",
        "as_of": "As of {day}",
        "established": "established in",
        "purpose": "purpose",
    },
}
