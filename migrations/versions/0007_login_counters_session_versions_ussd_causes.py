"""login failures counted atomically per address; revocable console sessions;
the whole end cause of a USSD session

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.models.base import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_addresses",
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_login_addresses")),
    )
    with op.batch_alter_table("console_users") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), server_default="1", nullable=False)
        )
    with op.batch_alter_table("ussd_sessions") as batch:
        batch.add_column(sa.Column("end_cause", sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ussd_sessions") as batch:
        batch.drop_column("end_cause")
    with op.batch_alter_table("console_users") as batch:
        batch.drop_column("session_version")
    op.drop_table("login_addresses")
