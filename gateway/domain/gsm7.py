"""The GSM 03.38 7-bit alphabet: which text fits, and how many SMS segments it takes.

One place knows the alphabet, so replies, USSD screens and alert templates are all
checked against the same rules (3GPP TS 23.038, default alphabet and extension table).
"""

from __future__ import annotations

import unicodedata

BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Each of these costs two septets (escape + character).
EXTENSION = frozenset("^{}\\[~]|€\f")

SINGLE_SEGMENT_SEPTETS = 160
MULTI_SEGMENT_SEPTETS = 153
SINGLE_SEGMENT_UCS2 = 70
MULTI_SEGMENT_UCS2 = 67

# Common characters outside the alphabet that have a faithful GSM stand-in.
_SUBSTITUTES = {
    "’": "'",
    "‘": "'",
    "“": '"',
    "”": '"',
    "«": '"',
    "»": '"',
    "…": "...",
    "–": "-",
    "—": "-",
    "\u00a0": " ",
    "\u202f": " ",
    "ç": "c",
    "â": "a",
    "ê": "e",
    "î": "i",
    "ô": "o",
    "û": "u",
    "ë": "e",
    "ï": "i",
    "á": "a",
    "í": "i",
    "ó": "o",
    "ú": "u",
    "È": "E",
    "À": "A",
    "Ê": "E",
    "Ô": "O",
    "Î": "I",
    "Û": "U",
    "Â": "A",
}


_ALPHABET = BASIC | EXTENSION
# Deletes the extension characters: what it removes is the count of escapes. Set and
# string operations in C, not a Python loop per character (a USSD step checks ~40
# screen lines).
_WITHOUT_EXTENSION = str.maketrans("", "", "".join(EXTENSION))


def is_gsm7(text: str) -> bool:
    """True when every character of `text` is in the basic or extension table."""
    return _ALPHABET.issuperset(text)


def septets(text: str) -> int:
    """Length of `text` in septets; raises ValueError if it is not GSM 7-bit."""
    if not is_gsm7(text):
        bad = sorted(set(text) - _ALPHABET)
        raise ValueError(f"not GSM 7-bit: {bad!r}")
    return 2 * len(text) - len(text.translate(_WITHOUT_EXTENSION))


def segments(text: str) -> int:
    """Number of SMS segments `text` takes (GSM 7-bit when it fits, UCS-2 otherwise)."""
    if is_gsm7(text):
        n = septets(text)
        single, multi = SINGLE_SEGMENT_SEPTETS, MULTI_SEGMENT_SEPTETS
    else:
        # UCS-2 counts UTF-16 code units.
        n = len(text.encode("utf-16-le")) // 2
        single, multi = SINGLE_SEGMENT_UCS2, MULTI_SEGMENT_UCS2
    if n <= single:
        return 1
    return -(-n // multi)


def to_gsm7(text: str) -> str:
    """Best GSM 7-bit rendering of `text`: known look-alikes substituted, other
    accents dropped, anything left that cannot be shown replaced by '?'."""
    if _ALPHABET.issuperset(text):
        return text  # most texts already are (a USSD step renders ~40 of them)
    out: list[str] = []
    for c in text:
        if c in BASIC or c in EXTENSION:
            out.append(c)
        elif c in _SUBSTITUTES:
            out.append(_SUBSTITUTES[c])
        else:
            base = "".join(
                d for d in unicodedata.normalize("NFKD", c) if not unicodedata.combining(d)
            )
            out.append(base if base and all(b in BASIC for b in base) else "?")
    return "".join(out)
