"""Property-based fuzzing of the whole JSON API from its own OpenAPI document (Schemathesis).

Every operation is generated from `/openapi.json` and each generated request is sent four
times: with no key, with the organization's legal key, with one of its customers' keys, and
with another organization's legal key. Each answer must not be a server error and must
conform to the schema the document declares for its status (errors included: they are
documented once, as application/problem+json).

Bounded for CI: FUZZ_EXAMPLES examples per operation (default 20), no shrinking, no
example database; the module runs in about two minutes on two cores (46 operations).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from service import create_app
from tests.conftest import bearer
from tests.notice_kit import Desk

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
ORG = "fuzzed"


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx, value) -> bytes:
    # The imports document JSON Lines as a string: send it as it was generated.
    return value.encode() if isinstance(value, str) else str(value).encode()


# The document does not depend on the database: read it from an app on in-memory SQLite,
# then send every request to the suite's app on PostgreSQL (`app=` below).
schema = schemathesis.openapi.from_wsgi(
    "/openapi.json", create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
)


@pytest.fixture
def seeded(client, world) -> dict[str, dict]:
    """An organization with a customer, vendors and an announced change, and the keys."""
    desk = Desk(client, world, ORG)
    customer = desk.customer("C1")
    desk.listed(offset=0)
    other_vendor = desk.vendor(name="OVH", legal_entity="OVH SAS", country="FR")
    desk.add(other_vendor, 40)
    other = world.org("stranger")
    return {
        "anonymous": {},
        "legal": desk.legal,
        "customer": customer["key"],
        "other-org legal": bearer(world.key("legal", other)),
    }


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_conformant_answers(case, app, seeded):
    if "org" in (case.path_parameters or {}):
        # A random slug only ever meets 404; aim at the seeded organization instead.
        case.path_parameters["org"] = ORG
    for role, headers in seeded.items():
        try:
            case.call_and_validate(
                app=app, headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )
        except Exception as error:
            error.add_note(f"as {role}")
            raise
