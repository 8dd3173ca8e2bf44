"""Rule values as set by admins: nationally, or for a region, cercle or commune, the
nearest setting winning (`thresholds list` shows where each value comes from)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.rules import (
    OverrideKey,
    ResolvedValue,
    param_values,
    resolve_params,
    validate_value,
)
from gateway.gazetteer.index import Gazetteer
from gateway.models import Locality, Threshold
from gateway.runtime import Runtime

# The parameter `thresholds set` changes when --param is not given.
MAIN_PARAM = {
    "trust_low": "level",
    "trust_drop": "drop",
    "trust_shift": "arl_weeks",
    "incident_spike": "alpha",
    "incident_cusum": "arl_weeks",
    "incident_urgent": "urgent_attack",
    "reporting_silence": "alpha",
}


def overrides(session: Session) -> dict[OverrideKey, float]:
    """Every stored setting keyed by (P-code or None for national, rule, param)."""
    rows = session.execute(
        select(Locality.pcode, Threshold.rule, Threshold.param, Threshold.value).outerjoin(
            Locality, Locality.id == Threshold.locality_id
        )
    ).all()
    return {(pcode, rule, param): value for pcode, rule, param, value in rows}


def resolved(
    rt: Runtime,
    gaz: Gazetteer,
    stored: Mapping[OverrideKey, float],
    rule: str,
    locality_id: int | None,
) -> dict[str, ResolvedValue]:
    chain = [gaz.pcodes[i] for i in gaz.chain(locality_id)] if locality_id else []
    return resolve_params(rule, chain, stored, rt.reference.rules)


def values(
    rt: Runtime, gaz: Gazetteer, stored: Mapping[OverrideKey, float], rule: str, locality_id: int
) -> dict[str, float]:
    return param_values(resolved(rt, gaz, stored, rule, locality_id))


def set_threshold(
    session: Session,
    rt: Runtime,
    *,
    rule: str,
    param: str | None,
    value: float,
    locality_id: int | None,
    actor: str,
    now: dt.datetime,
) -> tuple[float | None, float]:
    """Store one setting (validated against the rule's bounds); (old value, new value)."""
    param = param or MAIN_PARAM.get(rule, "")
    checked = validate_value(rt.reference.rules, rule, param, value)
    row = session.scalar(
        select(Threshold).where(
            Threshold.rule == rule,
            Threshold.param == param,
            Threshold.locality_id.is_(None)
            if locality_id is None
            else Threshold.locality_id == locality_id,
        )
    )
    old = row.value if row else None
    if row is None:
        session.add(
            Threshold(
                rule=rule,
                param=param,
                locality_id=locality_id,
                value=checked,
                updated_at=now,
                updated_by=actor,
            )
        )
    else:
        row.value, row.updated_at, row.updated_by = checked, now, actor
    session.flush()
    return old, checked
