"""Migrations are code: one head, upgrade and downgrade work, models never drift from them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import MetaData, inspect, select

from service import MIGRATIONS, clock, create_app
from service.extensions import db
from service.recipients.models import TransferAssessment
from tests.conftest import ADMIN_URL, _admin, _with_database


@pytest.fixture(params=["postgresql", "sqlite"])
def blank_app(request: pytest.FixtureRequest, tmp_path) -> Iterator[Flask]:
    if request.param == "postgresql":
        name = f"dpa_migrations_{uuid.uuid4().hex[:10]}"
        _admin(f'CREATE DATABASE "{name}"')
        url = _with_database(ADMIN_URL, name)
    else:
        url = f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        if request.param == "postgresql":
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_single_head() -> None:
    script = ScriptDirectory(MIGRATIONS)
    assert len(script.get_heads()) == 1


def _diff() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, db.metadata)


def test_upgrade_leaves_no_drift_and_downgrade_removes_everything(blank_app: Flask) -> None:
    with blank_app.app_context():
        upgrade(directory=MIGRATIONS)
        tables = set(inspect(db.engine).get_table_names())
        assert {t.name for t in db.metadata.sorted_tables} <= tables
        assert _diff() == []

        downgrade(directory=MIGRATIONS, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}

        upgrade(directory=MIGRATIONS)
        assert _diff() == []


def test_bilingual_labels_keep_every_stored_value_in_both_languages(blank_app: Flask) -> None:
    """0015 copies a one-language value into both languages, there and back."""
    before = ScriptDirectory(MIGRATIONS).get_revision("0014_bilingual_labels").down_revision
    with blank_app.app_context():
        upgrade(directory=MIGRATIONS, revision=before)
        with db.engine.begin() as connection:
            tables = MetaData()
            tables.reflect(connection)
            now = clock.now()
            rows = {
                "organizations": {
                    "id": 1, "slug": "o", "legal_name": "O", "address": "A", "country": "PL",
                    "contact_email": "o@o.example", "security_measures": "", "timezone": "UTC",
                    "retention_policy": "", "default_notice_days": 30, "created_at": now,
                    "default_objection_days": 14, "residency_policy": "none",
                    "retention_from": "end_of_relationship",
                },
                "recipients": {
                    "id": 1, "organization_id": 1, "name": "V", "legal_entity": "V", "address": "",
                    "certifications": [], "due_diligence_notes": "", "special_categories": [],
                    "created_at": now, "updated_at": now,
                },
                "recipient_revisions": {
                    "id": 1, "recipient_id": 1, "country": "DE", "role": "subprocessor",
                    "purpose_pl": "p", "purpose_en": "p", "data_categories_pl": [],
                    "data_categories_en": [], "data_subject_categories": ["staff"],
                },
                "processing_locations": {
                    "id": 1, "revision_id": 1, "activity": "hosting", "mechanism": "none",
                    "country": "DE",
                },
                "transfer_assessments": {
                    "id": 1, "organization_id": 1, "recipient_id": 1, "country": "DE",
                    "assessed_on": now.date(), "outcome": "no_measures_needed", "created_at": now,
                    "supplementary_measures": [],
                    "location": {"country": "DE", "activity": "hosting"},
                },
            }  # fmt: skip
            for name, row in rows.items():
                table = tables.tables[name]
                connection.execute(table.insert().values({k: row[k] for k in row if k in table.c}))

        upgrade(directory=MIGRATIONS, revision="0014_bilingual_labels")
        with db.engine.connect() as connection:
            # The tables as that revision left them, not as the models now are.
            schema = MetaData()
            schema.reflect(connection, only=("recipient_revisions", "processing_locations"))
            revision = connection.execute(select(schema.tables["recipient_revisions"])).one()
            location = connection.execute(select(schema.tables["processing_locations"])).one()
            assessed = connection.execute(select(TransferAssessment.location)).scalar_one()
        assert revision.data_subject_categories_pl == revision.data_subject_categories_en
        assert revision.data_subject_categories_en == ["staff"]
        assert (location.activity_pl, location.activity_en) == ("hosting", "hosting")
        assert assessed == {"country": "DE", "activity_pl": "hosting", "activity_en": "hosting"}

        downgrade(directory=MIGRATIONS, revision=before)
        with db.engine.connect() as connection:
            tables = MetaData()
            tables.reflect(connection)
            old = connection.execute(select(tables.tables["recipient_revisions"])).one()
            place = connection.execute(select(tables.tables["processing_locations"])).one()
            back = connection.execute(select(tables.tables["transfer_assessments"])).one()
        assert old.data_subject_categories == ["staff"]
        assert place.activity == "hosting"
        assert back.location == {"country": "DE", "activity": "hosting"}
