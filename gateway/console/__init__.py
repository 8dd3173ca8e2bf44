"""The web console (blueprint `console`, mounted at /console) for admins, analysts and
committee members. Views are split by concern; `access` holds who may see what,
`i18n` the text, `security` the headers and CSRF."""

from __future__ import annotations

from flask import Flask

from gateway.console.blueprint import bp


def register_console(app: Flask) -> None:
    """Attach the console to `app`, with CSRF checked on its forms only."""
    from gateway.console import (  # noqa: F401  (importing attaches the views)
        alert_action_views,
        alert_views,
        audit_views,
        auth_views,
        brief_views,
        committee_views,
        export_views,
        incident_views,
        locality_views,
        map_views,
        message_views,
        outbox_views,
        overview_views,
        simulator_views,
        threshold_views,
        unparsed_views,
        wording,
    )
    from gateway.console.security import init_csrf

    init_csrf(app)
    app.register_blueprint(bp)
