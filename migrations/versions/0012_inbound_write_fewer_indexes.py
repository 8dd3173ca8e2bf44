"""inbound messages: two indexes fewer written by every stored webhook

`ix_inbound_review` (outcome, received_at) was written by every INSERT and rewritten
by every change of outcome (received, handling, processed); what read it (the
console's dead letters and backlog, the handling's lock) is served by a partial
index on dead rows (written only when a handling gives up) and by the queue's own
partial indexes. The reporter index becomes partial on rows that have a reporter
(set by the handling, never by the webhook) and carries `received_at`, which the
rate limit reads.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

DEAD = sa.text("outcome = 'dead'")
HAS_REPORTER = sa.text("reporter_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_inbound_review", table_name="inbound_messages")
    op.drop_index("ix_inbound_messages_reporter_id", table_name="inbound_messages")
    op.create_index(
        "ix_inbound_dead", "inbound_messages", ["id"], sqlite_where=DEAD, postgresql_where=DEAD
    )
    op.create_index(
        "ix_inbound_reporter",
        "inbound_messages",
        ["reporter_id", "received_at"],
        sqlite_where=HAS_REPORTER,
        postgresql_where=HAS_REPORTER,
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_reporter", table_name="inbound_messages")
    op.drop_index("ix_inbound_dead", table_name="inbound_messages")
    op.create_index("ix_inbound_messages_reporter_id", "inbound_messages", ["reporter_id"])
    op.create_index("ix_inbound_review", "inbound_messages", ["outcome", "received_at"])
