"""inbound messages become a handling queue: order key, lease, attempts, last error

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.models.base import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("sender_ref", sa.String(16), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("lease_until", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_error", sa.String(300), nullable=True))
    queued = sa.text("outcome IN ('received', 'handling')")
    for name, columns in (
        ("ix_inbound_queue", ["id"]),
        ("ix_inbound_sender", ["sender_ref", "id"]),
    ):
        op.create_index(
            name, "inbound_messages", columns, sqlite_where=queued, postgresql_where=queued
        )
    # Rows stored before this revision and never handled stay for review: a worker
    # only claims rows that carry an order key.


def downgrade() -> None:
    op.drop_index("ix_inbound_sender", table_name="inbound_messages")
    op.drop_index("ix_inbound_queue", table_name="inbound_messages")
    with op.batch_alter_table("inbound_messages") as batch:
        for name in ("last_error", "lease_until", "next_attempt_at", "attempts", "sender_ref"):
            batch.drop_column(name)
