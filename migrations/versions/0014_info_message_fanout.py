"""info message fan-out: how far the clock has queued a message, and how many

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The clock queues a message in batches of subscriptions taken in id order: the
    # last id done, and how many recipients are in the outbox so far.
    with op.batch_alter_table("info_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fanout_after", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("queued", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("info_messages", schema=None) as batch_op:
        batch_op.drop_column("queued")
        batch_op.drop_column("fanout_after")
