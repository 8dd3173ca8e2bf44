"""drop stored thresholds of rule parameters that issue 14 retired

The early-warning rules changed their statistics (issue 14): incident_spike is now a
negative-binomial predictive threshold, reporting_silence a Poisson lower-tail test,
trust_low a confidence bound, and severity comes from the evidence for every rule. A
stored value for a parameter that no longer exists would be ignored silently; it is
deleted instead (the audit log keeps who had set it, and when).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

RETIRED = {
    "trust_low": ("severity_step",),
    "trust_drop": ("severity_step",),
    "incident_spike": (
        "period_days",
        "baseline_periods",
        "guard_periods",
        "z",
        "sd_floor",
        "min_count",
        "severity_step",
    ),
    "reporting_silence": ("min_weekly", "fraction", "severity_step"),
}


def upgrade() -> None:
    thresholds = sa.table("thresholds", sa.column("rule"), sa.column("param"))
    for rule, params in RETIRED.items():
        op.execute(
            thresholds.delete().where(thresholds.c.rule == rule, thresholds.c.param.in_(params))
        )


def downgrade() -> None:
    pass  # the values are gone; the older rules fall back to their defaults
