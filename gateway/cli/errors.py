"""What a command says when the expected goes wrong: one line and a non-zero exit,
never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask.cli import AppGroup

from gateway.db import DB_UNAVAILABLE


@contextmanager
def said_clearly(*kinds: type[Exception]) -> Iterator[None]:
    """Turn an error of `kinds` into its own message, and a database that does not
    answer into "the database does not answer"."""
    try:
        yield
    except kinds as exc:
        raise click.ClickException(str(exc)) from exc
    except DB_UNAVAILABLE as exc:
        raise click.ClickException("the database does not answer") from exc


class Commands(AppGroup):
    """A command group whose every command says "the database does not answer" in one
    line, wherever in the command the database is first needed."""

    def invoke(self, ctx: click.Context) -> Any:
        with said_clearly():
            return super().invoke(ctx)
