"""The SMS grammar: what a citizen or committee member meant by a text message.

Keywords, greetings, number words and incident kind words are data
(`gateway/data/keywords.json`); this module only knows how to match them
forgivingly. It is pure: `parse` never raises and never looks anything up.

Decisions worth knowing:
- A message that starts with a bare number (`4`, `4 Mopti`) is a trust rating when
  the number is 1 to 5; a message that is only a number also sets `choice`, so a
  caller waiting for "reply 1 or 2" can use it instead.
- STOP (and its aliases) counts wherever it starts the message, whatever follows,
  except for the few aliases listed as `short_only` (everyday words such as
  "arrete") that need a short message.
- Everyday words that are keywords (OK, VU...) count only with their argument.
- Near misses are accepted for the first word only; a keyword later in the
  message must be exact, long, and of an intent listed as `anywhere_intents`.
- URGENT (DANGER, SOS...) is not one of those: "ce n'est pas urgent" is no alarm.
  Followed by a report's code it is about that report; else its words are a new
  report, and `URGENT INCIDENT ...` or `ALERTE DANGER ...` is one too.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from gateway.domain.text import LANGUAGES, fold, squash
from gateway.domain.ussd_screens import REF_ALPHABET

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "keywords.json"
INCIDENT_KINDS = (
    "attack", "kidnapping", "banditry", "intercommunal", "abuse", "explosive", "threat", "other",
)  # fmt: skip
_RUN = re.compile(r"[0-9]+|[^\W0-9_]+")  # digit runs and letter runs, so "trust4mopti" splits
_WORD = re.compile(r"[^\W_]+")
_CODE_TAIL = re.compile(r"^[a-z]?[0-9]+$")  # what may follow a glued keyword: "a106"
_ONLY_QUESTION_MARKS = re.compile(r"^\s*[?¿][\s?¿]*$")
_MAX_SCAN_TOKENS = 400  # a reply never depends on more words than this
# A report's reference as typed (R7SD3K, RECDAN): an R and five characters of the
# codes' alphabet, or a near miss of one that has a digit (R7SD3), which no place name
# has: a mistyped code is answered as one rather than read as a place.
_REF_LIKE = re.compile(rf"^R(?:[{REF_ALPHABET}]{{5}}|(?=[A-Z]*[0-9])[A-Z0-9]{{3,7}})$")


class Intent(Enum):
    TRUST = "trust"
    INCIDENT = "incident"
    PLACE = "place"
    JOIN = "join"
    STOP = "stop"
    LANG = "lang"
    HELP = "help"
    ACK = "ack"
    CLOSE = "close"
    URGENT = "urgent"  # people in danger now: a new report, or one made before
    UNKNOWN = "unknown"


class GrammarError(ValueError):
    """keywords.json is missing, malformed or contradicts itself."""


@dataclass(frozen=True)
class Command:
    """What a message asks for. Text fields are folded (lower case, no accents)
    except `free_text`, which keeps what the sender wrote."""

    intent: Intent
    language: str | None = None  # fr/en/bm when the keyword belongs to one language
    rating: int | None = None  # 1..5, only when valid
    rating_error: str | None = None  # "missing" or "out_of_range" (TRUST only)
    locality_text: str | None = None  # TRUST, PLACE, JOIN: the words naming a place
    alert_code: str | None = None  # ACK, CLOSE: upper case, e.g. "A123"
    lang_code: str | None = None  # LANG: fr/en/bm, None when not understood
    incident_kind: str | None = None  # INCIDENT: a stable kind code, "other" by default
    free_text: str | None = None  # INCIDENT, URGENT, CLOSE: what follows keyword and code
    ref_code: str | None = None  # URGENT: a report's code, or a word that looks like one
    choice: int | None = None  # the message was only this number
    keyword: str | None = None  # the keyword understood, as written in the data
    near_miss: bool = False  # the keyword was recognised despite a typo
    greeting: bool = False  # UNKNOWN: only greetings or thanks ("bonjour", "i ni ce")


@dataclass(frozen=True)
class Keyword:
    text: str
    intent: Intent
    languages: frozenset[str]
    ordinary: bool  # an everyday word: needs its argument to count
    short_only: bool  # counts only when few words follow


@dataclass(frozen=True)
class Grammar:
    keywords: Mapping[str, Keyword]  # squashed keyword -> keyword
    leading: frozenset[str]  # squashed words and phrases skipped before a keyword
    trailing: frozenset[str]  # squashed politeness dropped after a locality
    numbers: Mapping[str, int]  # folded number words
    language_names: Mapping[str, str]  # squashed name -> language code
    kinds: Mapping[tuple[str, ...], str]  # stemmed words -> incident kind
    kind_priority: tuple[str, ...]
    prepositions: frozenset[str]  # squashed words that may precede a locality
    not_keywords: frozenset[str]
    anywhere: frozenset[Intent]
    anywhere_within: int
    short_max_words: int
    fuzzy_min: int
    one_edit_from: int
    two_edits_from: int
    rating_min: int
    rating_max: int
    yes_words: frozenset[str] = frozenset()  # squashed: yes to a question we asked
    no_words: frozenset[str] = frozenset()
    # A keyword as a phone may type it ("0k" for "ok") -> the keyword, same length.
    typos: Mapping[str, str] = field(default_factory=dict)
    # Squashed greetings and thanks (leading and trailing words) -> their languages.
    greetings: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Token:
    word: str  # folded
    start: int  # offsets of the run in the NFC text it came from
    end: int


@dataclass(frozen=True)
class _Match:
    keyword: Keyword
    end: int  # index of the first token after the keyword
    rest: tuple[_Token, ...]
    near_miss: bool = False


def parse(text: str, grammar: Grammar) -> Command:
    """Understand one SMS. Never raises; what it cannot read is `Intent.UNKNOWN`."""
    text = unicodedata.normalize("NFC", text)
    if _ONLY_QUESTION_MARKS.match(text):
        return Command(Intent.HELP, keyword="?")
    # Typos mended letter for letter, so offsets into `text` still give what was written.
    tokens = _tokens(_mend_typos(text, grammar))
    match, start = _first_keyword(tokens, grammar)
    if match is None and start < len(tokens) and tokens[start].word.isdigit():
        return _bare_number(tokens[start:], grammar, text)
    if match is None:
        lang = _whole_language_name(tokens[start:], grammar)
        if lang is not None:
            return Command(Intent.LANG, lang_code=lang, keyword=None)
        match = _scan_keyword(tokens, start, grammar)
    if match is None:
        return _greeting(tokens, grammar) or Command(Intent.UNKNOWN)
    return _build(match, text, grammar)


def _greeting(tokens: Sequence[_Token], grammar: Grammar) -> Command | None:
    """A message of greetings and thanks only, in the language they share (None
    when other words are in it, or only a yes or no: that answers a question)."""
    i, phrases = 0, []
    while i < len(tokens):
        n = _phrase_at(tokens, i, grammar.greetings)
        if not n:
            return None
        phrases.append("".join(t.word for t in tokens[i : i + n]))
        i += n
    if all(p in grammar.yes_words | grammar.no_words for p in phrases):
        return None
    shared = frozenset.intersection(*(grammar.greetings[p] for p in phrases))
    first = grammar.greetings[phrases[0]]
    langs = shared if len(shared) == 1 else first
    language = next(iter(langs)) if len(langs) == 1 else None
    return Command(Intent.UNKNOWN, language=language, greeting=True)


def split_locality(
    rest: str, score: Callable[[str], float], skip: Collection[str] = ()
) -> tuple[str | None, str]:
    """Split `rest` into (locality words, the other words) using `score`, how well a
    run of words names a locality (0 when it names none; a bool works too).

    Candidates are the first 1..4 words (after any words in `skip`, such as
    `Grammar.prepositions`) and the last 1..4 words; the best scored wins, and on a
    tie the leading run, then the longer one. So "Sevare tirs entendus" splits after
    "Sevare" (a town), not after a weak match of all three words. Returns (None,
    rest) when no run scores above 0."""
    words = rest.split()
    skipped = {squash(s) for s in skip}
    first = 0
    while first < len(words) and squash(words[first]) in skipped:
        first += 1
    best: tuple[float, int, int] = (0.0, 0, 0)  # score, leading, length
    found: tuple[str, str] | None = None
    for n in range(min(4, len(words) - first), 0, -1):
        lead = " ".join(words[first : first + n])
        key = (float(score(lead)), 1, n)
        if key[0] > 0 and key > best:
            best, found = key, (lead, " ".join(words[first + n :]))
        tail = " ".join(words[-n:])
        key = (float(score(tail)), 0, n)
        if key[0] > 0 and key > best:
            before = words[:-n]
            while before and squash(before[-1]) in skipped:
                before.pop()
            best, found = key, (tail, " ".join(before))
    return found if found is not None else (None, rest.strip())


def best_span(
    text: str, score: Callable[[str], float], *, min_letters: int = 4, max_words: int = 40
) -> tuple[str, float] | None:
    """The run of 1 to 3 words anywhere in `text` that best names a locality, by
    `score`, with its score; None when none scores above 0. Runs shorter than
    `min_letters` letters are not tried ("a", "les" are no place names)."""
    words = [w for w in re.split(r"[^\w'-]+", text) if w][:max_words]
    best: tuple[str, float] | None = None
    for i in range(len(words)):
        for n in (3, 2, 1):
            run = " ".join(words[i : i + n])
            if len(words[i : i + n]) < n or len(squash(run)) < min_letters:
                continue
            value = float(score(run))
            if value > 0 and (best is None or value > best[1]):
                best = (run, value)
    return best


def incident_kind(text: str, grammar: Grammar) -> str | None:
    """The incident kind that words of `text` name (`tirs` -> attack), or None when
    none does: a message that says what happened without a keyword."""
    kind = _incident_kind(_tokens(unicodedata.normalize("NFC", text)), grammar)
    return None if kind == "other" else kind


def is_answer(text: str, grammar: Grammar, yes: bool) -> bool:
    """The message is a yes (or, with `yes=False`, a no) to a question we asked."""
    words = _without_trailing(_tokens(unicodedata.normalize("NFC", text)), grammar)
    if not words or len(words) > 3:
        return False
    return squash(words[0].word) in (grammar.yes_words if yes else grammar.no_words)


def _mend_typos(text: str, grammar: Grammar) -> str:
    """`text` with each word that is a keyword typed with digits for letters ("0K",
    "CL0SA106") spelt as the keyword; nothing else changes."""
    if not grammar.typos or not any(c.isdigit() for c in text):
        return text
    return _WORD.sub(lambda m: _mended(m.group(), grammar), text)


def _mended(word: str, grammar: Grammar) -> str:
    low = word.lower()
    if not word.isascii() or low.isdigit():
        return word
    for size in range(len(low), 1, -1):
        fixed = grammar.typos.get(low[:size])
        if fixed is not None and (size == len(low) or _CODE_TAIL.match(low[size:])):
            return fixed + word[size:]
    return word


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for run in _RUN.finditer(text):
        for word in fold(run.group()).split():
            tokens.append(_Token(word, run.start(), run.end()))
            if len(tokens) >= _MAX_SCAN_TOKENS:
                return tokens
    return tokens


def _first_keyword(tokens: Sequence[_Token], grammar: Grammar) -> tuple[_Match | None, int]:
    """The keyword that starts the message once greetings are skipped, and where
    matching stopped. An everyday keyword without its argument is skipped too."""
    i = _skip_leading(tokens, 0, grammar)
    for _ in range(4):
        match = _match_at(tokens, i, grammar, near_misses=True)
        if match is None:
            return None, i
        if _acceptable(match, grammar):
            return match, i
        i = _skip_leading(tokens, match.end, grammar)
    return None, i


def _skip_leading(tokens: Sequence[_Token], i: int, grammar: Grammar) -> int:
    while i < len(tokens):
        n = _phrase_at(tokens, i, grammar.leading)
        if not n:
            return i
        i += n
    return i


def _phrase_at(tokens: Sequence[_Token], i: int, phrases: Collection[str]) -> int:
    """How many tokens from `i` spell one of `phrases` (squashed), longest first."""
    for n in (4, 3, 2, 1):
        if i + n <= len(tokens) and "".join(t.word for t in tokens[i : i + n]) in phrases:
            return n
    return 0


def _match_at(
    tokens: Sequence[_Token], i: int, grammar: Grammar, *, near_misses: bool
) -> _Match | None:
    if i >= len(tokens) or tokens[i].word.isdigit():
        return None
    for n in (3, 2, 1):
        window = tokens[i : i + n]
        if len(window) < n or any(t.word.isdigit() for t in window):
            continue
        keyword = grammar.keywords.get("".join(t.word for t in window))
        if keyword is not None:
            return _Match(keyword, i + n, tuple(tokens[i + n :]))
    if not near_misses:
        return None
    return _glued(tokens, i, grammar) or _near_miss(tokens, i, grammar)


def _glued(tokens: Sequence[_Token], i: int, grammar: Grammar) -> _Match | None:
    """A keyword glued to what follows: "confiancemopti", "oka123"."""
    token = tokens[i]
    next_is_number = i + 1 < len(tokens) and tokens[i + 1].word.isdigit()
    for size in range(len(token.word) - 1, 1, -1):
        keyword = grammar.keywords.get(token.word[:size])
        if keyword is None:
            continue
        tail = token.word[size:]
        coded = keyword.intent in (Intent.ACK, Intent.CLOSE) and len(tail) == 1 and next_is_number
        if coded or (size >= 5 and len(tail) >= 3 and not keyword.ordinary):
            same_length = token.end - token.start == len(token.word)
            start = token.start + size if same_length else token.start
            rest = (_Token(tail, start, token.end), *tokens[i + 1 :])
            return _Match(keyword, i + 1, rest)
    return None


def _near_miss(tokens: Sequence[_Token], i: int, grammar: Grammar) -> _Match | None:
    word = tokens[i].word
    best = _closest(word, grammar.keywords, grammar)
    if best is None or word in grammar.not_keywords or word in grammar.leading:
        return None
    return _Match(grammar.keywords[best], i + 1, tuple(tokens[i + 1 :]), near_miss=True)


def _closest(word: str, choices: Collection[str], grammar: Grammar) -> str | None:
    """The one choice within the edits allowed for its length, or None (also on a tie
    between different choices)."""
    if len(word) < grammar.fuzzy_min or len(word) > 40:
        return None
    found = process.extract(word, list(choices), scorer=OSA.distance, score_cutoff=2, limit=None)
    allowed = [(c, d) for c, d, _ in found if d <= _edits_allowed(word, c, grammar)]
    if not allowed:
        return None
    least = min(d for _, d in allowed)
    best = {c for c, d in allowed if d == least}
    return best.pop() if len(best) == 1 else None


def _edits_allowed(word: str, choice: str, grammar: Grammar) -> int:
    if len(choice) < grammar.fuzzy_min:
        return 0
    if len(choice) < grammar.one_edit_from:  # short: only two neighbours swapped
        return 1 if sorted(word) == sorted(choice) and len(word) == len(choice) else 0
    return 1 if len(choice) < grammar.two_edits_from else 2


def _acceptable(match: _Match, grammar: Grammar) -> bool:
    keyword, rest = match.keyword, _without_trailing(match.rest, grammar)
    if keyword.short_only and len(rest) > grammar.short_max_words:
        return False
    if not keyword.ordinary:
        return True
    if keyword.intent in (Intent.ACK, Intent.CLOSE):
        return _alert_code(rest)[0] is not None
    if keyword.intent is Intent.TRUST:
        return any(t.word.isdigit() or t.word in grammar.numbers for t in rest[:3])
    return bool(rest)


def _scan_keyword(tokens: Sequence[_Token], start: int, grammar: Grammar) -> _Match | None:
    stop = min(len(tokens), start + 1 + grammar.anywhere_within)
    for i in range(start + 1, stop):
        match = _match_at(tokens, i, grammar, near_misses=False)
        if match is None:
            continue
        keyword = match.keyword
        wanted = keyword.intent in grammar.anywhere and not keyword.short_only
        if wanted and len(squash(keyword.text)) >= 4 and _acceptable(match, grammar):
            return match
    return None


def _bare_number(tokens: Sequence[_Token], grammar: Grammar, text: str) -> Command:
    value = int(tokens[0].word[:6])
    alone = len(_without_trailing(tokens, grammar)) == 1
    choice = value if alone else None
    if not grammar.rating_min <= value <= grammar.rating_max:
        return Command(Intent.UNKNOWN, choice=choice)
    rest = _drop_out_of(tokens[1:], text)
    return Command(
        Intent.TRUST, rating=value, choice=choice, locality_text=_locality(rest, grammar)
    )


def _whole_language_name(tokens: Sequence[_Token], grammar: Grammar) -> str | None:
    words = _without_trailing(tokens, grammar)
    if 0 < len(words) <= 2:
        return grammar.language_names.get("".join(t.word for t in words))
    return None


def _build(match: _Match, text: str, grammar: Grammar) -> Command:
    keyword, rest = match.keyword, match.rest
    languages = keyword.languages
    base = Command(
        Intent.UNKNOWN,
        language=next(iter(languages)) if len(languages) == 1 else None,
        keyword=keyword.text,
        near_miss=match.near_miss,
    )
    intent = keyword.intent
    if intent is Intent.TRUST:
        rating, error, others = _rating(rest, grammar, text)
        locality = _locality(others, grammar)
        return _with(base, intent, rating=rating, rating_error=error, locality_text=locality)
    if intent in (Intent.PLACE, Intent.JOIN):
        return _with(base, intent, locality_text=_locality(rest, grammar))
    if intent in (Intent.INCIDENT, Intent.URGENT):
        return _report(base, intent, rest, text, grammar)
    if intent is Intent.LANG:
        return _with(base, intent, lang_code=_language(rest, grammar))
    if intent in (Intent.ACK, Intent.CLOSE):
        code, used = _alert_code(rest)
        after = rest[used:]
        free = text[after[0].start :].strip() if after and intent is Intent.CLOSE else ""
        return _with(base, intent, alert_code=code, free_text=free or None)
    return _with(base, intent)


def _report(
    base: Command, intent: Intent, rest: tuple[_Token, ...], text: str, grammar: Grammar
) -> Command:
    """INCIDENT: the words as written and the kind they name. URGENT: the same, or the
    code of a report made before; nothing when only politeness follows."""
    intent, rest = _urgent_pair(intent, rest, grammar)
    if intent is Intent.URGENT and not _without_trailing(rest, grammar):
        rest = ()  # "SOS svp": URGENT alone
    free = text[rest[0].start :].strip() if rest else ""
    kind = _incident_kind(rest, grammar)
    code = None
    if intent is Intent.URGENT:
        code, free = _ref_code(free)
    return _with(base, intent, free_text=free or None, incident_kind=kind, ref_code=code)


def _urgent_pair(
    intent: Intent, rest: tuple[_Token, ...], grammar: Grammar
) -> tuple[Intent, tuple[_Token, ...]]:
    """`URGENT INCIDENT ...` and `ALERTE DANGER ...` say both: an urgent report, its
    words those after the second keyword."""
    match = _match_at(rest, 0, grammar, near_misses=False)
    other = Intent.URGENT if intent is Intent.INCIDENT else Intent.INCIDENT
    if match is None or match.keyword.intent is not other:
        return intent, rest
    return Intent.URGENT, match.rest


def _ref_code(free: str) -> tuple[str | None, str]:
    """('R7SD3K', the words after it) when `free` starts with a report's code (or a
    word that looks like one); else (None, free)."""
    if not free:
        return None, free
    first, *after = free.split(maxsplit=1)
    word = re.sub(r"\W", "", first).upper()
    if not _REF_LIKE.match(word):
        return None, free
    return word[:12], " ".join(after).strip()


def _with(base: Command, intent: Intent, **fields: Any) -> Command:
    return replace(base, intent=intent, **fields)


def _rating(
    rest: Sequence[_Token], grammar: Grammar, text: str
) -> tuple[int | None, str | None, list[_Token]]:
    """The first number among the words (digits or a number word), and the words
    that name the place: those after the number, or those before it if none follow
    ("CONFIANCE Mopti 4")."""
    for i, token in enumerate(rest):
        word = token.word
        if not word.isdigit() and word not in grammar.numbers:
            continue
        value = int(word[:6]) if word.isdigit() else grammar.numbers[word]
        tail = _drop_out_of(rest[i + 1 :], text)
        decimal = word.isdigit() and len(tail) == len(rest) - i - 1 and _is_decimal(rest, i, text)
        after = tail[1:] if decimal else tail
        place = after if _without_trailing(after, grammar) else list(rest[:i])
        if decimal or not grammar.rating_min <= value <= grammar.rating_max:
            return None, "out_of_range", place
        return value, None, place
    return None, "missing", list(rest)


def _is_decimal(rest: Sequence[_Token], i: int, text: str) -> bool:
    """'3,5' or '3.5': a number with a fraction, which a 1-5 scale does not have."""
    if i + 1 >= len(rest) or not rest[i + 1].word.isdigit():
        return False
    between = text[rest[i].end : rest[i + 1].start]
    return between in (",", ".")


def _drop_out_of(tokens: Sequence[_Token], text: str) -> list[_Token]:
    """Drop the '/5', 'sur 5' or 'on 5' that people add after a rating."""
    words = [t.word for t in tokens[:2]]
    if words[:1] == ["5"] and "/" in text[: tokens[0].start][-2:]:
        return list(tokens[1:])
    if words == ["sur", "5"] or words == ["on", "5"]:
        return list(tokens[2:])
    return list(tokens)


def _locality(tokens: Sequence[_Token], grammar: Grammar) -> str | None:
    words = _without_trailing(tokens, grammar)
    i = 0
    while i < len(words):
        n = _phrase_at(words, i, grammar.prepositions)
        if not n or n == len(words) - i:
            break
        i += n
    return " ".join(t.word for t in words[i:]) or None


def _without_trailing(tokens: Sequence[_Token], grammar: Grammar) -> list[_Token]:
    words = list(tokens)
    while words:
        for n in (3, 2, 1):
            if n <= len(words) and "".join(t.word for t in words[-n:]) in grammar.trailing:
                del words[-n:]
                break
        else:
            return words
    return words


def _language(rest: Sequence[_Token], grammar: Grammar) -> str | None:
    words = _without_trailing(rest, grammar)[:2]
    for n in (2, 1):
        name = "".join(t.word for t in words[:n])
        if len(words) >= n and name in grammar.language_names:
            return grammar.language_names[name]
    if words:
        close = _closest(words[0].word, grammar.language_names, grammar)
        return grammar.language_names[close] if close else None
    return None


def _alert_code(rest: Sequence[_Token]) -> tuple[str | None, int]:
    """('A123', tokens used) from 'a 123', 'a123' or '123'; (None, 0) otherwise."""
    letter = len(rest) >= 2 and len(rest[0].word) == 1 and rest[0].word.isalpha()
    if letter and rest[1].word.isdigit():
        return (rest[0].word + rest[1].word).upper()[:12], 2
    if rest and rest[0].word.isdigit():
        return rest[0].word[:12], 1
    return None, 0


def _incident_kind(rest: Sequence[_Token], grammar: Grammar) -> str:
    stems = [_stem(t.word) for t in rest]
    found: set[str] = set()
    for i in range(len(stems)):
        for n in (4, 3, 2, 1):
            kind = grammar.kinds.get(tuple(stems[i : i + n]))
            if kind is not None:
                found.add(kind)
    return next((k for k in grammar.kind_priority if k in found), "other")


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


# Reading and checking keywords.json


def load_grammar(path: Path | None = None) -> Grammar:
    """Read and check keywords.json; a bad file raises GrammarError naming the problem."""
    source = path or DEFAULT_PATH
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GrammarError(f"{source.name}: cannot read: {exc}") from exc
    return _grammar(_Reader(source.name, data))


class _Reader:
    """Typed access to the JSON by dotted path, with errors that name file and path."""

    def __init__(self, file: str, data: object) -> None:
        self.file, self.data = file, data

    def fail(self, path: str, problem: str) -> GrammarError:
        return GrammarError(f"{self.file}: {path}: {problem}")

    def get(self, path: str) -> object:
        value = self.data
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                raise self.fail(path, "is missing")
            value = value[part]
        return value

    def mapping(self, path: str) -> dict[str, Any]:
        value = self.get(path)
        if not isinstance(value, dict):
            raise self.fail(path, "must be a JSON object")
        return value

    def words(self, path: str) -> list[str]:
        value = self.get(path)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(path, "must be a list of strings")
        for v in value:
            if not squash(v):
                raise self.fail(path, f"{v!r} has no letters or digits")
        return value

    def integer(self, path: str) -> int:
        value = self.get(path)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(path, "must be a whole number >= 0")
        return value


def _grammar(r: _Reader) -> Grammar:
    extra = set(r.mapping("languages")) - set(LANGUAGES)
    if extra:
        raise r.fail("languages", f"unknown languages {sorted(extra)}; expected {LANGUAGES}")
    ordinary = {squash(w) for w in r.words("ordinary_words.words")}
    short = {squash(w) for w in r.words("short_only.words")}
    keywords = _keywords(r, ordinary, short)
    for path, names in (("ordinary_words.words", ordinary), ("short_only.words", short)):
        if names - set(keywords):
            raise r.fail(path, f"not keywords: {sorted(names - set(keywords))}")
    leading = _phrases(r, "leading_words")
    clash = sorted(leading & set(keywords))
    if clash:
        raise r.fail("languages.*.leading_words", f"are also keywords: {clash}")
    anywhere = r.words("anywhere_intents.intents")
    fuzzy_min = r.integer("fuzzy.min_length")
    return Grammar(
        keywords=keywords,
        leading=leading,
        trailing=_phrases(r, "trailing_words"),
        numbers=_numbers(r),
        language_names=_language_names(r),
        kinds=_kinds(r),
        kind_priority=_kind_priority(r),
        prepositions=frozenset(squash(w) for w in r.words("locality_prepositions")),
        not_keywords=frozenset(squash(w) for w in r.words("not_keywords.words")),
        anywhere=frozenset(_intent(r, "anywhere_intents.intents", name) for name in anywhere),
        anywhere_within=r.integer("anywhere_intents.within_words"),
        short_max_words=r.integer("short_only.max_words_after"),
        fuzzy_min=max(fuzzy_min, 3),  # below 3 letters every typo is another word
        one_edit_from=r.integer("fuzzy.one_edit_from"),
        two_edits_from=r.integer("fuzzy.two_edits_from"),
        yes_words=frozenset(squash(w) for w in r.words("answers.yes")),
        no_words=frozenset(squash(w) for w in r.words("answers.no")),
        typos=_typos(r, keywords),
        greetings=_greetings(r),
        **_rating_range(r),
    )


def _intent(r: _Reader, path: str, name: str) -> Intent:
    try:
        intent = Intent(name)
    except ValueError:
        intent = Intent.UNKNOWN
    if intent is Intent.UNKNOWN:
        raise r.fail(path, f"unknown intent {name!r}")
    return intent


def _keywords(r: _Reader, ordinary: set[str], short: set[str]) -> dict[str, Keyword]:
    found: dict[str, Keyword] = {}
    for lang in LANGUAGES:
        path = f"languages.{lang}"
        if not isinstance(r.get(f"{path}.reviewed_by_speaker"), bool):
            raise r.fail(f"{path}.reviewed_by_speaker", "must be true or false")
        intents = r.mapping(f"{path}.intents")
        for name in intents:
            _intent(r, f"{path}.intents", name)
        for intent in Intent:
            if intent is Intent.UNKNOWN:
                continue
            for text in r.words(f"{path}.intents.{intent.value}"):
                key, old = squash(text), found.get(squash(text))
                if old is not None and old.intent is not intent:
                    raise r.fail(
                        f"{path}.intents.{intent.value}", f"{text!r} is also {old.intent.value}"
                    )
                langs = (old.languages if old else frozenset()) | {lang}
                first = old.text if old else text
                found[key] = Keyword(first, intent, langs, key in ordinary, key in short)
    return found


def _typos(r: _Reader, keywords: Mapping[str, Keyword]) -> dict[str, str]:
    """Every way of typing each one-word keyword of the intents named with digits for
    some of its letters, mapped to the keyword."""
    intents = {_intent(r, "phone_typos.intents", n) for n in r.words("phone_typos.intents")}
    swaps = r.mapping("phone_typos.digit_for_letter")
    pairs = [(str(d), squash(str(letter))) for d, letter in swaps.items()]
    if any(not d.isdigit() or len(d) != 1 or len(c) != 1 for d, c in pairs):
        raise r.fail("phone_typos.digit_for_letter", "must map one digit to one letter")
    typos: dict[str, str] = {}
    for key, keyword in keywords.items():
        if keyword.intent not in intents or squash(keyword.text) != fold(keyword.text):
            continue  # a phrase of several words is typed another way
        for variant in _with_digits(key, pairs):
            if typos.get(variant, key) != key:
                raise r.fail("phone_typos", f"{variant!r} would be two keywords")
            typos[variant] = key
    return typos


def _with_digits(word: str, pairs: Sequence[tuple[str, str]]) -> set[str]:
    """`word` with a digit for any non-empty subset of the letters it stands for."""
    variants = {word}
    for i, char in enumerate(word):
        digits = [d for d, letter in pairs if letter == char]
        variants |= {v[:i] + d + v[i + 1 :] for v in variants for d in digits}
    return variants - {word}


def _greetings(r: _Reader) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for lang in LANGUAGES:
        for name in ("leading_words", "trailing_words"):
            for word in r.words(f"languages.{lang}.{name}"):
                found.setdefault(squash(word), set()).add(lang)
    return {phrase: frozenset(langs) for phrase, langs in found.items()}


def _phrases(r: _Reader, name: str) -> frozenset[str]:
    return frozenset(squash(w) for lang in LANGUAGES for w in r.words(f"languages.{lang}.{name}"))


def _numbers(r: _Reader) -> dict[str, int]:
    numbers: dict[str, int] = {}
    for lang in LANGUAGES:
        path = f"languages.{lang}.numbers"
        for word, value in r.mapping(path).items():
            if not isinstance(value, int) or isinstance(value, bool) or not squash(word):
                raise r.fail(path, f"{word!r} must map to a whole number")
            numbers[squash(word)] = value
    return numbers


def _language_names(r: _Reader) -> dict[str, str]:
    names: dict[str, str] = {}
    for code in LANGUAGES:
        for word in r.words(f"language_names.{code}"):
            if names.get(squash(word), code) != code:
                raise r.fail(f"language_names.{code}", f"{word!r} names two languages")
            names[squash(word)] = code
    return names


def _kinds(r: _Reader) -> dict[tuple[str, ...], str]:
    kinds: dict[tuple[str, ...], str] = {}
    for lang in LANGUAGES:
        path = f"languages.{lang}.incident_kinds"
        for kind in r.mapping(path):
            if kind not in INCIDENT_KINDS:
                raise r.fail(path, f"unknown kind {kind!r}; expected one of {INCIDENT_KINDS}")
            for phrase in r.words(f"{path}.{kind}"):
                stems = tuple(_stem(w) for w in fold(phrase).split())
                if kinds.get(stems, kind) != kind:
                    raise r.fail(f"{path}.{kind}", f"{phrase!r} is also {kinds[stems]}")
                kinds[stems] = kind
    return kinds


def _kind_priority(r: _Reader) -> tuple[str, ...]:
    order = r.words("incident_kind_priority")
    expected = set(INCIDENT_KINDS) - {"other"}
    if set(order) != expected or len(order) != len(expected):
        raise r.fail("incident_kind_priority", f"must list each of {sorted(expected)} once")
    return tuple(order)


def _rating_range(r: _Reader) -> dict[str, int]:
    low, high = r.integer("rating.min"), r.integer("rating.max")
    if not 0 < low < high < 10:
        raise r.fail("rating", "min and max must be digits with min < max")
    return {"rating_min": low, "rating_max": high}
