"""The SMS grammar understands messages as people really type them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.sms_grammar import (
    DEFAULT_PATH,
    Command,
    Grammar,
    GrammarError,
    Intent,
    load_grammar,
    parse,
    split_locality,
)

T, N, P, J, S = Intent.TRUST, Intent.INCIDENT, Intent.PLACE, Intent.JOIN, Intent.STOP
L, H, A, C, U = Intent.LANG, Intent.HELP, Intent.ACK, Intent.CLOSE, Intent.UNKNOWN


class Want(NamedTuple):
    intent: Intent
    rating: int | None = None
    place: str | None = None
    code: str | None = None
    lang: str | None = None


@pytest.fixture(scope="module")
def grammar() -> Grammar:
    return load_grammar()


# (message, what a person reading it would understand)
MESSAGES: list[tuple[str, Want]] = [
    # trust ratings, French
    ("CONFIANCE 4 Mopti", Want(T, 4, "mopti")),
    ("confiance 4 mopti", Want(T, 4, "mopti")),
    ("Confiance 3 Sévaré", Want(T, 3, "sevare")),
    ("confiance4", Want(T, 4)),
    ("CONFIANCE:4", Want(T, 4)),
    ("confiance:5 bandiagara", Want(T, 5, "bandiagara")),
    ("Confiance 2, Djenné", Want(T, 2, "djenne")),
    ("CONFIANCE   1    Gao", Want(T, 1, "gao")),
    ("confiance 4mopti", Want(T, 4, "mopti")),
    ("CONFIENCE 3 Mopti", Want(T, 3, "mopti")),
    ("CONFIANSE 4 segou", Want(T, 4, "segou")),
    ("confiace 2 kayes", Want(T, 2, "kayes")),
    ("confience 5 bankass", Want(T, 5, "bankass")),
    ("bonjour confiance 4 mopti", Want(T, 4, "mopti")),
    ("Bjr confiance 3 Douentza", Want(T, 3, "douentza")),
    ("Salut, CONFIANCE 2 koro", Want(T, 2, "koro")),
    ("confiance 4 mopti merci", Want(T, 4, "mopti")),
    ("Confiance 5 Tombouctou svp", Want(T, 5, "tombouctou")),
    ("confiance 4/5 mopti", Want(T, 4, "mopti")),
    ("confiance 3 sur 5 a Sevare", Want(T, 3, "sevare")),
    ("confiance quatre mopti", Want(T, 4, "mopti")),
    ("CONFIANCE Mopti 4", Want(T, 4, "mopti")),
    ("confiance 2 a Bourem", Want(T, 2, "bourem")),
    ("Confiance 1 Gourma-Rharous", Want(T, 1, "gourma rharous")),
    ("confiance 3 san", Want(T, 3, "san")),
    ("CONFIANCE 7", Want(T)),
    ("confiance 0 mopti", Want(T, None, "mopti")),
    ("confiance 45", Want(T)),
    ("CONFIANCE Mopti", Want(T, None, "mopti")),
    ("confiance", Want(T)),
    ("confiance 3,5 mopti", Want(T, None, "mopti")),
    ("NOTE 4 mopti", Want(T, 4, "mopti")),
    ("je n'ai pas confiance 1 mopti", Want(T, 1, "mopti")),
    ("Confiance est de 4 a mopti", Want(T, 4, "mopti")),
    ("ma confiance est 3 pour sevare", Want(T, 3, "sevare")),
    ("conf 4 mopti", Want(T, 4, "mopti")),
    ("Bonjour je veux donner ma note 4 pour Mopti", Want(T, 4, "mopti")),
    ("Confiance. 4. Mopti.", Want(T, 4, "mopti")),
    ("CONFIANCE 4 MOPTI - Amadou", Want(T, 4, "mopti")),
    # trust ratings, English and Bambara
    ("TRUST 4 Mopti", Want(T, 4, "mopti")),
    ("trust 2 gao", Want(T, 2, "gao")),
    ("trust-4mopti", Want(T, 4, "mopti")),
    ("TRSUT 3 Timbuktu", Want(T, 3, "timbuktu")),
    ("trusst 5 kidal", Want(T, 5, "kidal")),
    ("Hello trust 4 Mopti thanks", Want(T, 4, "mopti")),
    ("TRUST 4 Mopti Sent from my phone", Want(T, 4, "mopti")),
    ("trust four mopti", Want(T, 4, "mopti")),
    ("DANAYA 4 Mopti", Want(T, 4, "mopti")),
    ("danaya 3 segou", Want(T, 3, "segou")),
    ("I ni ce danaya 5 Djenne", Want(T, 5, "djenne")),
    ("danaya naani san", Want(T, 4, "san")),
    ("DANNAYA 2 koutiala", Want(T, 2, "koutiala")),
    # bare numbers
    ("4 Mopti", Want(T, 4, "mopti")),
    ("4", Want(T, 4)),
    ("5 sevare", Want(T, 5, "sevare")),
    ("3 merci", Want(T, 3)),
    # incidents
    ("INCIDENT Sevare tirs entendus", Want(N)),
    ("incident sévaré tirs entendus cette nuit", Want(N)),
    ("ALERTE Mopti hommes armés vus", Want(N)),
    ("alert gao shots fired", Want(N)),
    ("Incidant Bandiagara vol de betail", Want(N)),
    ("insident Douentza enlevement", Want(N)),
    ("alerte: mine sur la route de Boni", Want(N)),
    ("INCIDENTMopti attaque", Want(N)),
    ("bonsoir incident koro attaque du village", Want(N)),
    ("je veux signaler un incident a Sevare", Want(N)),
    ("KASARA Mopti marifa ci", Want(N)),
    ("balawu djenne", Want(N)),
    ("REPORT Gao armed men", Want(N)),
    ("alertes tenenkou conflit entre eleveurs", Want(N)),
    ("Incident", Want(N)),
    # place
    ("LIEU Sevare", Want(P, place="sevare")),
    ("lieu sévaré", Want(P, place="sevare")),
    ("Lieu: Mopti", Want(P, place="mopti")),
    ("lieu a bandiagara", Want(P, place="bandiagara")),
    ("LEIU Mopti", Want(P, place="mopti")),
    ("PLACE Gao", Want(P, place="gao")),
    ("place timbuktu", Want(P, place="timbuktu")),
    ("YORO Segou", Want(P, place="segou")),
    ("yòrò djenne", Want(P, place="djenne")),
    ("localite Niono", Want(P, place="niono")),
    ("LIEU", Want(P)),
    # join
    ("ABONNER Mopti", Want(J, place="mopti")),
    ("abonner sevare svp", Want(J, place="sevare")),
    ("abonne mopti", Want(J, place="mopti")),
    ("JOIN Gao", Want(J, place="gao")),
    ("join", Want(J)),
    ("ABONER Koro", Want(J, place="koro")),
    ("TOGOSEBEN Mopti", Want(J, place="mopti")),
    # stop
    ("STOP", Want(S)),
    ("stop", Want(S)),
    ("stop.", Want(S)),
    ("Stop!", Want(S)),
    ("STOP STOP", Want(S)),
    ("Arrêt", Want(S)),
    ("ARRET", Want(S)),
    ("arret svp", Want(S)),
    ("arrêtez svp", Want(S)),
    ("Arreter les messages", Want(S)),
    ("desabonner", Want(S)),
    ("Désabonnez moi", Want(S)),
    ("svp stop", Want(S)),
    ("ok stop", Want(S)),
    ("merci stop", Want(S)),
    ("stpo", Want(S)),
    ("unsubscribe", Want(S)),
    ("A DABILA", Want(S)),
    ("dabila", Want(S)),
    ("stop envoyer plus de messages", Want(S)),
    # language
    ("LANGUE BM", Want(L, lang="bm")),
    ("langue bambara", Want(L, lang="bm")),
    ("Langue français", Want(L, lang="fr")),
    ("LANG EN", Want(L, lang="en")),
    ("lang english", Want(L, lang="en")),
    ("langue anglais", Want(L, lang="en")),
    ("langue bamanankan", Want(L, lang="bm")),
    ("Bambara", Want(L, lang="bm")),
    ("KAN FR", Want(L, lang="fr")),
    ("langue bambra", Want(L, lang="bm")),
    # help
    ("AIDE", Want(H)),
    ("aide", Want(H)),
    ("?", Want(H)),
    ("??", Want(H)),
    ("HELP", Want(H)),
    ("hlep", Want(H)),
    ("aide svp", Want(H)),
    ("DEME", Want(H)),
    ("dèmè", Want(H)),
    ("menu", Want(H)),
    # committee
    ("OK A123", Want(A, code="A123")),
    ("ok a 123", Want(A, code="A123")),
    ("ok a123", Want(A, code="A123")),
    ("Ok A-123", Want(A, code="A123")),
    ("OKA123", Want(A, code="A123")),
    ("VU A45", Want(A, code="A45")),
    ("vu a45 merci", Want(A, code="A45")),
    ("ACK B7", Want(A, code="B7")),
    ("ack", Want(A)),
    ("SON A12", Want(A, code="A12")),
    ("CLOS A123", Want(C, code="A123")),
    ("clos a123 calme revenu", Want(C, code="A123")),
    ("CLOSE A9", Want(C, code="A9")),
    ("cloture A77", Want(C, code="A77")),
    ("A BANNA A5", Want(C, code="A5")),
    ("clos", Want(C)),
    # not commands: a person would not read these as a command either
    ("okay merci", Want(U)),
    ("ok merci", Want(U)),
    ("bonjour", Want(U)),
    ("je ne sais pas", Want(U)),
    ("Merci", Want(U)),
    ("qui êtes vous", Want(U)),
    ("c'est quoi ce numero", Want(U)),
    ("Arrêté hier à Mopti par des militaires", Want(U)),
    ("chose grave a Mopti", Want(U)),
    ("7", Want(U)),
    ("", Want(U)),
    ("   ", Want(U)),
    ("...", Want(U)),
    ("Mopti", Want(U)),
    ("la vie est dure ici", Want(U)),
    ("au lieu de venir", Want(U)),
]

# Messages a person would not understand as a command either (no keyword, no
# number); every UNKNOWN answer must be one of these.
NOT_COMMANDS = {text for text, want in MESSAGES if want.intent is U}


def _understood(command: Command, want: Want) -> bool:
    if command.intent is not want.intent:
        return False
    if want.intent is T and command.rating != want.rating:
        return False
    if want.intent in (T, P, J) and command.locality_text != want.place:
        return False
    if want.intent in (A, C) and command.alert_code != want.code:
        return False
    return not (want.intent is L and command.lang_code != want.lang)


def test_the_table_is_large_enough() -> None:
    assert len(MESSAGES) >= 110
    assert len({text for text, _ in MESSAGES}) == len(MESSAGES)


def test_at_least_95_percent_of_real_messages_are_understood(grammar: Grammar) -> None:
    misses = []
    for text, want in MESSAGES:
        command = parse(text, grammar)
        if not _understood(command, want):
            misses.append((text, want, command))
    for text, want, command in misses:
        print(f"MISS {text!r}: wanted {want}, got {command}")
    rate = 1 - len(misses) / len(MESSAGES)
    print(f"understood {len(MESSAGES) - len(misses)}/{len(MESSAGES)} = {rate:.1%}")
    assert rate >= 0.95


def test_every_unknown_is_something_a_person_would_not_understand(grammar: Grammar) -> None:
    unknown = {text for text, _ in MESSAGES if parse(text, grammar).intent is U}
    assert unknown <= NOT_COMMANDS, sorted(unknown - NOT_COMMANDS)


@pytest.mark.parametrize(
    "text", ["okay merci", "bonjour", "je ne sais pas", "ok", "vu", "chose", "Merci beaucoup"]
)
def test_everyday_words_are_not_keywords(grammar: Grammar, text: str) -> None:
    assert parse(text, grammar).intent is U


@pytest.mark.parametrize(
    "text", ["STOP", "stop.", "Stop", "Arrêt", "ARRET", "arret svp", "arrêt!!", " stop ", "STOP\n"]
)
def test_stop_is_always_recognised(grammar: Grammar, text: str) -> None:
    assert parse(text, grammar).intent is S


def test_a_rating_out_of_range_says_why(grammar: Grammar) -> None:
    command = parse("CONFIANCE 7 Mopti", grammar)
    assert (command.intent, command.rating, command.rating_error) == (T, None, "out_of_range")
    assert command.locality_text == "mopti"
    assert parse("CONFIANCE Mopti", grammar).rating_error == "missing"
    assert parse("CONFIANCE 4 Mopti", grammar).rating_error is None


def test_the_language_is_guessed_from_the_keyword(grammar: Grammar) -> None:
    assert parse("CONFIANCE 4", grammar).language == "fr"
    assert parse("TRUST 4", grammar).language == "en"
    assert parse("DANAYA 4", grammar).language == "bm"
    assert parse("STOP", grammar).language is None  # French and English alike
    assert parse("4 Mopti", grammar).language is None


def test_an_incident_keeps_what_was_written_and_guesses_the_kind(grammar: Grammar) -> None:
    command = parse("INCIDENT Sévaré tirs entendus!", grammar)
    assert command.free_text == "Sévaré tirs entendus!"
    assert command.locality_text is None
    assert command.incident_kind == "attack"
    kinds = {
        "INCIDENT Mopti hommes armés ont enlevé 2 personnes": "kidnapping",
        "alerte Boni mine sur la route": "explosive",
        "incident Koro vol de bétail": "banditry",
        "ALERT Gao armed men seen": "threat",
        "incident Djenne conflit entre communautés": "intercommunal",
        "INCIDENT Mopti des militaires ont frappé des civils": "abuse",
        "INCIDENT Mopti quelque chose": "other",
    }
    for text, kind in kinds.items():
        assert parse(text, grammar).incident_kind == kind, text


def test_a_close_keeps_the_outcome(grammar: Grammar) -> None:
    command = parse("CLOS A123 calme revenu, patrouille passée", grammar)
    assert command.alert_code == "A123"
    assert command.free_text == "calme revenu, patrouille passée"


def test_a_number_alone_is_also_a_choice(grammar: Grammar) -> None:
    assert parse("2", grammar).choice == 2
    assert parse(" 7 ", grammar).choice == 7
    assert parse("2 Mopti", grammar).choice is None


def test_near_misses_are_flagged(grammar: Grammar) -> None:
    assert parse("CONFIENCE 3", grammar).near_miss
    assert not parse("CONFIANCE 3", grammar).near_miss


def test_split_locality_takes_the_longest_known_leading_words() -> None:
    known = {"sevare", "gourma rharous", "mopti"}

    def is_locality(words: str) -> bool:
        return words.lower().replace("-", " ") in known

    assert split_locality("Gourma Rharous tirs entendus", is_locality) == (
        "Gourma Rharous",
        "tirs entendus",
    )
    assert split_locality("Sevare tirs", is_locality) == ("Sevare", "tirs")
    assert split_locality("a Sevare tirs", is_locality, skip={"a"}) == ("Sevare", "tirs")
    assert split_locality("tirs entendus a Mopti", is_locality, skip={"a"}) == (
        "Mopti",
        "tirs entendus",
    )
    assert split_locality("tirs entendus", is_locality) == (None, "tirs entendus")
    assert split_locality("", is_locality) == (None, "")


def test_a_bad_keywords_file_names_the_problem(tmp_path: Path) -> None:
    good = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    cases: dict[str, Callable[[Any], object]] = {
        "languages.fr.intents.trust": lambda d: d["languages"]["fr"]["intents"].pop("trust"),
        "is also stop": lambda d: d["languages"]["en"]["intents"]["help"].append("STOP"),
        "unknown kind": lambda d: d["languages"]["fr"]["incident_kinds"].update(fire=["FEU"]),
        "reviewed_by_speaker": lambda d: d["languages"]["bm"].update(reviewed_by_speaker="no"),
        "unknown intent": lambda d: d["languages"]["fr"]["intents"].update(dance=["DANSE"]),
    }
    for needle, spoil in cases.items():
        data = json.loads(json.dumps(good))
        spoil(data)
        path = tmp_path / "keywords.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        with pytest.raises(GrammarError, match=needle):
            load_grammar(path)
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(GrammarError, match=r"broken\.json: cannot read"):
        load_grammar(tmp_path / "broken.json")


def test_bambara_is_marked_as_not_reviewed() -> None:
    data = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    assert data["languages"]["bm"]["reviewed_by_speaker"] is False


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.text(max_size=5000),
        st.binary().map(lambda b: b.decode("latin-1")),
        st.text(alphabet="confiance stop 0123456789?.,:-/ aAéÉèɛɔ\x00\ud800", max_size=200),
        st.lists(st.sampled_from(["ok", "a", "123", "stop", "lieu", "4", "/", "5"])).map(" ".join),
    )
)
def test_parse_never_raises(grammar: Grammar, text: str) -> None:
    assert isinstance(parse(text, grammar), Command)


def test_parse_copes_with_a_very_long_message(grammar: Grammar) -> None:
    assert parse("INCIDENT Mopti " + "tirs " * 50_000, grammar).intent is N
    assert isinstance(parse("\ud800" * 10_000, grammar), Command)


def test_split_locality_prefers_the_run_that_best_names_a_place() -> None:
    scores = {"Sevare": 0.9, "Sevare tirs entendus": 0.72, "Sevare tirs": 0.72}
    assert split_locality("Sevare tirs entendus", lambda t: scores.get(t, 0.0)) == (
        "Sevare",
        "tirs entendus",
    )
    segou = {"Segou": 1.0, "Segou Koro": 1.0}
    assert split_locality("Segou Koro vols", lambda t: segou.get(t, 0.0)) == ("Segou Koro", "vols")


def test_best_span_finds_a_place_anywhere_in_words_without_a_keyword() -> None:
    from gateway.domain.sms_grammar import best_span

    text = "Il y a des hommes armes a Menaka, ils menacent les gens"
    assert best_span(text, lambda t: 1.0 if t == "Menaka" else 0.0) == ("Menaka", 1.0)
    assert best_span("a la", lambda t: 1.0) is None  # too short to be a name


def test_incident_words_and_answers_are_read_without_a_keyword(grammar: Grammar) -> None:
    from gateway.domain.sms_grammar import incident_kind, is_answer

    assert incident_kind("des tirs ce matin", grammar) == "attack"
    assert incident_kind("bonjour a tous", grammar) is None
    assert is_answer("Oui merci", grammar, yes=True)
    assert is_answer("awo", grammar, yes=True)
    assert is_answer("NON", grammar, yes=False)
    assert not is_answer("oui il y a eu des tirs hier soir", grammar, yes=True)


# URGENT: (message, the report's code understood, the words kept for a new report)
URGENT_MESSAGES: list[tuple[str, str | None, str | None]] = [
    ("URGENT", None, None),
    ("urgent", None, None),
    ("DANGER", None, None),
    ("SOS", None, None),
    ("sos svp", None, None),
    ("URGNET", None, None),  # a near miss, as for every keyword
    ("urgent R7SD3K", "R7SD3K", None),
    ("Urgent: r7sd3k!", "R7SD3K", None),
    ("bonjour URGENT R7SD3K", "R7SD3K", None),
    ("URGENT RECDAN", "RECDAN", None),  # a USSD code may be all letters
    ("URGENT R7SD3", "R7SD3", None),  # a code mistyped is answered as a code, not a place
    ("URGENT R7SD3K ils sont encore la", "R7SD3K", "ils sont encore la"),
    ("URGENT Menaka hommes armés", None, "Menaka hommes armés"),
    ("urgen Menaka tirs", None, "Menaka tirs"),
    ("URGENTMenaka tirs", None, "Menaka tirs"),
    ("SOS Menaka", None, "Menaka"),
    ("au secours menaka", None, "menaka"),
    ("urgence a Gao attaque", None, "a Gao attaque"),
    ("emergency Gao shots fired", None, "Gao shots fired"),
    ("farati sisan Menaka", None, "Menaka"),
    ("URGENT 2 hommes armés à Gao", None, "2 hommes armés à Gao"),
    ("URGENT INCIDENT Menaka tirs", None, "Menaka tirs"),  # both keywords: urgent
    ("ALERTE DANGER Menaka tirs", None, "Menaka tirs"),
    ("incident urgent Menaka", None, "Menaka"),
]


@pytest.mark.parametrize(("text", "code", "words"), URGENT_MESSAGES)
def test_urgent_takes_a_code_or_the_words_of_a_new_report(
    grammar: Grammar, text: str, code: str | None, words: str | None
) -> None:
    command = parse(text, grammar)
    assert (command.intent, command.ref_code, command.free_text) == (Intent.URGENT, code, words)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("argent volé à Mopti", U),  # one letter from URGENT, and no keyword
        ("Manger", U),
        ("danser", U),
        ("ce n'est pas urgent", U),  # URGENT counts only where a message starts
        ("farati Menaka", N),  # FARATI alone stays an incident keyword
        ("INCIDENT R7SD3K tirs", N),  # text for a report, not a danger
    ],
)
def test_words_near_urgent_are_not_urgent(grammar: Grammar, text: str, intent: Intent) -> None:
    assert parse(text, grammar).intent is intent


def test_urgent_guesses_the_kind_and_the_language(grammar: Grammar) -> None:
    assert parse("URGENT Menaka hommes armés", grammar).incident_kind == "threat"
    assert parse("URGENT INCIDENT Menaka tirs", grammar).incident_kind == "attack"
    assert parse("au secours", grammar).language == "fr"
    assert parse("emergency", grammar).language == "en"
    assert parse("farati sisan", grammar).language == "bm"
    assert parse("URGENT", grammar).language is None  # French, English and Bambara alike


def _zero_for_o(word: str) -> list[str]:
    """Each way a phone user may type 0 for some of the letters O of `word`."""
    spots = [i for i, c in enumerate(word) if c in "Oo"]
    variants = []
    for mask in range(1, 2 ** len(spots)):
        chars = list(word)
        for bit, i in enumerate(spots):
            if mask >> bit & 1:
                chars[i] = "0"
        variants.append("".join(chars))
    return variants


@pytest.mark.parametrize(
    ("text", "intent", "code"),
    [
        ("0K A106", A, "A106"),
        ("0k a106", A, "A106"),
        ("0KA106", A, "A106"),
        ("bonjour 0K A106", A, "A106"),
        ("CL0S A106 faux", C, "A106"),
        ("cl0s a106", C, "A106"),
        ("CL0SA106", C, "A106"),
    ],
)
def test_zero_typed_for_o_in_an_alert_reply_is_read_as_o(
    grammar: Grammar, text: str, intent: Intent, code: str
) -> None:
    command = parse(text, grammar)
    assert (command.intent, command.alert_code) == (intent, code), text


def test_a_close_typed_with_zeros_keeps_what_was_written(grammar: Grammar) -> None:
    command = parse("CL0S A106 calme revenu", grammar)
    assert command.free_text == "calme revenu"


def test_the_alert_replies_typed_with_zeros_collide_with_nothing(grammar: Grammar) -> None:
    """The whole table: every ACK and CLOSE keyword typed with 0 for any of its O means
    that keyword (with an alert code), and no other keyword, typed as written or with
    zeros, changes meaning."""
    for keyword in grammar.keywords.values():
        for variant in _zero_for_o(keyword.text):
            typed = parse(f"{variant} A106 faux", grammar)
            if keyword.intent in (A, C):
                assert (typed.intent, typed.alert_code) == (keyword.intent, "A106"), variant
            else:
                assert typed.intent not in (A, C), variant
    # Words typed as written read the same with or without the typos' table.
    plain = replace(grammar, typos={})
    for keyword in grammar.keywords.values():
        for text in (keyword.text, f"{keyword.text} A106", f"{keyword.text} 4 Mopti"):
            assert parse(text, grammar) == parse(text, plain), text
    assert set(grammar.typos.values()) <= set(grammar.keywords)


@pytest.mark.parametrize("text", ["0", "10", "0 Mopti", "A106", "R7SD3K", "10K"])
def test_zeros_elsewhere_are_not_alert_replies(grammar: Grammar, text: str) -> None:
    assert parse(text, grammar).intent not in (A, C)


def test_an_incident_keeps_a_zero_as_written(grammar: Grammar) -> None:
    assert parse("INCIDENT Gossi 0K", grammar).free_text == "Gossi 0K"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("bonjour", "fr"),
        ("Merci", "fr"),
        ("salut !", "fr"),
        ("merci beaucoup", "fr"),
        ("hello", "en"),
        ("thanks", "en"),
        ("i ni ce", "bm"),
        ("INICE", "bm"),
    ],
)
def test_a_greeting_or_thanks_alone_is_a_greeting_in_its_language(
    grammar: Grammar, text: str, lang: str
) -> None:
    command = parse(text, grammar)
    assert (command.intent, command.greeting, command.language) == (U, True, lang)


@pytest.mark.parametrize(
    "text", ["bonjour comment allez vous", "bonjour CONFIANCE 4 Mopti", "merci Mopti", ""]
)
def test_words_beside_a_greeting_make_it_no_greeting(grammar: Grammar, text: str) -> None:
    assert not parse(text, grammar).greeting
