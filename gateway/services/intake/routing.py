"""Whether a citizen may be told that someone will hear of their report.

The routing belongs to `gateway.services.alerts.recipients`; this is the one question
intake asks of it, so a reply never promises more than the routing does.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.gazetteer.index import Gazetteer
from gateway.runtime import Runtime
from gateway.services.alerts.recipients import route
from gateway.services.alerts.thresholds import overrides, values


def someone_will_be_told(
    session: Session, gaz: Gazetteer, locality_id: int, *, urgent: bool
) -> bool:
    """True when an alert for `locality_id` would reach a committee member at once."""
    return route(session, gaz, locality_id, urgent=urgent).reached


def is_urgent(rt: Runtime, session: Session, gaz: Gazetteer, kind: str, locality_id: int) -> bool:
    """An incident of this kind with people in danger now alerts at once here (the
    incident_urgent rule's flags, as set for the locality)."""
    params = values(rt, gaz, overrides(session), "incident_urgent", locality_id)
    return params.get(f"urgent_{kind}", 0.0) >= 0.5
