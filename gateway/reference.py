"""The per-language texts sent to phones, loaded once per process."""

from __future__ import annotations

from gateway.domain.catalogue import Catalogues, load_catalogues
from gateway.runtime import Runtime


def catalogues(rt: Runtime) -> Catalogues:
    return rt.cached("catalogues", load_catalogues)
