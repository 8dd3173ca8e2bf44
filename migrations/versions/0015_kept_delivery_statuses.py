"""delivery statuses kept until the commit of their send

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.models.base import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A status callback that overtakes the commit of its own send waits here (provider
    # and its id, the status, when it came) until the send is recorded, or expires.
    op.create_table(
        "outbox_kept_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_message_id", sa.String(length=100), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sending",
                "sent",
                "delivered",
                "failed",
                "dead",
                name="outbox_status",
                native_enum=False,
                length=13,
            ),
            nullable=False,
        ),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_kept_status")),
    )
    op.create_index(
        "ix_outbox_kept_status_message",
        "outbox_kept_status",
        ["provider", "provider_message_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_kept_status_message", table_name="outbox_kept_status")
    op.drop_table("outbox_kept_status")
