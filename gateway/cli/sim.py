"""`sim sms` and `sim ussd`: talk to the gateway as a phone would, through the real
Africa's Talking webhook path, with no provider in between."""

from __future__ import annotations

import uuid

import click
from flask import current_app
from sqlalchemy import select

from gateway.cli.errors import Commands
from gateway.models import OutboxMessage
from gateway.runtime import Runtime, current_runtime
from gateway.services.intake.worker import SIM_BUDGET, drain

sim_group = Commands("sim", help="Play a phone: SMS and USSD through the real webhooks.")


def _url(path: str) -> str:
    token = current_runtime().settings.at_webhook_token
    return f"/webhooks/africastalking/{path}" + (f"?token={token}" if token else "")


def _replies_to(rt: Runtime, message_id: str) -> list[str]:
    with rt.sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage.body)
                .where(OutboxMessage.dedupe_key.startswith(f"reply:africastalking:{message_id}:"))
                .order_by(OutboxMessage.id)
            )
        )


@sim_group.command("sms")
@click.argument("phone")
@click.argument("text", nargs=-1, required=True)
def sim_sms(phone: str, text: tuple[str, ...]) -> None:
    """Send TEXT from PHONE as an inbound SMS and print the replies."""
    rt = current_runtime()
    message_id = f"sim-{uuid.uuid4()}"
    form = {
        "from": phone,
        "to": "36000",
        "text": " ".join(text),
        "id": message_id,
        "date": rt.now().isoformat(),
        "linkId": "",
        "networkCode": "61001",
    }
    response = current_app.test_client().post(_url("sms"), data=form)
    if response.status_code != 200:
        raise click.ClickException(f"{response.status_code}: {response.get_data(as_text=True)}")
    # The webhook only stored it: handle the queue now, as a worker would.
    drain(rt, budget=SIM_BUDGET, worker_id="sim")
    replies = _replies_to(rt, message_id)
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
        response = client.post(_url("ussd"), data=form)
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
