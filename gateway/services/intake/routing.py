"""Whether a citizen may be told that someone will hear of their report.

The alert routing belongs to `gateway.services.alerts`; this is the one question
intake asks of it, kept behind one function so the replies never promise more than
the routing does. Until the routing of issue 10 lands on main it is answered here
with the same rule (the nearest link of the chain whose active committees have an
active member); then its body becomes `route(session, gaz, locality_id,
urgent=urgent).reached` from `gateway.services.alerts.recipients`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.gazetteer.index import Gazetteer
from gateway.models import Committee, CommitteeMember
from gateway.runtime import Runtime
from gateway.services.alerts.thresholds import overrides, values


def someone_will_be_told(
    session: Session, gaz: Gazetteer, locality_id: int, *, urgent: bool
) -> bool:
    """True when an alert for `locality_id` would reach a committee member at once."""
    del urgent  # nationwide committees do not exist yet; urgent alerts route the same
    chain = gaz.chain(locality_id)
    reached = session.scalar(
        select(Committee.id)
        .join(CommitteeMember, CommitteeMember.committee_id == Committee.id)
        .where(
            Committee.locality_id.in_(chain),
            Committee.active.is_(True),
            CommitteeMember.active.is_(True),
        )
        .limit(1)
    )
    return reached is not None


def is_urgent(rt: Runtime, session: Session, gaz: Gazetteer, kind: str, locality_id: int) -> bool:
    """An incident of this kind with people in danger now alerts at once here (the
    incident_urgent rule's flags, as set for the locality)."""
    params = values(rt, gaz, overrides(session), "incident_urgent", locality_id)
    return params.get(f"urgent_{kind}", 0.0) >= 0.5
