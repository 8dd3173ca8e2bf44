"""figure cells: per-day, per-locality aggregates the evaluation sums; rolled flags

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UNROLLED = sa.text("rolled = false")


def upgrade() -> None:
    op.create_table(
        "window_cells",
        sa.Column("stream", sa.String(48), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("locality_id", sa.Integer(), nullable=False),
        sa.Column("until", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("total_sq", sa.Integer(), nullable=False),
        sa.Column("low", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("stream", "day", "locality_id", "until", name="pk_window_cells"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "day_counts",
        sa.Column("stream", sa.String(48), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("locality_id", sa.Integer(), nullable=False),
        sa.Column("plain", sa.Integer(), nullable=False),
        sa.Column("burst", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("stream", "day", "locality_id", name="pk_day_counts"),
        sqlite_with_rowid=False,
    )
    # Every report already stored is left to the rollup (the clock's first pass folds
    # them in; until then the evaluation scans, as before).
    for table, when in (("trust_ratings", "rated_at"), ("incidents", "reported_at")):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("rolled", sa.Boolean(), nullable=False, server_default=sa.false())
            )
        op.create_index(
            f"ix_{table}_unrolled",
            table,
            [when],
            sqlite_where=UNROLLED,
            postgresql_where=UNROLLED,
        )


def downgrade() -> None:
    for table in ("trust_ratings", "incidents"):
        op.drop_index(f"ix_{table}_unrolled", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("rolled")
    op.drop_table("day_counts")
    op.drop_table("window_cells")
