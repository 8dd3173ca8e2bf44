"""`committees add`, `add-member`, `list`, `remove-member`: numbers hashed, encrypted
and masked, bad input refused with a clear message."""

from __future__ import annotations

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from gateway.db import transaction
from gateway.gazetteer.index import gazetteer
from gateway.models import AuditLog, Committee, CommitteeMember
from gateway.runtime import Runtime
from gateway.services.admin.committees import CommitteeError, add_member

PHONE = "+22376123456"


def run_cli(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def add_ccs(app: Flask, locality: str = "Sevare", name: str = "CCS de Mopti") -> int:
    result = run_cli(app, "committees", "add", "--locality", locality, "--name", name)
    assert result.exit_code == 0, result.output
    return int(result.output.split()[1])


def test_a_committee_covers_a_locality_given_by_name_or_pcode(app: Flask, rt: Runtime) -> None:
    first = add_ccs(app)
    second = add_ccs(app, "ML040506", "CCS de Niono")
    with rt.sessions() as session:
        localities = {c.id: c.locality_id for c in session.scalars(select(Committee))}
    places = gazetteer(rt)
    assert localities == {first: places.id_of("ML050109"), second: places.id_of("ML040506")}


def test_an_unknown_or_ambiguous_locality_is_refused(app: Flask, rt: Runtime) -> None:
    unknown = run_cli(app, "committees", "add", "--locality", "Atlantis", "--name", "X")
    assert unknown.exit_code != 0 and "unknown locality 'Atlantis'" in unknown.output
    ambiguous = run_cli(app, "committees", "add", "--locality", "Benkadi", "--name", "X")
    assert ambiguous.exit_code != 0
    assert "ambiguous: Ben Kadi (ML020601), Benkadi (ML020302)" in ambiguous.output
    with rt.sessions() as session:
        assert session.scalars(select(Committee)).all() == []


def test_a_member_is_stored_hashed_encrypted_and_masked(app: Flask, rt: Runtime) -> None:
    committee = add_ccs(app)
    result = run_cli(
        app, "committees", "add-member", "--committee", "CCS de Mopti",
        "--phone", "76 12 34 56", "--name", "Aminata", "--lang", "bm",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "+223******56 (bm)" in result.output
    with rt.sessions() as session:
        member = session.scalars(select(CommitteeMember)).one()
    assert member.committee_id == committee
    assert member.phone_hash == rt.pseudonyms.pseudonym(PHONE)
    assert rt.vault.decrypt(member.phone_enc) == PHONE
    assert member.phone_hint == "+223******56"
    with rt.engine.connect() as conn:
        stored = repr(conn.execute(text("SELECT * FROM committee_members")).all())
    assert "76123456" not in stored


def test_bad_numbers_languages_and_committees_are_refused(app: Flask, rt: Runtime) -> None:
    committee = str(add_ccs(app))
    cases = [
        (["--committee", committee, "--phone", "12", "--name", "A"], "phone number refused"),
        (["--committee", committee, "--phone", "+33612345678", "--name", "A"],
         "phone numbers of FR are not accepted"),
        (["--committee", "CCS de Kayes", "--phone", PHONE, "--name", "A"],
         "no committee with id or name 'CCS de Kayes'"),
        (["--committee", committee, "--phone", PHONE, "--name", "A", "--lang", "de"],
         "'de' is not one of"),
    ]  # fmt: skip
    for args, message in cases:
        result = run_cli(app, "committees", "add-member", *args)
        assert result.exit_code != 0, args
        assert message in result.output, result.output
    with rt.sessions() as session:
        assert session.scalars(select(CommitteeMember)).all() == []


def test_the_same_number_twice_in_a_committee_is_refused(app: Flask, rt: Runtime) -> None:
    committee = str(add_ccs(app))
    args = ["committees", "add-member", "--committee", committee, "--name", "A", "--phone"]
    assert run_cli(app, *args, PHONE).exit_code == 0
    again = run_cli(app, *args, "0022376123456")
    assert again.exit_code != 0
    assert "+223******56 is already a member of committee 'CCS de Mopti'" in again.output


def test_list_shows_members_masked_and_remove_deactivates(app: Flask, rt: Runtime) -> None:
    committee = str(add_ccs(app))
    add_ccs(app, "Niono", "CCS de Niono")
    base = ["committees", "add-member", "--committee", committee]
    run_cli(app, *base, "--phone", PHONE, "--name", "Aminata", "--lang", "bm")
    run_cli(app, *base, "--phone", "+22370000001", "--name", "Moussa")
    listing = run_cli(app, "committees", "list")
    assert listing.exit_code == 0
    assert f"{committee}\tCCS de Mopti\tcommune Mopti (ML050109)" in listing.output
    assert "\tAminata\t+223******56\tbm\n" in listing.output
    assert "\tMoussa\t+223******01\tfr\n" in listing.output
    assert "CCS de Niono" in listing.output and "(no members)" in listing.output
    assert PHONE not in listing.output

    removed = run_cli(
        app, "committees", "remove-member", "--committee", committee, "--phone", PHONE
    )
    assert removed.exit_code == 0, removed.output
    assert "\tAminata\t+223******56\tbm\t[removed]" in run_cli(app, "committees", "list").output
    twice = run_cli(app, "committees", "remove-member", "--committee", committee, "--phone", PHONE)
    assert twice.exit_code != 0 and "is not a member" in twice.output
    # Added again, the member is active again (one row per committee and number).
    assert run_cli(app, *base, "--phone", PHONE, "--name", "Aminata").exit_code == 0
    with rt.sessions() as session:
        assert [m.active for m in session.scalars(select(CommitteeMember))] == [True, True]


def test_the_service_raises_a_committee_error(rt: Runtime) -> None:
    with transaction(rt.sessions) as session:
        try:
            add_member(session, rt, "404", PHONE, "A", "fr")
        except CommitteeError as exc:
            assert "no committee with id or name '404'" in str(exc)
        else:
            raise AssertionError("CommitteeError expected")


def test_the_cli_says_which_level_a_name_resolved_to_and_audits_every_change(
    app: Flask, rt: Runtime
) -> None:
    added = run_cli(app, "committees", "add", "--locality", "Menaka", "--name", "CCS Menaka")
    assert added.exit_code == 0, added.output
    assert "covers commune Ménaka (ML070403), in cercle Ménaka, region Ménaka" in added.output
    assert "also named so: " in added.output and "region Ménaka (ML10)" in added.output
    national = run_cli(app, "committees", "add", "--locality", "ML", "--name", "CCS national")
    assert national.exit_code == 0, national.output
    assert "covers national: the whole country (ML)" in national.output
    member = ["--phone", PHONE, "--name", "Awa"]
    run_cli(app, "committees", "add-member", "--committee", "CCS national", *member)
    run_cli(app, "committees", "remove-member", "--committee", "CCS national", "--phone", PHONE)
    run_cli(app, "committees", "deactivate", "--committee", "CCS Menaka")
    listing = run_cli(app, "committees", "list")
    assert "None" not in listing.output
    assert "national: the whole country" in listing.output and "[inactive]" in listing.output
    with rt.sessions() as s:
        actions = s.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == [
        "committee.create",
        "committee.create",
        "member.add",
        "member.deactivate",
        "committee.deactivate",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["committees", "add", "--locality", "Sevare", "--name", "CCS"],
        ["committees", "list"],
        ["users", "list"],
        ["api-tokens", "list"],
        ["alerts", "list"],
        ["outbox", "dispatch"],
        ["inbound", "handle"],
    ],
)
def test_a_database_that_does_not_answer_is_said_in_one_line(
    app: Flask, rt: Runtime, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    def down(*_a: object, **_k: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(rt, "sessions", down)
    result = run_cli(app, *args)
    assert result.exit_code == 1, result.output
    assert result.output.strip() == "Error: the database does not answer"
