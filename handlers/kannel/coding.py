"""What Kannel's `%b` holds: the message's bytes, in the charset `%C` names for the
data coding `%c` (0 GSM 7-bit, delivered by smsbox as UTF-8; 1 8-bit; 2 UCS-2)."""

from __future__ import annotations

# Kannel's charset names (and the usual spellings of them), as Python codecs. A closed
# list: `codecs.lookup` would also accept byte-to-byte codecs such as zlib or base64.
CHARSETS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-16be": "utf-16-be",
    "utf-16": "utf-16",
    "ucs-2": "utf-16-be",
    "ucs2": "utf-16-be",
    "iso-8859-1": "latin-1",
    "latin1": "latin-1",
    "iso-8859-15": "iso-8859-15",
    "windows-1252": "cp1252",
    "cp1252": "cp1252",
    "us-ascii": "ascii",
    "ascii": "ascii",
}
CODING_CHARSETS = {"0": "utf-8", "1": "latin-1", "2": "utf-16-be"}


class UndecodableText(ValueError):
    """The message cannot be read; `field` names the parameter at fault."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


def decode_message(raw: bytes, coding: str | None, charset: str | None) -> str:
    """The text of a Kannel MO; raise UndecodableText naming `coding`, `charset` or
    `message` when they are unknown or do not fit the bytes."""
    coding = (coding or "0").strip()
    if coding not in CODING_CHARSETS:
        raise UndecodableText("coding", "unknown data coding")
    if charset and charset.strip():
        codec = CHARSETS.get(charset.strip().lower())
        if codec is None:
            raise UndecodableText("charset", "unknown charset")
    else:
        codec = CODING_CHARSETS[coding]
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        raise UndecodableText("message", f"not valid {codec}") from None
