"""national committees: a committee with no locality covers the whole country

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("committees", schema=None) as batch_op:
        batch_op.alter_column("locality_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # A national committee has no locality to fall back on: it cannot survive a downgrade.
    op.execute("DELETE FROM committee_members WHERE committee_id IN "
               "(SELECT id FROM committees WHERE locality_id IS NULL)")
    op.execute("DELETE FROM committees WHERE locality_id IS NULL")
    with op.batch_alter_table("committees", schema=None) as batch_op:
        batch_op.alter_column("locality_id", existing_type=sa.Integer(), nullable=False)
