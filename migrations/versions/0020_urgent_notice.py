"""urgent_notice: the negotiated emergency minimum notice indexed

Revision ID: 0020_urgent_notice
Revises: 0019_controller
Create Date: 2026-12-05 12:45:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0020_urgent_notice"
down_revision = "0019_controller"
branch_labels = None
depends_on = None


def upgrade():
    # An urgent announcement finds the customers whose negotiated emergency minimum exceeds
    # the notice it leaves from the index, as it does for the negotiated notice.
    with op.batch_alter_table("customer_agreements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_agreements_emergency_notice_days"),
            ["emergency_notice_days"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("customer_agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_agreements_emergency_notice_days"))
