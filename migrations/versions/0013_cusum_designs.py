"""cusum designs: the Poisson CUSUM designs kept across restarts

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A cache of a pure function (gateway/services/alerts/designs.py): empty at first.
    op.create_table(
        "cusum_designs",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("mean", sa.Double(), nullable=False),
        sa.Column("arl", sa.Double(), nullable=False),
        sa.Column("ratio", sa.Double(), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("k_units", sa.Integer(), nullable=False),
        sa.Column("h_units", sa.Integer(), nullable=False),
        sa.Column("run_length", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("version", "mean", "arl", "ratio"),
    )


def downgrade() -> None:
    op.drop_table("cusum_designs")
