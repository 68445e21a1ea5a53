"""HTTP glue for the records (Art. 30(2) as processor, 30(1) as controller), the annexes, the
exports, the privacy policy and its section on recipients."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from flask import Response, current_app, render_template, request, send_file
from flask.views import MethodView

from service import clock
from service.apidoc import RECORD_EXPORT_EXAMPLE, operation
from service.controller import formats as controller_formats
from service.controller import policy as controller_policy
from service.controller import record as controller_record
from service.customers.services import get_customer
from service.errors import Conflict
from service.extensions import db
from service.keys.auth import access, actor, load_organization
from service.organizations.models import Organization
from service.public import services as public
from service.public.texts import negotiate
from service.recipients.services import get_recipient
from service.records import exports, formats, services
from service.records.controller_schemas import ControllerRecordSchema, PrivacyPolicySchema
from service.records.models import RecordExport
from service.records.schemas import (
    AnnexArgs,
    AnnexIIISchema,
    AnnexSchema,
    DownloadArgs,
    ExportArgs,
    ExportRequestSchema,
    PolicyArgs,
    PolicySectionArgs,
    RecordArgs,
    RecordExportSchema,
    RecordSchema,
)
from service.records.texts import TEXTS
from service.web import Blueprint

log = logging.getLogger(__name__)
BUILD_TASK = "workers.tasks.build_record_export"

blp = Blueprint(
    "records",
    __name__,
    url_prefix="/api/v1/orgs/<org>",
    description="The processor's record (Art. 30(2)), DPA annexes, exports, policy section",
)

# What each `format` is served as; without `format`, the Accept header picks among them.
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv",
    "xlsx": formats.XLSX_TYPE,
    "html": "text/html",
    "text": "text/plain",
    "markdown": "text/markdown",
    "md": "text/markdown",
}


def _as(*forms: str):
    """Document the other media types a 200 may come as (the JSON one has its schema)."""
    binary = {"type": "string", "format": "binary"}

    def decorator(view):
        for form in reversed(forms):
            # A JSON file without a schema of its own is still a JSON document, not bytes.
            shape = {"type": "object"} if form == "json" else binary
            view = blp.alt_response(200, schema=shape, content_type=MEDIA_TYPES[form])(view)
        return view

    return decorator


def _format(asked: str | None, offered: tuple[str, ...]) -> str:
    if asked:
        return asked
    types = [MEDIA_TYPES[name] for name in offered]
    best = request.accept_mimetypes.best_match(types, default=types[0])
    return offered[types.index(best)]


def _day(organization: Organization, args: dict) -> date:
    return args.get("as_of") or clock.local_today(organization.timezone)


def _lang(args: dict) -> str:
    return negotiate(args.get("lang"), request.accept_languages)


def _file(body: bytes | str, form: str, filename: str | None = None) -> Response:
    charset = "" if form == "xlsx" else "; charset=utf-8"
    response = Response(body, content_type=MEDIA_TYPES[form] + charset)
    if filename is not None:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Accept, Accept-Language"
    return response


def _annex(args: dict, annex: dict, lang: str) -> dict | Response:
    """The annex as JSON, or as a printable page."""
    if _format(args.get("format"), ("json", "html")) == "json":
        return annex
    page = render_template("records/annex.html", annex=annex, t=TEXTS[lang], lang=lang)
    return _file(page, "html")


@blp.route("/record")
class Record(MethodView):
    @access("legal")
    @blp.arguments(RecordArgs, location="query")
    @blp.response(200, RecordSchema)
    @_as("csv", "xlsx")
    @blp.doc(
        **operation("legal", {409: "Too large for one request: POST .../record/exports instead."})
    )
    def get(self, args: dict, org: str):
        """Read the record of processing (legal key).

        Legal staff read the record of processing activities the processor keeps (GDPR Art.
        30(2)) as JSON, CSV or XLSX. 409: the record is too large for one request; ask for
        an export job instead.
        """
        organization = load_organization(org)
        day = _day(organization, args)
        form = _format(args.get("format"), ("json", "csv", "xlsx"))
        _refuse_if_large(organization, day)
        record = services.record(organization, day, args.get("lang") or "en")
        if form == "json":
            return record
        name = f"{organization.slug}-record-{day.isoformat()}.{form}"
        render = formats.record_csv if form == "csv" else formats.record_xlsx
        return _file(render(record), form, name)


@blp.route("/record/controller")
class ControllerRecord(MethodView):
    @access("legal")
    @blp.arguments(RecordArgs, location="query")
    @blp.response(200, ControllerRecordSchema)
    @_as("csv", "xlsx")
    @blp.doc(**operation("legal"))
    def get(self, args: dict, org: str):
        """Read the record of processing as controller (legal key).

        Legal staff read the record the organization keeps of its own processing activities
        as controller (GDPR Art. 30(1)), beside its record as processor (GET .../record), as
        JSON, CSV or XLSX. A transfer's safeguard is named only when valid on `as_of`.
        """
        organization = load_organization(org)
        day = _day(organization, args)
        form = _format(args.get("format"), ("json", "csv", "xlsx"))
        record = controller_record.record(organization, day, args.get("lang") or "en")
        if form == "json":
            return record
        name = f"{organization.slug}-controller-record-{day.isoformat()}.{form}"
        render = controller_formats.record_csv if form == "csv" else controller_formats.record_xlsx
        return _file(render(record), form, name)


def _refuse_if_large(organization: Organization, day: date) -> None:
    """A large record is built by a worker: no request may run into the server's timeout."""
    limit = current_app.config["RECORD_SYNC_MAX_CUSTOMERS"]
    count = services.customer_count_on(organization, day)
    if count > limit:
        raise Conflict(
            f"The record has {count} controllers, more than the {limit} served in one "
            "request: ask for it as an export job (POST .../record/exports).",
            export_endpoint=f"/api/v1/orgs/{organization.slug}/record/exports",
        )


def _export_body(organization: Organization, export: RecordExport) -> dict:
    done = export.status == "done"
    return {
        **{c.key: getattr(export, c.key) for c in RecordExport.__table__.columns},
        "progress": {"done": export.progress_done, "total": export.progress_total},
        "download_url": exports.download_url(organization, export) if done else None,
        "download_expires_at": exports.link_expiry(export) if done else None,
    }


def _start(export_id: int) -> None:
    """Hand the job to a worker after the commit; if the broker is down, beat's sweep does."""
    try:
        current_app.extensions["celery"].tasks[BUILD_TASK].apply_async(args=(export_id,))
    except Exception:
        log.warning("broker unavailable; export %s left for the sweep", export_id, exc_info=True)


@blp.route("/record/exports")
class RecordExports(MethodView):
    @access("legal")
    @blp.arguments(ExportRequestSchema)
    @blp.response(202, RecordExportSchema)
    @blp.doc(
        **operation(
            "legal",
            {429: "The organization's exports are at their cap; see Retry-After."},
            example=RECORD_EXPORT_EXAMPLE,
        )
    )
    def post(self, args: dict, org: str):
        """Build the record (Art. 30(2)) as a file in the background: json, csv or xlsx.

        Poll the job's URL for progress; once done it carries a signed download link that
        expires. At most RECORD_EXPORTS_PER_ORG jobs per organization are queued or
        running at once (429 with Retry-After beyond).
        """
        organization = load_organization(org)
        lang = args.get("lang") or "en"
        export = exports.request_export(
            organization, actor(), args["format"], lang, _day(organization, args)
        )
        export_id = export.id
        db.session.commit()
        _start(export_id)
        export = exports.get_export(organization, export_id)
        location = f"/api/v1/orgs/{organization.slug}/record/exports/{export_id}"
        return _export_body(organization, export), 202, {"Location": location}


@blp.route("/record/exports/<int:export_id>")
class RecordExportJob(MethodView):
    @access("legal")
    @blp.response(200, RecordExportSchema)
    @blp.doc(**operation("legal"))
    def get(self, org: str, export_id: int):
        """Show a record export job (legal key).

        Legal staff poll the job: its status, progress and, when done, a fresh signed link
        to download the file.
        """
        organization = load_organization(org)
        return _export_body(organization, exports.get_export(organization, export_id))


@blp.route("/record/exports/<int:export_id>/download")
class RecordExportDownload(MethodView):
    @access("public")
    @blp.arguments(DownloadArgs, location="query")
    @_as("json", "csv", "xlsx")
    @blp.doc(**operation("public"))
    def get(self, args: dict, org: str, export_id: int):
        """Download a record export through its signed link.

        No key is needed: the signed link is the credential, bound to this export's file,
        and it expires. Without a valid link every caller gets 404.
        """
        organization = load_organization(org)
        export, path = exports.file_for(organization, export_id, args["token"])
        return _send(export, path, organization)


def _send(export: RecordExport, path: Path, organization: Organization) -> Response:
    name = f"{organization.slug}-record-{export.as_of.isoformat()}.{export.format}"
    charset = "" if export.format == "xlsx" else "; charset=utf-8"
    response = send_file(
        path,
        mimetype=MEDIA_TYPES[export.format] + charset,
        as_attachment=True,
        download_name=name,
        conditional=False,
        etag=export.sha256,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/customers/<int:customer_id>/annex")
class CustomerAnnex(MethodView):
    @access("customer_or_legal")
    @blp.arguments(AnnexArgs, location="query")
    @blp.response(200, AnnexSchema)
    @_as("html")
    @blp.doc(**operation("customer_or_legal"))
    def get(self, args: dict, org: str, customer_id: int):
        """Read a customer's annex of authorised subprocessors.

        Legal staff, or the customer with its own key, get the annex of the data processing
        agreement that lists the customer's authorised subprocessors (Annex IV of the
        clauses of Decision 2021/915), in Polish or English.
        """
        organization = load_organization(org)
        customer = get_customer(organization, customer_id)
        lang = _lang(args)
        annex = services.customer_annex(organization, customer, _day(organization, args), lang)
        return _annex(args, annex, lang)


@blp.route("/subprocessors/<int:recipient_id>/scc-annex-iii")
class SccAnnexIII(MethodView):
    @access("legal")
    @blp.arguments(AnnexArgs, location="query")
    @blp.response(200, AnnexIIISchema)
    @_as("html")
    @blp.doc(
        **operation("legal", {409: "The vendor has no processing location under SCC Module 3."})
    )
    def get(self, args: dict, org: str, recipient_id: int):
        """Read Annex III of the SCC signed with a vendor (legal key).

        Legal staff get Annex III of the Module 3 standard contractual clauses signed with
        this vendor: its own subprocessors. 409: the vendor has no place under Module 3 on
        that date.
        """
        organization = load_organization(org)
        importer = get_recipient(organization, recipient_id)
        lang = _lang(args)
        annex = services.scc_annex_iii(organization, importer, _day(organization, args), lang)
        return _annex(args, annex, lang)


@blp.route("/subprocessors/export")
class Export(MethodView):
    @blp.arguments(ExportArgs, location="query")
    @_as("json", "csv")
    @blp.doc(**operation("public"))
    def get(self, args: dict, org: str):
        """Download the public list as a JSON or CSV file.

        Anyone may download the list in force on `as_of`, as on the public page.
        """
        organization = load_organization(org)
        day = _day(organization, args)
        form = _format(args.get("format"), ("json", "csv"))
        render = public.csv_body if form == "csv" else public.json_body
        name = f"{organization.slug}-subprocessors-{day.isoformat()}.{form}"
        return _file(render(organization, day), form, name)


@blp.route("/privacy-policy")
class PrivacyPolicy(MethodView):
    @access("legal")
    @blp.arguments(PolicyArgs, location="query")
    @blp.response(200, PrivacyPolicySchema)
    @_as("md", "html")
    @blp.doc(**operation("legal"))
    def get(self, args: dict, org: str):
        """Read the privacy policy's sections for both hats (legal key).

        Legal staff get the privacy policy's sections on personal data: the data customers
        entrust to the organization as processor, and its own processing as controller
        (Art. 13, 26(2)), as JSON, Markdown to paste into a document, or an HTML fragment.
        """
        organization = load_organization(org)
        lang = _lang(args)
        policy = controller_policy.privacy_policy(organization, _day(organization, args), lang)
        form = _format(args.get("format"), ("json", "md", "html"))
        if form == "json":
            return policy
        if form == "html":
            body = render_template(
                "records/privacy_policy.html",
                policy=policy,
                **controller_formats.html_helpers(lang),
            )
        else:
            body = controller_formats.policy_markdown(policy)
        return _file(body, form)


@blp.route("/privacy-policy-section")
class PolicySection(MethodView):
    @blp.arguments(PolicySectionArgs, location="query")
    @_as("text", "markdown", "html")
    @blp.doc(**operation("public"))
    def get(self, args: dict, org: str):
        """Read the privacy policy's section on recipients.

        Anyone may get the recipients and trusted partners section of a privacy policy,
        generated from the register, in Polish or English.
        """
        organization = load_organization(org)
        section = services.policy_section(organization, _day(organization, args), _lang(args))
        form = _format(args.get("format"), ("text", "markdown", "html"))
        if form == "html":
            body = render_template("records/policy_section.html", section=section)
        else:
            body = formats.policy_text(section, markdown=form == "markdown")
        return _file(body, form)
