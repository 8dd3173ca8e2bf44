"""`flask --app gateway <command>`: every command has --help and exits non-zero with a
clear message on bad input."""

from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    from gateway.cli.api_tokens import api_tokens_group
    from gateway.cli.data import committees_group, demo_group, import_group
    from gateway.cli.database import db_group, gazetteer_group, keys_group
    from gateway.cli.early_warning import alerts_group, clock_command, thresholds_group
    from gateway.cli.inbound import inbound_group
    from gateway.cli.outbox import outbox_group
    from gateway.cli.sim import sim_group
    from gateway.cli.users import users_group

    for group in (
        db_group,
        gazetteer_group,
        keys_group,
        outbox_group,
        inbound_group,
        sim_group,
        import_group,
        committees_group,
        demo_group,
        users_group,
        alerts_group,
        thresholds_group,
        clock_command,
        api_tokens_group,
    ):
        app.cli.add_command(group)
