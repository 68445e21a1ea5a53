"""HTTP glue for bulk imports of vendors and customers."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint(
    "imports",
    __name__,
    url_prefix="/api/v1/orgs/<org>",
    description="Bulk import of an existing vendor list and customer list",
)
