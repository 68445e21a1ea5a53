"""HTTP glue for bulk imports of vendors and customers."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from sqlalchemy.exc import IntegrityError

from service.apidoc import operation
from service.errors import PROBLEM_MIMETYPE, Conflict
from service.extensions import db
from service.imports import history, services, spreadsheet
from service.imports.schemas import (
    CustomerImportSchema,
    HistoryImportArgs,
    HistoryResultSchema,
    ImportProblemSchema,
    ImportResultSchema,
    VendorImportArgs,
    VendorImportSchema,
)
from service.keys.auth import load_organization, require_legal
from service.web import Blueprint, load_json

blp = Blueprint(
    "imports",
    __name__,
    url_prefix="/api/v1/orgs/<org>",
    description="Bulk import of an existing vendor list and customer list",
)

VENDOR_CSV_EXAMPLE = (
    "name,legal_entity,country,role,purpose_pl,purpose_en,data_categories_en,services,"
    "locations,listed_from\n"
    "Hetzner,Hetzner Online GmbH,DE,subprocessor,Hosting,Hosting,contact details;booking history,"
    "bookings;payments,DE:none (hosting),2021-03-01\n"
    'Zendesk,"Zendesk, Inc.",US,subprocessor,Obsługa zgłoszeń,Support tickets,contact details,,'
    '"IE:none; US:scc:3:general:30 (support)",\n'
)
CUSTOMER_CSV_EXAMPLE = (
    "external_ref,name,started_on,services,email,contact_name,locale,authorisation\n"
    "C-1001,Salon Anna,2022-05-01,bookings;payments,anna@salon.example,Anna Nowak,pl,general\n"
    "C-1002,Barber Bob,,bookings,,,,specific\n"
)


REFUSED = {
    "schema": ImportProblemSchema,
    "content_type": PROBLEM_MIMETYPE,
    "description": "Invalid rows, or a file that cannot be imported; nothing is written",
}


def _request_body(row_schema: type, csv_example: str) -> dict:
    array = {"type": "array", "items": row_schema}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": csv_example},
                "application/json": {"schema": array},
                "application/x-ndjson": {
                    "schema": {"type": "string", "description": "One JSON object per line"}
                },
            },
        }
    }


def _rows(kind: str, columns: tuple | None = None, header=None) -> tuple[str, object]:
    """The request body as rows, read lazily under the import's own size limit."""
    fmt = services.FORMATS.get(request.mimetype or "")
    if fmt is None:
        raise services.UnsupportedFormat(f"Send the file as {', '.join(sorted(services.FORMATS))}.")
    # Set before the body is touched: the stream is built (and checked) on first access.
    request.max_content_length = current_app.config["IMPORT_MAX_CONTENT_LENGTH"]
    rows = services.read_rows(
        request.stream,
        fmt,
        kind=kind,
        charset=request.mimetype_params.get("charset"),
        columns=columns,
        header=header,
    )
    return fmt, rows


def _commit_or_roll_back(run):
    try:
        result = run()
    except IntegrityError:
        db.session.rollback()
        # Only a concurrent writer gets here: every row was checked against the database.
        raise Conflict(
            "Another request wrote the same records meanwhile; nothing was imported."
        ) from None
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return result if isinstance(result, dict) else result.as_dict()


@blp.route("/subprocessors/import")
class VendorImport(MethodView):
    @blp.doc(**_request_body(VendorImportSchema, VENDOR_CSV_EXAMPLE))
    @blp.response(200, ImportResultSchema)
    @blp.alt_response(422, **REFUSED)
    @blp.doc(
        **operation(
            "legal",
            {409: "Another request wrote the same records meanwhile; nothing was imported."},
        )
    )
    @blp.arguments(VendorImportArgs, location="query", as_kwargs=True)
    def post(self, org: str, **how: str):
        """Import an existing vendor list (legal key): all rows or none.

        Each row is a vendor registration (the body of `POST .../subprocessors`) plus
        `listed_from`: a vendor in use since that date (today or earlier) goes straight
        onto the list, because the import records the existing state; without it the
        vendor is registered as `proposed` and reaches the list through an `add` change.
        A parent is named by `parent` (a registered vendor or one in an earlier row).

        **Modes** (`mode`): `create` (default) registers every row as a new vendor; a name
        already registered (case-insensitive, as the API compares names) or an
        `external_id` already stored is an error. `upsert` matches each row to a vendor by
        `external_id`, else by name, and corrects it: non-material fields (name, legal
        entity, address, website, due diligence) are edited directly; material fields
        (country, role, purposes, categories, services, locations, parent) of a vendor on
        the public list are refused with the value that differs, because customers must
        be told: announce an `update` change. A vendor not yet listed is edited directly.
        The same file imported twice changes nothing (`unchanged` counts such rows).

        **Bodies**: a JSON array of objects, an object with `items` (what the public
        `subprocessors.json` and `GET .../subprocessors` answer: they import back
        unchanged, their `id` and `parent_id` linking rows within the file), JSON Lines
        (`application/x-ndjson`), or CSV (RFC 4180: comma-separated, `"` quotes, UTF-8
        with or without BOM, or the `charset` of the Content-Type).

        **CSV columns**: a header line, then one vendor per line. The columns are named
        by the query parameter `mapping`, a JSON object from the sheet's header to a
        field (`{"Dostawca": "name", "Od": "listed_from", "Kolor": null}`; null or
        `ignore` skips a column); headers not mapped are recognised when they are a
        field's own name or a common header in English or Polish (case, accents and
        spacing do not count): name/vendor/dostawca, legal_entity/entity/legal entity/
        podmiot, country/kraj (of establishment), role/rola, purpose/cel, data
        categories/kategorie danych, location/lokalizacja, transfer mechanism/podstawa
        transferu, notes/uwagi (`due_diligence_notes`), website/strona, `external_id`.
        Any other column refuses the file, naming it, unless `unknown_columns=ignore`.
        One-language columns (purpose, data categories) are in the sheet's language:
        `lang`, else Polish when a recognised header is Polish, else English; the other
        language stays empty and outputs in it show this text, marked as such.
        Lists are separated by `;`, or by `,` when no list cell of the file has a `;`
        (`list_separator` names it). An empty cell gives nothing. A country is an ISO
        code or its name in Polish or English (`Niemcy`, `Germany`, `DE`).

        **Locations** (`locations`): entries, each a place - a country, `EU`, `EEA`
        (`UE`, `EOG`) or `not stated` (`nie podano`) - with an optional `(activity)`;
        its mechanism is the row's `transfer_mechanism` (`SCC module 3`, `adequacy`,
        `DPF`, `brak`...), else `none`. `EU`/`EEA` say the data stays there without
        inventing a country; `not stated` is recorded as such, and compliance reports it
        as a gap (never as "no transfer"). The compact form gives each entry its own
        mechanism: `COUNTRY:MECHANISM[:DETAILS] [(activity)]`, e.g.
        `DE:none (hosting); US:scc:3; GB:adequacy; CH:bcr:BCR-2019-4; US:derogation:a`;
        there the activity is `(po polsku | in English)`, one text filling both.
        DETAILS by mechanism: `scc` - `module[:clause9_option[:notice_days[:signed_on
        [:set]]]]` (`US:scc:3:general:30:2023-01-10`); `adequacy` - reference; `bcr` -
        reference; `code_of_conduct` and `certification` - name; `ad_hoc_clauses` -
        authorisation; `derogation` - Art. 49 ground. A cell that starts with `[` is a
        JSON array of location objects, as in the JSON body (the public CSV writes
        `locations_data` so; its `locations` column, for people, is then skipped).

        Refused files answer 422 with `errors.rows`: `[{"row": n, "line": l, "errors":
        {column or field path: [messages]}}]` (n counts data rows from 1), every error of
        a row at once, each quoting the value it is about; nothing is written. Success
        records one audit event per vendor created or edited (and `recipient.listed` for
        a listed one) and one `import.completed`.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        org_id = organization.id
        layout = spreadsheet.Layout(spreadsheet.options_from(how))
        fmt, rows = _rows("vendors", header=layout.read_header)
        return _commit_or_roll_back(
            lambda: services.import_vendors(
                org_id,
                rows,
                fmt=fmt,
                actor=principal.actor,
                max_errors=current_app.config["IMPORT_MAX_REPORTED_ERRORS"],
                layout=layout,
                mode=how["mode"],
            )
        )


@blp.route("/customers/import")
class CustomerImport(MethodView):
    @blp.doc(**_request_body(CustomerImportSchema, CUSTOMER_CSV_EXAMPLE))
    @blp.response(200, ImportResultSchema)
    @blp.alt_response(422, **REFUSED)
    @blp.doc(
        **operation(
            "legal",
            {409: "Another request wrote the same records meanwhile; nothing was imported."},
        )
    )
    def post(self, org: str):
        """Import a customer list (legal key): upsert by `external_ref`, all rows or none.

        A row whose `external_ref` is registered updates that customer (fields the row
        leaves out keep their value), any other creates one (`started_on` defaults to
        today). The same `external_ref` twice in a file is an error. Rows are handled in
        chunks, so files of 100,000 customers and more import in one request.

        Bodies: a JSON array or JSON Lines (`application/x-ndjson`) of objects shaped
        like `POST .../customers` (`contacts` given there replace the customer's set), or
        CSV (RFC 4180: comma-separated, `"` quotes, UTF-8 with or without BOM, or the
        `charset` of the Content-Type) with a header line and one customer per line.
        Columns, in any order: `external_ref`, `name` (required); `started_on`,
        `ended_on` (YYYY-MM-DD), `services` (slugs separated by `;`), `email`,
        `contact_name`, `locale` (`pl` or `en`): one contact, added or edited by its
        e-mail while other contacts stay; `agreement_version_id`, `authorisation`
        (`general`/`specific`), `notice_days`, `objection_days`, `objection_remedy`
        (`exclude`/`terminate`): negotiated terms. An empty cell changes nothing (an
        empty `email` no contact); an unknown column refuses the file.

        Refused files answer 422 with `errors.rows`: `[{"row": n, "line": l, "errors":
        {column or field path: [messages]}}]` (n counts data rows from 1); nothing is
        written. Success records `customer.created` or `customer.edited` per changed
        customer and one `import.completed`.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        org_id = organization.id
        fmt, rows = _rows("customers")
        config = current_app.config
        return _commit_or_roll_back(
            lambda: services.import_customers(
                org_id,
                rows,
                fmt=fmt,
                actor=principal.actor,
                chunk_size=config["IMPORT_CHUNK_SIZE"],
                max_errors=config["IMPORT_MAX_REPORTED_ERRORS"],
            )
        )


HISTORY_CSV_EXAMPLE = (
    "valid_on,external_id,name,legal_entity,country,role,purpose_pl,purpose_en,locations\n"
    "2019-01-01,v1,Hetzner,Hetzner Online GmbH,DE,subprocessor,Hosting,Hosting,DE:none\n"
    "2020-06-01,v1,Hetzner,Hetzner Online GmbH,DE,subprocessor,Hosting,Hosting,DE:none; FI:none\n"
)


def _history_rows() -> tuple[str, object]:
    """A JSON history is read whole (it may be an object of versions); a multipart upload
    gives one CSV file per version; CSV and JSON Lines stream as in the vendor import."""
    columns = (history.HISTORY_COLUMNS, history.HISTORY_REQUIRED_COLUMNS)
    if request.mimetype == "multipart/form-data":
        request.max_content_length = current_app.config["IMPORT_MAX_CONTENT_LENGTH"]
        return "csv", history.file_rows(request.files.items(multi=True), columns)
    fmt = services.FORMATS.get(request.mimetype or "")
    if fmt != "json":
        return _rows("history", columns)
    request.max_content_length = current_app.config["IMPORT_MAX_CONTENT_LENGTH"]
    return fmt, history.version_rows(load_json(request.get_data()))


@blp.route("/subprocessors/history/import")
class VendorHistoryImport(MethodView):
    @blp.arguments(HistoryImportArgs, location="query")
    @blp.doc(**_request_body(history.HistoryRowSchema, HISTORY_CSV_EXAMPLE))
    @blp.response(200, HistoryResultSchema)
    @blp.alt_response(422, **REFUSED)
    @blp.doc(
        **operation(
            "legal",
            {409: "Another request wrote the same records meanwhile; nothing was imported."},
        )
    )
    def post(self, args: dict, org: str):
        """Import a vendor list with its history (legal key): dated versions, all or none.

        Each row is a vendor as one version of the list shows it: the columns of the vendor
        import (without `listed_from` and `parent`) plus `valid_on`, the day that version
        holds from, and optionally `external_id`, which follows a vendor across versions
        (so that a new name is a rename, not one vendor leaving and another arriving;
        without it the name does). Bodies: CSV or JSON Lines with those columns, a JSON
        array of rows, `{"versions": [{"valid_on": "2019-01-01", "vendors": [...]}]}`, or
        `multipart/form-data` with one CSV file per version, each named by its date
        (`2019-01-01.csv`, or the form field `2019-01-01`), without a `valid_on` column.

        Between consecutive versions the registry derives the changes: vendors added (or
        back after a removal), removed, their material data updated, renamed. They are
        recorded as historical changes (`historical: true`, the actor, `source`): no
        notice, no subscriber mail, never "announced" on the public page or in the feed.
        The list `as_of` each version's day and the diff between two versions reproduce
        the file. A version after today is refused (announce it as changes instead);
        every vendor is created by the import (one already registered is a row error).
        `dry_run=true` shows the versions and the derived changes and writes nothing.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        org_id = organization.id
        fmt, rows = _history_rows()
        return _commit_or_roll_back(
            lambda: history.import_history(
                org_id,
                rows,
                fmt=fmt,
                actor=principal.actor,
                source=args["source"],
                dry_run=args["dry_run"],
                max_errors=current_app.config["IMPORT_MAX_REPORTED_ERRORS"],
            )
        )
