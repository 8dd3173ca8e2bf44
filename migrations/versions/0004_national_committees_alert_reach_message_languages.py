"""national committees (no locality: the whole country), how many SMS each alert
queued (0 = reached nobody), information messages with a text per language

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("committees", schema=None) as batch_op:
        batch_op.alter_column("locality_id", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recipients", sa.Integer(), server_default="0", nullable=False)
        )
    # Alerts raised before: what the outbox holds for them is what they reached.
    op.execute(
        "UPDATE alerts SET recipients = (SELECT count(*) FROM outbox "
        "WHERE outbox.alert_id = alerts.id AND outbox.purpose = 'alert')"
    )
    with op.batch_alter_table("info_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bodies", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("info_messages", schema=None) as batch_op:
        batch_op.drop_column("bodies")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("recipients")
    # A national committee has no locality to fall back on: it cannot survive a downgrade.
    op.execute(
        "DELETE FROM committee_members WHERE committee_id IN "
        "(SELECT id FROM committees WHERE locality_id IS NULL)"
    )
    op.execute("DELETE FROM committees WHERE locality_id IS NULL")
    with op.batch_alter_table("committees", schema=None) as batch_op:
        batch_op.alter_column("locality_id", existing_type=sa.Integer(), nullable=False)
