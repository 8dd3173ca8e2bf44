"""Whether a citizen may be told that someone will hear of their report, and whom
they should call when people are in danger now.

The routing belongs to `gateway.services.alerts.recipients`, the urgent rule to
`gateway.domain.findings`; these are the questions intake asks of them, so a reply
never promises more than the routing and the rule do.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.domain.findings import check_incident_urgent
from gateway.gazetteer.index import Gazetteer
from gateway.runtime import Runtime
from gateway.services.alerts.recipients import route
from gateway.services.alerts.thresholds import overrides, values


def someone_will_be_told(
    session: Session, gaz: Gazetteer, locality_id: int, *, urgent: bool
) -> bool:
    """True when an alert for `locality_id` would reach a committee member at once."""
    return route(session, gaz, locality_id, urgent=urgent).reached


def is_urgent(
    rt: Runtime,
    session: Session,
    gaz: Gazetteer,
    kind: str,
    locality_id: int,
    *,
    burst: bool = False,
) -> bool:
    """An incident of this kind with people in danger now alerts at once here: the
    incident_urgent rule's own test (`check_incident_urgent`), with its values as set
    for the locality, for a report flagged as part of a burst or not."""
    params = values(rt, gaz, overrides(session), "incident_urgent", locality_id)
    return check_incident_urgent(kind, True, burst, params) is not None


def in_danger_told(
    rt: Runtime, session: Session, gaz: Gazetteer, kind: str, locality_id: int, *, burst: bool
) -> str:
    """Who hears of an incident here with people in danger now, as a reply key's
    suffix: "_told" when the urgent check alerts on it and the alert reaches a
    committee member at once; "_later" when a committee member hears of it as of any
    report here (the window rules' alerts); "" when only the service team reads it."""
    urgent = is_urgent(rt, session, gaz, kind, locality_id, burst=burst)
    if urgent and someone_will_be_told(session, gaz, locality_id, urgent=True):
        return "_told"
    return "_later" if someone_will_be_told(session, gaz, locality_id, urgent=False) else ""


def emergency_number(rt: Runtime, gaz: Gazetteer, locality_id: int | None) -> str:
    """The number to call for people in danger at `locality_id` (a camp: its
    country's); without a locality, that of the default country."""
    emergency = rt.reference.emergency
    if locality_id is None:
        return emergency.numbers[emergency.default_country]
    return emergency.for_locality(gaz.pcodes[locality_id])
