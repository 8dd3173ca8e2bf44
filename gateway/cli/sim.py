"""`sim sms` and `sim ussd`: talk to the gateway as a phone would, through the real
Africa's Talking webhook path, with no provider in between."""

from __future__ import annotations

import uuid

import click
from flask import current_app

from gateway.cli.errors import Commands
from gateway.runtime import current_runtime
from gateway.services.intake.simulated import replies_once_handled, sms_form, webhook_url

sim_group = Commands("sim", help="Play a phone: SMS and USSD through the real webhooks.")


@sim_group.command("sms")
@click.argument("phone")
@click.argument("text", nargs=-1, required=True)
def sim_sms(phone: str, text: tuple[str, ...]) -> None:
    """Send TEXT from PHONE as an inbound SMS and print the replies."""
    rt = current_runtime()
    message_id = f"sim-{uuid.uuid4()}"
    form = sms_form(rt, phone, " ".join(text), message_id)
    response = current_app.test_client().post(webhook_url(rt, "sms"), data=form)
    if response.status_code != 200:
        raise click.ClickException(f"{response.status_code}: {response.get_data(as_text=True)}")
    replies = replies_once_handled(rt, message_id, worker_id="sim")
    if not replies:
        click.echo("(no reply)")
    for body in replies:
        click.echo(f"<- {body}")


@sim_group.command("ussd")
@click.argument("phone")
@click.option("--code", default="*384*123#", show_default=True, help="The USSD service code.")
def sim_ussd(phone: str, code: str) -> None:
    """An interactive USSD session from PHONE: type each answer; Ctrl-D hangs up."""
    client = current_app.test_client()
    session_id = f"sim-{uuid.uuid4()}"
    answers: list[str] = []
    while True:
        form = {
            "sessionId": session_id,
            "serviceCode": code,
            "phoneNumber": phone,
            "networkCode": "61001",
            "text": "*".join(answers),
        }
        response = client.post(webhook_url(current_runtime(), "ussd"), data=form)
        body = response.get_data(as_text=True)
        if response.status_code != 200:
            raise click.ClickException(f"{response.status_code}: {body}")
        click.echo("-" * 30 + "\n" + body[4:] + "\n" + "-" * 30)
        if body.startswith("END"):
            return
        try:
            answers.append(click.prompt(">", default="", show_default=False))
        except (click.Abort, EOFError):
            click.echo("\n(hung up)")
            return
