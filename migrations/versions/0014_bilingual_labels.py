"""bilingual labels: data-subject categories of a recipient revision and the activity of a
processing location in Polish and English, as purposes and data categories already are

Existing values were written in one language (in practice English); each is copied into
both new columns, so no output loses what it showed. Transfer assessments keep the location
as it was assessed: its `activity` key is split the same way, or every assessment would
look out of date. Downgrade keeps the English value (the Polish one when English is empty).

Revision ID: 0014_bilingual_labels
Revises: 0013_transfer_evidence
Create Date: 2026-12-05 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0014_bilingual_labels'
down_revision = '0013_transfer_evidence'
branch_labels = None
depends_on = None

JSON_LIST = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
ASSESSMENTS = sa.table('transfer_assessments', sa.column('id', sa.Integer), sa.column('location', JSON_LIST))
REVISIONS = sa.table(
    'recipient_revisions',
    sa.column('id', sa.Integer),
    sa.column('data_subject_categories', JSON_LIST),
    sa.column('data_subject_categories_pl', JSON_LIST),
    sa.column('data_subject_categories_en', JSON_LIST),
)


def _rewrite_assessed_locations(rewrite) -> None:
    """Row by row in Python: the same on PostgreSQL (JSONB) and SQLite (JSON text)."""
    bind = op.get_bind()
    for row in bind.execute(sa.select(ASSESSMENTS.c.id, ASSESSMENTS.c.location)).all():
        location = dict(row.location or {})
        new = rewrite(location)
        if new != location:
            bind.execute(
                ASSESSMENTS.update().where(ASSESSMENTS.c.id == row.id).values(location=new)
            )


def _split(location: dict) -> dict:
    if 'activity' not in location:
        return location
    old = location.pop('activity')
    return {**location, 'activity_pl': old, 'activity_en': old}


def _join(location: dict) -> dict:
    if 'activity_pl' not in location and 'activity_en' not in location:
        return location
    pl, en = location.pop('activity_pl', ''), location.pop('activity_en', '')
    return {**location, 'activity': en or pl or ''}


def upgrade():
    with op.batch_alter_table('recipient_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_subject_categories_pl', JSON_LIST, nullable=True))
        batch_op.add_column(sa.Column('data_subject_categories_en', JSON_LIST, nullable=True))
    op.execute(
        "UPDATE recipient_revisions SET data_subject_categories_pl = data_subject_categories, "
        "data_subject_categories_en = data_subject_categories"
    )
    with op.batch_alter_table('recipient_revisions', schema=None) as batch_op:
        batch_op.alter_column('data_subject_categories_pl', nullable=False)
        batch_op.alter_column('data_subject_categories_en', nullable=False)
        batch_op.drop_column('data_subject_categories')

    with op.batch_alter_table('processing_locations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('activity_pl', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('activity_en', sa.String(length=300), nullable=True))
    op.execute("UPDATE processing_locations SET activity_pl = activity, activity_en = activity")
    with op.batch_alter_table('processing_locations', schema=None) as batch_op:
        batch_op.alter_column('activity_pl', nullable=False)
        batch_op.alter_column('activity_en', nullable=False)
        batch_op.drop_column('activity')
    _rewrite_assessed_locations(_split)


def downgrade():
    _rewrite_assessed_locations(_join)
    with op.batch_alter_table('processing_locations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('activity', sa.String(length=300), nullable=True))
    op.execute(
        "UPDATE processing_locations SET activity = CASE WHEN activity_en <> '' "
        "THEN activity_en ELSE activity_pl END"
    )
    with op.batch_alter_table('processing_locations', schema=None) as batch_op:
        batch_op.alter_column('activity', nullable=False)
        batch_op.drop_column('activity_en')
        batch_op.drop_column('activity_pl')

    with op.batch_alter_table('recipient_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_subject_categories', JSON_LIST, nullable=True))
    bind = op.get_bind()
    rows = sa.select(
        REVISIONS.c.id, REVISIONS.c.data_subject_categories_pl, REVISIONS.c.data_subject_categories_en
    )
    for row in bind.execute(rows).all():
        kept = row.data_subject_categories_en or row.data_subject_categories_pl or []
        bind.execute(
            REVISIONS.update().where(REVISIONS.c.id == row.id).values(data_subject_categories=kept)
        )
    with op.batch_alter_table('recipient_revisions', schema=None) as batch_op:
        batch_op.alter_column('data_subject_categories', nullable=False)
        batch_op.drop_column('data_subject_categories_en')
        batch_op.drop_column('data_subject_categories_pl')
