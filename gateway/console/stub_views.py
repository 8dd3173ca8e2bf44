"""The views that replaced the first stubs live in their own modules; importing them
here attaches them to the blueprint (register_console imports this module)."""

from __future__ import annotations

from gateway.console import (  # noqa: F401  (importing attaches the views)
    export_views,
    locality_views,
    map_views,
    overview_views,
    threshold_views,
)
