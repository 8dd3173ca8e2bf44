"""How the console words what the engine stores as codes: rule parameters with their
label, help and unit, an alert's figures, its history (actions, system notes, who).
Everything read comes from the console catalogues; a code shows only when no text
exists for it, and a test walking every page fails when that happens."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.console.blueprint import bp
from gateway.console.i18n import number, translate, translate_or
from gateway.console.pages import when
from gateway.domain.rules import ParamSpec
from gateway.models import CommitteeMember

# Notes the engine writes in an alert's history, in English, and their catalogue key.
NOTES = (
    (re.compile(r"severity (\d+)"), "history.note.severity"),
    (re.compile(r"(\d+) SMS"), "history.note.sms"),
    (re.compile(r"level (\d+)"), "history.note.level"),
    (re.compile(r"condition clear"), "history.note.clear"),
    (re.compile(r"another urgent report"), "history.note.urgent_again"),
    (re.compile(r"no urgent report since"), "history.note.no_urgent"),
)
YES_NO = {"danger_now", "burst", "verified"}
# Figures whose value is a word of the catalogue, under "<key>.<value>": an incident's
# kind; trust_shift's chart (of the answers, or of each person's residuals).
WORDED = {"kind", "chart"}


@bp.app_template_global("param_label")
def param_label(name: str) -> str:
    return translate_or(f"param.{name}", translate_or(f"figure.{name}", name))


@bp.app_template_global("param_help")
def param_help(name: str, fallback: str = "", rule: str = "") -> str:
    """The rule's own help for a shared name (`alpha` of a mean, not of a count), else
    the name's."""
    return translate_or(f"param_help.{rule}.{name}", translate_or(f"param_help.{name}", fallback))


@bp.app_template_global("with_unit")
def with_unit(value: float, unit: str, integer: bool = False) -> str:
    """ "14 jours", "0,5 point", "1" (a flag): the value in the reader's numbers."""
    if unit == "flag":
        return translate("common.on") if value >= 1 else translate("common.off")
    digits = 0 if integer or float(value).is_integer() else _digits(value)
    form = "one" if abs(value) < 2 else "many"
    word = translate_or(f"unit.{unit}.{form}", "")
    return f"{number(value, digits)} {word}".strip()


def _digits(value: float) -> int:
    """Enough decimals to show the value (a probability of 0,001 stays 0,001)."""
    for digits in range(1, 7):
        if abs(round(value, digits) - value) < 1e-12:
            return digits
    return 6


@bp.app_template_global("figure_value")
def figure_value(key: str, value: Any) -> str:
    """An alert figure as read: kinds by label, yes and no, numbers in the locale."""
    if key in WORDED:
        return translate_or(f"{key}.{value}", str(value))
    if key in YES_NO or isinstance(value, bool):
        return translate("common.yes") if value else translate("common.no")
    if key in PROBABILITIES and isinstance(value, int | float):
        # Three decimals; below them "< 0,001", never a "0,00" that reads as impossible.
        return f"< {number(P_FLOOR, 3)}" if value < P_FLOOR else number(value, 3)
    if isinstance(value, int | float):
        if float(value).is_integer():
            return number(value, 0)
        return number(value, 2)
    return "—" if value is None else str(value)


PROBABILITIES = frozenset({"p"})
P_FLOOR = 0.001


# The units of measured figures; a rule's values take theirs from rules.json.
FIGURE_UNITS = {
    "window_days": "days",
    "period_days": "days",
    "baseline_days": "days",
    "run_weeks": "weeks",
    "weeks_in_baseline": "weeks",
}


def alert_figures(
    figures: Mapping[str, Any], params: Mapping[str, ParamSpec]
) -> list[tuple[str, str, bool]]:
    """An alert's figures as its page lists them, (key, value as read, is a rule
    value): what was measured first, then the rule's values, each with its unit."""
    rows = []
    for key, value in figures.items():
        spec = params.get(key)
        unit = spec.unit if spec else FIGURE_UNITS.get(key, "")
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        shown = with_unit(value, unit) if unit and numeric and key not in WORDED else None
        rows.append((key, shown or figure_value(key, value), spec is not None))
    return sorted(rows, key=lambda row: row[2])  # stable: each group keeps its order


@bp.app_template_global("history_note")
def history_note(comment: str | None) -> str:
    """A system note in the reader's language; a person's comment as written."""
    if not comment:
        return ""
    for pattern, key in NOTES:
        found = pattern.fullmatch(comment.strip())
        if found:
            return translate(key, n=found.group(1)) if found.groups() else translate(key)
    return comment


@bp.app_template_global("actor_name")
def actor_name(actor: str, members: Mapping[str, str] | None = None) -> str:
    """ "système", a member's name for "member:12", a console user's e-mail."""
    if actor == "system":
        return translate("history.system")
    if members and actor in members:
        return members[actor]
    return translate_or(f"audit_actor.{actor}", actor)


# Details of an audit row whose value is a code with a label of its own.
VALUE_LABELS = {
    "state": "state",
    "outcome": "outcome",
    "role": "role",
    "level": "place_kind",
    "language": "language",
    "status": "message_status",
    "from": "role",
    "to": "role",
    "channel": "sim_channel",
}
# Details that hold a time, stored as ISO 8601, shown as the console shows times.
TIME_DETAILS = frozenset({"locked_until"})


@bp.app_template_global("audit_value")
def audit_value(key: str, value: object) -> str | None:
    """The words for an audit detail's coded value ("clôturée" for state closed), or
    None when the value is shown as stored (a P-code, a number, a name)."""
    if isinstance(value, bool):
        return translate("common.yes" if value else "common.no")
    if key == "languages" and isinstance(value, str):  # "fr,bm": a message's texts
        return ", ".join(translate_or(f"language.{code}", code) for code in value.split(","))
    if key in TIME_DETAILS and isinstance(value, str):
        try:
            return when(dt.datetime.fromisoformat(value))
        except ValueError:
            return None
    prefix = VALUE_LABELS.get(key)
    if prefix is None or not isinstance(value, str):
        return None
    return translate_or(f"{prefix}.{value}", value)


def member_names(session: Session, actors: Iterable[str]) -> dict[str, str]:
    """{"member:12": that member's name} for the committee members among `actors`."""
    ids = {int(a[7:]) for a in actors if re.fullmatch(r"member:\d+", a)}
    if not ids:
        return {}
    rows = session.execute(
        select(CommitteeMember.id, CommitteeMember.name).where(CommitteeMember.id.in_(ids))
    )
    return {f"member:{mid}": name for mid, name in rows}
