"""The catalogues and data that every flow reads, loaded once per runtime on first use.

A `Runtime` holds one `Reference`; code asks for what it needs by name
(`rt.reference.grammar`), never by a string key.
"""

from __future__ import annotations

import json
from functools import cached_property
from importlib import resources
from typing import Any

from gateway.domain.catalogue import Catalogues, load_catalogues
from gateway.domain.emergency import EmergencyNumbers, load_emergency
from gateway.domain.rules import RuleSpec, load_rules
from gateway.domain.sms_grammar import Grammar, load_grammar
from gateway.domain.text import LANGUAGES
from gateway.domain.ussd_catalog import Menu
from gateway.domain.ussd_menu import load_menu


class Reference:
    """Read-only data from `gateway/data/`, each piece parsed once when first used."""

    @cached_property
    def catalogues(self) -> Catalogues:
        """The per-language texts sent to phones."""
        return load_catalogues()

    @cached_property
    def grammar(self) -> Grammar:
        """The SMS keyword grammar."""
        return load_grammar()

    @cached_property
    def menu(self) -> Menu:
        """The USSD menu and the questionnaire."""
        return load_menu()

    @cached_property
    def rules(self) -> dict[str, RuleSpec]:
        """The alert rules with their parameters' defaults and bounds."""
        return load_rules()

    @cached_property
    def alert_texts(self) -> dict[str, dict[str, Any]]:
        """The alert SMS templates, per language."""
        base = resources.files("gateway").joinpath("data/alert_sms")
        return {
            lang: json.loads(base.joinpath(f"{lang}.json").read_text("utf-8")) for lang in LANGUAGES
        }

    @cached_property
    def emergency(self) -> EmergencyNumbers:
        """The number to call for people in danger now, per country."""
        return load_emergency()

    @property
    def primary_question(self) -> str:
        """The questionnaire's first question (trust in the DSF): what an SMS rating
        answers and what the trust index is computed on."""
        return self.menu.questions[0].id
