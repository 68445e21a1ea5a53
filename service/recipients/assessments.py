"""Transfer impact assessments, one per vendor and place (EDPB Recommendations 01/2020).

Each assessment keeps a copy of the processing location it assessed, taken from the vendor's
material data valid on the assessment's date, so that the compliance rules can tell when an
`update` has changed that location since (service/compliance/rules.py, `location_changed`).
An assessment is never edited: a review is a new one, and the history stays.
"""

from __future__ import annotations

from sqlalchemy import select

from service.audit import services as audit
from service.compliance import rules
from service.errors import ValidationFailed
from service.extensions import db
from service.organizations.models import Organization
from service.recipients.models import Recipient, TransferAssessment
from service.recipients.services import location_dict, revision_on

FIELDS = (
    "country",
    "international_organisation",
    "assessed_on",
    "outcome",
    "supplementary_measures",
    "review_on",
    "reference",
)


def present(assessment: TransferAssessment) -> dict:
    return {"id": assessment.id, **{name: getattr(assessment, name) for name in FIELDS}}


def list_assessments(recipient: Recipient) -> list[TransferAssessment]:
    return list(
        db.session.scalars(
            select(TransferAssessment)
            .where(TransferAssessment.recipient_id == recipient.id)
            .order_by(TransferAssessment.assessed_on, TransferAssessment.id)
        )
    )


def _assessed_location(recipient: Recipient, data: dict) -> dict:
    """The vendor's location at the assessed place on the assessment's date, or a 422."""
    where = rules.place_of(data)
    for location in revision_on(recipient, data["assessed_on"]).locations:
        shown = location_dict(location)
        if rules.place_of(shown) == where:
            return audit.jsonable(shown)
    raise ValidationFailed(
        "The vendor has no processing location there on that date.",
        errors={"country": [f"No location of {recipient.name} at {where.label}."]},
    )


def record_assessment(
    org: Organization, recipient: Recipient, data: dict, *, actor: str
) -> TransferAssessment:
    """Record an assessment of the vendor's transfer to one of its places (audited)."""
    assessment = TransferAssessment(
        organization_id=org.id,
        recipient_id=recipient.id,
        location=_assessed_location(recipient, data),
        **{name: data.get(name) for name in FIELDS},
    )
    assessment.supplementary_measures = audit.jsonable(data.get("supplementary_measures") or [])
    db.session.add(assessment)
    db.session.flush()
    audit.record(
        org.id,
        actor,
        "recipient.transfer_assessed",
        "recipient",
        recipient.id,
        after={**present(assessment), "location": assessment.location},
    )
    return assessment
