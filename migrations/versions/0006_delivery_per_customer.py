"""one delivery per customer and address: an address may serve several customers

Revision ID: 0006_delivery_per_customer
Revises: 0005_public_cache
Create Date: 2026-11-23 12:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006_delivery_per_customer'
down_revision = '0005_public_cache'
branch_labels = None
depends_on = None


def upgrade():
    # Two customers sharing a contact address each need their own notice; the old key
    # (outbox, channel, address) refused the second one and stopped the whole fan-out.
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('uq_deliveries_outbox_id_channel_address'), type_='unique'
        )
        batch_op.create_unique_constraint(
            batch_op.f('uq_deliveries_outbox_id_customer_id_channel_address'),
            ['outbox_id', 'customer_id', 'channel', 'address'],
        )


def downgrade():
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('uq_deliveries_outbox_id_customer_id_channel_address'), type_='unique'
        )
        batch_op.create_unique_constraint(
            batch_op.f('uq_deliveries_outbox_id_channel_address'),
            ['outbox_id', 'channel', 'address'],
        )
