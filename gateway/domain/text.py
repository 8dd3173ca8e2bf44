"""Text folding shared by every forgiving matcher (keywords, localities, USSD answers)."""

from __future__ import annotations

import re
import unicodedata

# The languages spoken to phones (French the default), and those of the web console.
LANGUAGES = ("fr", "bm", "en")
CONSOLE_LANGUAGES = ("fr", "en")

_NON_WORD = re.compile(r"[^0-9a-z]+")

# Letters that NFKD does not decompose but people type as their Latin look-alike.
_SPECIAL = str.maketrans(
    {
        "ɛ": "e",
        "Ɛ": "e",
        "ɔ": "o",
        "Ɔ": "o",
        "ɲ": "ny",
        "Ɲ": "ny",
        "ŋ": "ng",
        "Ŋ": "ng",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "đ": "d",
        "ł": "l",
    }
)


def fold(text: str) -> str:
    """Lower-case ASCII form of `text`: accents dropped, punctuation and runs of
    spaces turned into one space, trimmed. `fold("  Ségou-Koro!") == "segou koro"`."""
    text = text.translate(_SPECIAL)
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_only = ascii_only.encode("ascii", "ignore").decode("ascii").lower()
    return _NON_WORD.sub(" ", ascii_only).strip()


def squash(text: str) -> str:
    """`fold` without any spaces, for comparing names typed glued or split."""
    return fold(text).replace(" ", "")
