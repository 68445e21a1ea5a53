"""HTTP glue for the organization's own register: processing activities, the recipients of
its own data, and their import. Legal staff only: it is the organization's Art. 30(1) record,
not something its customers are party to."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView

from service import JSON_TYPES
from service.apidoc import (
    ACTIVITY_EXAMPLE,
    CONTROLLER_IMPORT_EXAMPLE,
    CONTROLLER_RECIPIENT_EXAMPLE,
    operation,
)
from service.controller import imports, services
from service.controller.schemas import (
    ActivityCreateSchema,
    ActivityListSchema,
    ActivityPatchSchema,
    ActivitySchema,
    ControllerImportArgs,
    ControllerImportResultSchema,
    ControllerImportSchema,
    ControllerRecipientCreateSchema,
    ControllerRecipientListSchema,
    ControllerRecipientPatchSchema,
    ControllerRecipientSchema,
)
from service.extensions import db
from service.imports.services import UnsupportedFormat
from service.keys.auth import access, load_organization, require_legal
from service.web import Blueprint, load_json

blp = Blueprint(
    "controller",
    __name__,
    url_prefix="/api/v1/orgs/<org>",
    description="The organization as controller: its processing activities and the "
    "recipients of its own data (Art. 30(1), 13, 26)",
)

ACTIVITY_CONFLICT = {409: "Another activity has this key, or already covers the customer records."}
RECIPIENT_CONFLICT = {
    409: "Another controller recipient has this name (or one that reads the same) or external_id."
}


def _items(rows: list) -> dict:
    return {"items": rows, "total": len(rows)}


@blp.route("/activities")
class Activities(MethodView):
    @access("legal")
    @blp.response(200, ActivityListSchema)
    @blp.doc(**operation("legal"))
    def get(self, org: str):
        """List the organization's processing activities (legal key).

        Legal staff read the activities the organization carries out as controller (its
        Art. 30(1) record): purposes, legal bases, data, retention and recipients, by key.
        """
        organization = load_organization(org)
        return _items(
            [services.present_activity(a) for a in services.list_activities(organization)]
        )

    @access("legal")
    @blp.arguments(ActivityCreateSchema)
    @blp.response(201, ActivitySchema)
    @blp.doc(**operation("legal", ACTIVITY_CONFLICT, example=ACTIVITY_EXAMPLE))
    def post(self, data: dict, org: str):
        """Record a processing activity (legal key).

        Legal staff record an activity with its purposes and legal bases (Art. 6(1), and an
        Art. 9(2) condition for special categories), the legitimate interests of a 6(1)(f)
        basis (Art. 13(1)(d)), its retention and its recipients (`recipient_ids`). Nothing is
        announced to customers: this is the organization's own data. 409: the key is taken,
        or another activity already covers the customer records.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        activity = services.create_activity(organization, data, actor=principal.actor)
        db.session.commit()
        return services.present_activity(activity)


@blp.route("/activities/<int:activity_id>")
class Activity(MethodView):
    @access("legal")
    @blp.response(200, ActivitySchema)
    @blp.doc(**operation("legal"))
    def get(self, org: str, activity_id: int):
        """Show one processing activity (legal key).

        Legal staff read one activity with its recipients (id, name and role of each).
        """
        organization = load_organization(org)
        return services.present_activity(services.get_activity(organization, activity_id))

    @access("legal")
    @blp.arguments(ActivityPatchSchema)
    @blp.response(200, ActivitySchema)
    @blp.doc(**operation("legal", ACTIVITY_CONFLICT))
    def patch(self, data: dict, org: str, activity_id: int):
        """Edit a processing activity (legal key).

        Legal staff change any field; the rules are checked on the activity as it would be
        (a 6(1)(f) basis still needs its legitimate interests). `recipient_ids` replaces the
        list of recipients. Audited with what changed; no customer is notified.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        activity = services.get_activity(organization, activity_id)
        services.edit_activity(organization, activity, data, actor=principal.actor)
        db.session.commit()
        return services.present_activity(activity)

    @access("legal")
    @blp.response(204)
    @blp.doc(**operation("legal"))
    def delete(self, org: str, activity_id: int):
        """Delete a processing activity (legal key).

        Legal staff delete an activity recorded by mistake; one that ended is better kept
        with its `ended_on`, so that the record shows it. Audited with the whole activity.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        activity = services.get_activity(organization, activity_id)
        services.delete_activity(organization, activity, actor=principal.actor)
        db.session.commit()


@blp.route("/controller-recipients")
class ControllerRecipients(MethodView):
    @access("legal")
    @blp.response(200, ControllerRecipientListSchema)
    @blp.doc(**operation("legal"))
    def get(self, org: str):
        """List the recipients of the organization's own data (legal key).

        Legal staff read its processors, independent and joint controllers, by name, each
        with its locations, its activities and the same vendor on the customers'-data list
        (`subprocessor`), where there is one.
        """
        organization = load_organization(org)
        rows = services.list_recipients(organization)
        return _items([services.present_recipient(r) for r in rows])

    @access("legal")
    @blp.arguments(ControllerRecipientCreateSchema)
    @blp.response(201, ControllerRecipientSchema)
    @blp.doc(**operation("legal", RECIPIENT_CONFLICT, example=CONTROLLER_RECIPIENT_EXAMPLE))
    def post(self, data: dict, org: str):
        """Register a recipient of the organization's own data (legal key).

        Legal staff register a processor (Art. 28(1)), an independent controller or a joint
        controller (Art. 26) with its locations, described and refused as a subprocessor's
        (a processor here is SCC Module 2; Module 4 is refused). `subprocessor_id` links the
        same vendor on the customers'-data list. No customer is notified: it is not their
        data. 409: the name (or one that reads the same) or the external_id is taken.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        recipient = services.create_recipient(organization, data, actor=principal.actor)
        db.session.commit()
        return services.present_recipient(recipient)


@blp.route("/controller-recipients/<int:controller_recipient_id>")
class ControllerRecipient(MethodView):
    @access("legal")
    @blp.response(200, ControllerRecipientSchema)
    @blp.doc(**operation("legal"))
    def get(self, org: str, controller_recipient_id: int):
        """Show one recipient of the organization's own data (legal key).

        Legal staff read one recipient with its locations, activities and linked vendor.
        """
        organization = load_organization(org)
        return services.present_recipient(
            services.get_recipient(organization, controller_recipient_id)
        )

    @access("legal")
    @blp.arguments(ControllerRecipientPatchSchema)
    @blp.response(200, ControllerRecipientSchema)
    @blp.doc(**operation("legal", RECIPIENT_CONFLICT))
    def patch(self, data: dict, org: str, controller_recipient_id: int):
        """Edit a recipient of the organization's own data (legal key).

        Legal staff change any field, locations included, directly: no change is announced
        and no customer is notified (Art. 28(2) concerns customers' data only). Audited with
        what changed.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        recipient = services.get_recipient(organization, controller_recipient_id)
        services.edit_recipient(organization, recipient, data, actor=principal.actor)
        db.session.commit()
        return services.present_recipient(recipient)

    @access("legal")
    @blp.response(204)
    @blp.doc(**operation("legal"))
    def delete(self, org: str, controller_recipient_id: int):
        """Delete a recipient of the organization's own data (legal key).

        Legal staff delete a recipient; the activities it served lose the link. One no longer
        used is better kept with its `used_until`. Audited with the whole recipient.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        recipient = services.get_recipient(organization, controller_recipient_id)
        services.delete_recipient(organization, recipient, actor=principal.actor)
        db.session.commit()


IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": ControllerImportSchema,
                "example": CONTROLLER_IMPORT_EXAMPLE,
            }
        },
    }
}


@blp.route("/controller/import")
class ControllerImport(MethodView):
    @access("legal")
    @blp.arguments(ControllerImportArgs, location="query", as_kwargs=True)
    @blp.response(200, ControllerImportResultSchema)
    @blp.doc(**IMPORT_BODY)
    @blp.doc(**operation("legal"))
    def post(self, org: str, mode: str, dry_run: bool):
        """Import the organization's activities and recipients (legal key): all or none.

        The body is `{"recipients": [...], "activities": [...]}`. A recipient is the body of
        `POST .../controller-recipients` with `subprocessor` (the name of the same vendor on
        the customers'-data list) instead of `subprocessor_id`; an activity is the body of
        `POST .../activities` with `recipients` (names of controller recipients, in this
        body or registered) instead of `recipient_ids`. Recipients are written first.

        `mode=create` (default): every row is new; a key or name already registered is an
        error naming it. `mode=upsert`: an activity matching by key, a recipient by
        `external_id` else by name (as the API compares names), is corrected; the answer
        says `created`, `updated` or `unchanged` for each row. `dry_run=true` checks
        everything and answers what would be written, writing nothing.

        422: every error of every row, keyed by its path (`activities[2].legal_bases`);
        nothing is written. Each row written is audited as by the API, and the import once
        more (`import.completed`).
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        if request.mimetype not in JSON_TYPES:
            raise UnsupportedFormat("Send the body as application/json.")
        request.max_content_length = current_app.config["IMPORT_MAX_CONTENT_LENGTH"]
        body = load_json(request.get_data())
        try:
            result = imports.import_controller(
                organization, body, actor=principal.actor, mode=mode, dry_run=dry_run
            )
        except Exception:
            db.session.rollback()
            raise
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        return result
