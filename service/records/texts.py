"""The words of the annexes and of the privacy-policy section, in Polish and English."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "pl": {
        "annex_title": "Wykaz dalszych podmiotów przetwarzających",
        "annex_intro": (
            "Załącznik do umowy powierzenia przetwarzania danych osobowych między {customer} "
            "(administrator) a {org} (podmiot przetwarzający): dalsze podmioty przetwarzające, "
            "z których usług podmiot przetwarzający może korzystać przy przetwarzaniu danych "
            "osobowych (art. 28 ust. 2 i 4 RODO)."
        ),
        "annex_iii_title": "Załącznik III: wykaz dalszych podmiotów przetwarzających",
        "annex_iii_intro": (
            "Standardowe klauzule umowne (decyzja wykonawcza Komisji (UE) 2021/914), moduł "
            "trzeci: dalsze podmioty przetwarzające, z których usług korzysta podmiot "
            "odbierający dane ({importer})."
        ),
        "as_of": "Stan na dzień",
        "processor": "Podmiot przetwarzający",
        "controller": "Administrator",
        "importer": "Podmiot odbierający dane",
        "module": "moduł {module}",
        "clauses": "Klauzule",
        "clause9_general": (
            "ogólne pisemne upoważnienie do korzystania z usług dalszych podmiotów "
            "przetwarzających, z uprzedzeniem {days} dni"
        ),
        "clause9_specific": (
            "szczególne uprzednie upoważnienie dla każdego dalszego podmiotu przetwarzającego"
        ),
        "name": "Nazwa",
        "address": "Adres",
        "contact": "Podmiot i dane kontaktowe",
        "description": "Opis przetwarzania",
        "data_categories": "Kategorie danych",
        "data_subjects": "Kategorie osób",
        "locations": "Miejsca przetwarzania i podstawa transferu",
        "engaged_by": "dalszy podmiot przetwarzający, z którego usług korzysta {parent}",
        "none": "Brak.",
        "withheld_heading": "Nie przetwarzają danych tego administratora",
        "applies_from": "od",
        "authorisation_general": (
            "ogólna pisemna zgoda administratora na korzystanie z usług dalszych podmiotów "
            "przetwarzających (art. 28 ust. 2 RODO)"
        ),
        "authorisation_specific": (
            "szczegółowa pisemna zgoda administratora na każdy dalszy podmiot przetwarzający "
            "(art. 28 ust. 2 RODO)"
        ),
        "authorisation": "Rodzaj zgody",
        "policy_heading": "Odbiorcy danych osobowych",
        "processors_heading": "Podmioty przetwarzające dane na nasze zlecenie",
        "processors_intro": (
            "Powierzamy przetwarzanie danych osobowych podmiotom, które świadczą dla nas "
            "usługi (podmioty przetwarzające, art. 28 RODO). Przetwarzają one dane wyłącznie "
            "na nasze polecenie i w zakresie potrzebnym do świadczenia tych usług:"
        ),
        "controllers_heading": "Zaufani partnerzy",
        "controllers_intro": (
            "Dane osobowe otrzymują także nasi zaufani partnerzy, którzy przetwarzają je jako "
            "odrębni administratorzy albo wspólnie z nami jako współadministratorzy (art. 26 "
            "RODO), na zasadach opisanych w swoich politykach prywatności:"
        ),
        "purpose": "cel",
        "established": "siedziba",
        "transfer": (
            "przekazywanie danych poza Europejski Obszar Gospodarczy ({where}): {safeguard}"
        ),
        "transfers_note": (
            "Jeśli dane są przekazywane poza Europejski Obszar Gospodarczy, przy odbiorcy "
            "podajemy państwo trzecie i zabezpieczenie, na podstawie którego dane są "
            "przekazywane. Kopię zabezpieczeń można otrzymać, pisząc na adres podany w "
            "polityce (art. 13 ust. 1 lit. f RODO)."
        ),
        "no_transfers": (
            "Odbiorcy wymienieni powyżej nie przekazują danych osobowych poza Europejski "
            "Obszar Gospodarczy."
        ),
        "policy_as_of": "Stan na dzień {day}",
    },
    "en": {
        "annex_title": "List of sub-processors",
        "annex_intro": (
            "Annex to the data processing agreement between {customer} (controller) and {org} "
            "(processor): the sub-processors the processor may engage to process personal "
            "data (Art. 28(2) and (4) GDPR)."
        ),
        "annex_iii_title": "Annex III: list of sub-processors",
        "annex_iii_intro": (
            "Standard contractual clauses (Commission Implementing Decision (EU) 2021/914), "
            "Module 3: the sub-processors engaged by the data importer ({importer})."
        ),
        "as_of": "As of",
        "processor": "Processor",
        "controller": "Controller",
        "importer": "Data importer",
        "clauses": "Clauses",
        "clause9_general": "general authorisation of further sub-processors, {days} days' notice",
        "clause9_specific": "specific authorisation of each further sub-processor",
        "name": "Name",
        "address": "Address",
        "contact": "Legal entity and contact details",
        "description": "Description of the processing",
        "data_categories": "Categories of personal data",
        "data_subjects": "Categories of data subjects",
        "locations": "Processing locations and transfer mechanism",
        "engaged_by": "Sub-processor of {parent}",
        "none": "None.",
        "withheld_heading": "Not processing this controller's data",
        "applies_from": "from",
        "authorisation_general": "general authorisation of sub-processors (Art. 28(2) GDPR)",
        "authorisation_specific": "specific authorisation of each sub-processor (Art. 28(2) GDPR)",
        "authorisation": "Authorisation",
        "policy_heading": "Recipients of personal data",
        "processors_heading": "Processors acting on our behalf",
        "processors_intro": (
            "We entrust personal data to providers that perform services for us (processors, "
            "Art. 28 GDPR). They process it only on our instructions and only as far as those "
            "services require:"
        ),
        "controllers_heading": "Trusted partners",
        "controllers_intro": (
            "Our trusted partners also receive personal data; they process it as independent "
            "controllers, or jointly with us as joint controllers (Art. 26 GDPR), as their own "
            "privacy policies describe:"
        ),
        "purpose": "purpose",
        "established": "established in",
        "transfer": "transfer outside the European Economic Area ({where}): {safeguard}",
        "module": "Module {module}",
        "transfers_note": (
            "Where data leaves the European Economic Area, the country and the safeguard the "
            "transfer rests on are named with the recipient. A copy of the safeguards can be "
            "obtained by writing to the address given in this policy."
        ),
        "no_transfers": (
            "The recipients listed above do not transfer personal data outside the European "
            "Economic Area."
        ),
        "policy_as_of": "As of {day}.",
    },
}
