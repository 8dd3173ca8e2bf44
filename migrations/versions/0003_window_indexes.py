"""covering indexes for the evaluation's window queries

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_trust_ratings_window",
        "trust_ratings",
        ["question", "rated_at", "locality_id", "reporter_id", "value", "burst"],
    )
    op.create_index(
        "ix_incidents_window", "incidents", ["reported_at", "locality_id", "reporter_id", "burst"]
    )


def downgrade() -> None:
    op.drop_index("ix_incidents_window", table_name="incidents")
    op.drop_index("ix_trust_ratings_window", table_name="trust_ratings")
