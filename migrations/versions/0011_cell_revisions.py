"""cell revisions: the rollup stamps each cell it writes, so a pass reads only changes

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ("window_cells", "day_counts")


def upgrade() -> None:
    # Cells already kept get revision 0: a pass's first read takes them all anyway.
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("rev", sa.Integer(), nullable=False, server_default=sa.text("0"))
            )
        op.create_index(f"ix_{table}_rev", table, ["stream", "rev"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_rev", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("rev")
