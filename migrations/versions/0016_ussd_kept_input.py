"""USSD sessions: the path kept for gateways that send only the latest answer

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

KEPT = "kept_input IS NOT NULL"


def upgrade() -> None:
    # USSD_INPUT=latest: the session's path so far, encrypted (what a caller typed).
    with op.batch_alter_table("ussd_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kept_input", sa.Text(), nullable=True))
    # The clock erases the kept paths of sessions that are over: few rows at a time.
    op.create_index(
        "ix_ussd_sessions_kept",
        "ussd_sessions",
        ["last_step_at"],
        unique=False,
        sqlite_where=sa.text(KEPT),
        postgresql_where=sa.text(KEPT),
    )


def downgrade() -> None:
    op.drop_index("ix_ussd_sessions_kept", table_name="ussd_sessions")
    with op.batch_alter_table("ussd_sessions", schema=None) as batch_op:
        batch_op.drop_column("kept_input")
