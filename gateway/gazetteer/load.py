"""Loading the shipped gazetteer into the database, in one transaction."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.db import transaction
from gateway.gazetteer.files import GazetteerError, read_localities, read_places
from gateway.models import Locality, LocalityKind, Place

__all__ = ["GazetteerError", "gazetteer_is_empty", "load_gazetteer"]

_ORDER = {"region": 0, "cercle": 1, "commune": 2, "camp": 3}


def gazetteer_is_empty(sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        return not session.scalar(select(func.count()).select_from(Locality))


def load_gazetteer(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Insert or refresh every locality (by P-code) and replace the places. The files
    are read and checked before the database is touched; a failure keeps nothing."""
    localities = sorted(read_localities(), key=lambda r: _ORDER[r.kind])
    places = read_places()
    with transaction(sessions) as session:
        ids = {pcode: id_ for pcode, id_ in session.execute(select(Locality.pcode, Locality.id))}
        for row in localities:
            parent_id = ids.get(row.parent_pcode) if row.parent_pcode else None
            if row.parent_pcode and parent_id is None:
                raise GazetteerError(f"{row.pcode}: unknown parent {row.parent_pcode}")
            values = {
                "kind": LocalityKind(row.kind),
                "name": row.name,
                "parent_id": parent_id,
                "lat": row.lat,
                "lon": row.lon,
                "country": row.country,
                "code_scheme": row.code_scheme,
                "aliases": "|".join(row.aliases),
            }
            existing = ids.get(row.pcode)
            if existing is None:
                loc = Locality(pcode=row.pcode, **values)
                session.add(loc)
                session.flush()
                ids[row.pcode] = loc.id
            else:
                loc = session.get_one(Locality, existing)
                for key, value in values.items():
                    setattr(loc, key, value)
        session.execute(delete(Place))
        rows = [
            {
                "name": p.name,
                "commune_id": ids[p.commune_pcode],
                "kind": p.kind,
                "lat": p.lat,
                "lon": p.lon,
            }
            for p in places
            if p.commune_pcode in ids
        ]
        for start in range(0, len(rows), 5000):
            session.execute(insert(Place), rows[start : start + 5000])
    counts = Counter(r.kind for r in localities)
    counts["place"] = len(rows)
    return dict(counts)
