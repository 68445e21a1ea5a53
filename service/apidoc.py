"""What the OpenAPI document says of an operation beyond its schemas.

Each view declares who may call it and the errors of its own (`@blp.doc(**operation(...))`);
the errors every operation of a kind shares (a body too large, not JSON, too many requests)
are added by `ErrorsPlugin` from the same rules the app enforces, so they cannot drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from apispec import BasePlugin

from service.errors import PROBLEM_MIMETYPE

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
KEY = {"bearer": []}

# The kinds of tests/test_authorization_matrix.py, plus `admin` for creating organizations.
SECURITY: dict[str, list[dict]] = {
    # Anyone; a key is optional (`{}`), and checked when sent.
    "public": [{}, KEY],
    "legal": [KEY],
    "customer": [KEY],
    "customer_or_legal": [KEY],
    # Any key of the organization, whatever its role (GET /customers/me).
    "any_key": [KEY],
    "admin": [KEY],
}
# The answer of every write that checks `If-Match` (service/etags.py).
STALE = {412: "If-Match names an ETag the resource no longer has: GET it again and reapply."}
NO_KEY = "No key was sent, or it is unknown or revoked."
NOT_FOUND = (
    "No such organization or object; a key of another organization meets this too and "
    "learns nothing of what exists here."
)
ACCESS_ERRORS: dict[str, dict[int, str]] = {
    "public": {
        401: "A key was sent but is unknown or revoked (send none to call anonymously).",
        404: NOT_FOUND,
    },
    "legal": {
        401: NO_KEY,
        403: "A customer's key: this needs a legal-staff (or admin) key.",
        404: NOT_FOUND,
    },
    "customer": {
        401: NO_KEY,
        403: "Not a customer key: this is the customer's own act.",
        404: NOT_FOUND,
    },
    "customer_or_legal": {
        401: NO_KEY,
        404: NOT_FOUND + " Another customer's key also meets 404.",
    },
    "any_key": {401: NO_KEY, 404: NOT_FOUND},
    "admin": {401: NO_KEY, 403: "Not an admin key."},
}


def problem_response(description: str) -> dict:
    return {"description": description, "content": {PROBLEM_MIMETYPE: {"schema": PROBLEM_REF}}}


def operation(access: str, errors: dict[int, str] | None = None, example: object = None) -> dict:
    """Keyword arguments for `@blp.doc`: security, the error answers and a body example.

    `errors` adds the operation's own (409 conflicts, 412 stale ETags) to those of its
    access kind; `example` is a request body that the operation accepts.
    """
    responses = {**ACCESS_ERRORS[access], **(errors or {})}
    doc: dict = {
        "security": SECURITY[access],
        "x-access": access,
        "responses": {str(status): problem_response(text) for status, text in responses.items()},
    }
    if example is not None:
        doc["requestBody"] = {"content": {"application/json": {"example": example}}}
    return doc


@dataclass(frozen=True)
class BodyRule:
    """What one kind of endpoint accepts as a body: its media types and its size limit."""

    media_types: frozenset[str]
    max_bytes: int
    setting: str

    def too_large(self) -> str:
        mib, rest = divmod(self.max_bytes, 1024 * 1024)
        size = f"{mib} MiB" if mib and not rest else f"{self.max_bytes} bytes"
        return f"The body is larger than {self.setting} ({size} here)."

    def unsupported(self) -> str:
        return f"The body is none of: {', '.join(sorted(self.media_types))}."


class ErrorsPlugin(BasePlugin):
    """Add the error answers that follow from rules of the whole app, not of one view.

    `bodies` and `limited` are the rules create_app enforces: the media types and size of
    bodies (plain API and imports) and service.ratelimit.LIMITED.
    """

    def __init__(
        self, bodies: Mapping[str, BodyRule], limited: Mapping[str, tuple[frozenset[str], str]]
    ) -> None:
        self.bodies = bodies
        self.limited = limited

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        rule = kwargs.get("rule")
        body = self.bodies["import" if (path or "").endswith("/import") else "api"]
        for method, op in (operations or {}).items():
            responses = op.setdefault("responses", {})
            if "requestBody" in op:
                responses.setdefault("413", problem_response(body.too_large()))
            # create_app's require_json_bodies looks at these methods' bodies only.
            if "requestBody" in op and method.upper() in {"POST", "PUT", "PATCH"}:
                responses.setdefault("415", problem_response(body.unsupported()))
            limit = self.limited.get(rule.endpoint) if rule is not None else None
            if limit and method.upper() in limit[0]:
                responses.setdefault(
                    "429",
                    problem_response("Too many requests from this address; see Retry-After."),
                )


# --- request examples: what a first call looks like (tests post or validate each one) ---

ORGANIZATION_EXAMPLE = {
    "slug": "bookero",
    "legal_name": "Bookero sp. z o.o.",
    "address": "ul. Spacerowa 25, 05-152 Czosnów",
    "country": "PL",
    "contact_email": "legal@bookero.example",
    "timezone": "Europe/Warsaw",
}
SERVICE_EXAMPLE = {"slug": "payments", "name_pl": "Płatności online", "name_en": "Online payments"}
VENDOR_EXAMPLE = {
    "name": "Stripe",
    "legal_entity": "Stripe Payments Europe, Limited",
    "address": "1 Grand Canal Street Lower, Dublin 2, D02 H210",
    "country": "IE",
    "website": "https://stripe.com",
    "role": "subprocessor",
    "purpose_pl": "Obsługa płatności kartami w rezerwacjach online",
    "purpose_en": "Card payments for online bookings",
    "data_categories_pl": ["imię i nazwisko", "dane karty płatniczej"],
    "data_categories_en": ["name", "payment card data"],
    "data_subject_categories_pl": ["klienci salonów"],
    "data_subject_categories_en": ["salons' clients"],
    "locations": [
        {
            "country": "IE",
            "mechanism": "none",
            "activity_pl": "płatności",
            "activity_en": "payments",
        },
        {
            "country": "US",
            "mechanism": "scc",
            "scc_module": 3,
            "activity_pl": "wykrywanie oszustw",
            "activity_en": "fraud detection",
        },
    ],
}
CHANGE_EXAMPLE = {
    "kind": "add",
    "recipient_id": 1,
    "effective_on": "2026-09-01",
    "reason": "A second data centre for the booking service",
}
WITHDRAW_EXAMPLE = {"reason": "The vendor's offer was withdrawn."}
CUSTOMER_EXAMPLE = {
    "external_ref": "BK-0002",
    "name": "Salon Urody Anna",
    "started_on": "2024-01-15",
    "contacts": [{"email": "anna@salon.example", "name": "Anna Nowak", "locale": "pl"}],
}
OFFBOARDING_EXAMPLE = {"ended_on": "2026-06-30", "reason": "The customer ended the contract."}
KEY_EXAMPLE = {"role": "customer", "name": "Salon Anna's booking app", "customer_id": 1}
OBJECTION_EXAMPLE = {"reason": "Our clients' data must stay in the EEA."}
CONSENT_EXAMPLE = {"decision": "consent"}
RESOLUTION_EXAMPLE = {
    "outcome": "upheld",
    "note": "The vendor is excluded from this customer's processing.",
}
SUBSCRIBE_EXAMPLE = {"email": "dpo@salon.example", "locale": "pl"}
WEBHOOK_EXAMPLE = {"url": "https://salon.example/hooks/dpa"}
RECORD_EXPORT_EXAMPLE = {"format": "xlsx", "lang": "pl"}
LEGAL_HOLD_EXAMPLE = {"hold": True, "reason": "Court case 12/2026"}
ASSESSMENT_EXAMPLE = {
    "country": "US",
    "assessed_on": "2026-05-04",
    "outcome": "measures_effective",
    "supplementary_measures": [
        {"kind": "technical", "description": "Encryption at rest with keys held in the EEA"}
    ],
    "review_on": "2027-05-04",
}
AGREEMENT_EXAMPLE = {
    "version": "2026-07",
    "effective_on": "2026-07-01",
    "texts": [
        {"language": "pl", "text": "# Umowa powierzenia\n\n…", "summary": "Nowy okres"},
        {"language": "en", "text": "# Data processing agreement\n\n…", "summary": "New term"},
    ],
}
ACCEPTANCE_EXAMPLE = {"name": "Anna Nowak", "email": "anna@salon.example", "language": "pl"}
CONTROLLER_RECIPIENT_EXAMPLE = {
    "name": "Hotjar",
    "legal_entity": "Hotjar Ltd",
    "address": "Dragonara Business Centre, 5th Floor, Dragonara Road, St Julian's STJ 3141",
    "country": "MT",
    "website": "https://www.hotjar.com",
    "role": "processor",
    "purpose_pl": "Mapy cieplne i nagrania sesji na stronie",
    "purpose_en": "Heatmaps and session recordings on the website",
    "data_categories_en": ["online identifiers", "pages visited"],
    "locations": [{"country": "IE", "mechanism": "none", "activity_en": "hosting on AWS"}],
    "dpa_signed_on": "2024-03-01",
}
ACTIVITY_EXAMPLE = {
    "key": "newsletter",
    "name_pl": "Newsletter",
    "name_en": "Newsletter",
    "purposes_pl": ["Wysyłka newslettera"],
    "purposes_en": ["Sending the newsletter"],
    "legal_bases": ["6(1)(a)"],
    "data_subjects_en": ["newsletter subscribers"],
    "data_categories_en": ["e-mail address"],
    "retention_note_en": "Until consent is withdrawn.",
    "recipient_ids": [1],
}
CONTROLLER_IMPORT_EXAMPLE = {
    "recipients": [{**CONTROLLER_RECIPIENT_EXAMPLE, "subprocessor": None}],
    "activities": [
        {
            **{k: v for k, v in ACTIVITY_EXAMPLE.items() if k != "recipient_ids"},
            "recipients": ["Hotjar"],
        }
    ],
}
