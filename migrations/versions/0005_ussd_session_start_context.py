"""USSD sessions remember the caller's home and subscription as the session began

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The menu replays the whole path from what the caller had when the session began,
    # so a resent last step of "subscribe" or "my locality" does the same thing again.
    op.add_column("ussd_sessions", sa.Column("start_home_id", sa.Integer(), nullable=True))
    op.add_column("ussd_sessions", sa.Column("start_subscribed", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ussd_sessions") as batch:
        batch.drop_column("start_subscribed")
        batch.drop_column("start_home_id")
